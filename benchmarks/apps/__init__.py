"""The comparison servers the benchmark starts next to layerlens."""
