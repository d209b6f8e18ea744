"""Innovations: practices, pathways, tools and devices that worked somewhere."""
