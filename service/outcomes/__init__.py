"""Outcomes and insight: measures, observations, aims, adoption SPC, exceptional adoptions, peers, RE-AIM."""
