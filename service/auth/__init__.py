"""API keys, partners and the authentication of every /v1 request."""
