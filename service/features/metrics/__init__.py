"""Stored evaluations, and the test examples behind a confusion-matrix cell."""
