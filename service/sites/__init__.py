"""Sites: NHS organisations and their sites, addressed by ODS code."""
