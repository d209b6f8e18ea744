"""Search: full-text search over innovations, adaptations and sites (``/v1/search``) and similar innovations."""
