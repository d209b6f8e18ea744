"""Campaigns: time-bound aims apportioned between sites, with progress, impediments and breakthroughs."""
