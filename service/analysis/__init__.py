"""Analysis: statistical process control ("Making Data Count") over outcome series."""
