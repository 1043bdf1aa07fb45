"""A Dense or Conv2D layer's kernel (`/weights`)."""
