"""Offline training: datasets -> Keras models -> versioned SavedModels + stored metrics."""

from core.tensorflow_env import prefer_onednn

# Before any training module imports TensorFlow.
prefer_onednn()
