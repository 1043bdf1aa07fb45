"""Examples of local datasets (`/v1/datasets`)."""
