"""NASSS complexity assessments of adoptions, and the innovation's complexity summary."""
