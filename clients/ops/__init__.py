"""One operation per route, written once as a generator that yields ``Request``s and gets
back the decoded body; ``Client`` and ``AsyncClient`` only drive them (sans-I/O)."""
