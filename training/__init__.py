"""Offline training: datasets -> Keras models -> versioned SavedModels + stored metrics."""
