"""Wire formats of the protocols the service speaks besides its own JSON."""
