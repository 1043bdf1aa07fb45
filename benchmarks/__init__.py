"""Load benchmark: layerlens against an HTTP ceiling, a naive Keras service and a peer server."""
