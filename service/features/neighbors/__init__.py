"""The nearest examples of a dataset split in a layer's space (`:neighbors`)."""
