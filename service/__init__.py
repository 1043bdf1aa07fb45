"""The layerlens HTTP service: FastAPI over SavedModel endpoints."""
