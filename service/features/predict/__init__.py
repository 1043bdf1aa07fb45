"""Classify instances (`:predict`), read a layer (`:embed`), run the head (`:head`)."""
