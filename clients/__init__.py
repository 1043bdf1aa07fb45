"""The layerlens Python SDK and command line."""
