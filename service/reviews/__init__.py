"""Sustainment reviews of adoptions, reviews due, and the innovation's sustainment summary."""
