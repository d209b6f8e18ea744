"""Adoptions: a site taking up an innovation, with stage history and learned-from sources."""
