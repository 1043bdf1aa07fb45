"""Classify along a line between two inputs, in pixel or embedding space (`:interpolate`)."""
