"""Adaptations: FRAME-coded changes a site made to an innovation."""
