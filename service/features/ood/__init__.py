"""Whether to believe an answer: the out-of-distribution verdict (docs/ood.md)."""
