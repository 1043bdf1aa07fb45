"""The 2-D map of a layer, and inputs placed on it (`/projection`, `:project`)."""
