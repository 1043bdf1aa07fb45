"""Shared fixtures. Each area's fixtures live in tests/fixtures/ and are loaded here."""

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.models",
    "tests.fixtures.full_run",
    "tests.fixtures.server",
    "tests.fixtures.keras_files",
    "tests.fixtures.tmpfs",
]
