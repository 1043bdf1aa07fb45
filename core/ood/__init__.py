"""Out-of-distribution scores shared by the trainer and the service (``core.ood.scores``)
and the synthetic far-out inputs the trainer measures them on (``core.ood.synthetic``)."""

from core.ood.scores import KNN_K, METHODS, Method, check_method, energy, knn, mahalanobis, msp

__all__ = ["KNN_K", "METHODS", "Method", "check_method", "energy", "knn", "mahalanobis", "msp"]
