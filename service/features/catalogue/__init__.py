"""What is served: the model list, a version's manifest, and the admin reload."""
