"""Attributions: why a model answers what it answers (``:explain``)."""
