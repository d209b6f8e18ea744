"""The change log: every write, as an append-only feed other systems sync from."""
