"""Webhooks: signed HTTP callbacks for registry changes, fed from the change log by `spread worker`."""
