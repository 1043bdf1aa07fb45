"""The peer model server (Seldon MLServer), run from its own virtual environment."""
