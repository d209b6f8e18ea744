"""Bulk submissions: batches of adoption reports as JSON, NDJSON or CSV, written all at once."""
