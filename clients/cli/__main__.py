"""`python -m clients.cli` runs the `layerlens` command."""

from clients.cli import main

main()
