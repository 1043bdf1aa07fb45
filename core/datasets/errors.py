"""Dataset errors. Every message says which file or name is wrong and what to do about it.

    DatasetError                      base: anything about local dataset data
    ├── DatasetMissing                a file is absent (or a needed package is not installed)
    ├── DatasetCorrupt                a file does not decode, or its checksum/shape is wrong
    ├── FetchFailed                   npm / apt-get / dpkg could not fetch a dataset
    ├── UnknownDatasetReference       not a dataset name or not a ``<name>-<split>`` reference
    └── IndexOutOfRange               an example index outside the split

core must not import the service, so these carry no HTTP status: the service maps them
(an unknown reference is a 404, an index out of range a 400; missing or corrupt files are
the server's problem, so their paths and fetch commands go to its log, not to the caller).
"""

from __future__ import annotations


class DatasetError(Exception):
    """Base of every dataset error; ``message`` is safe to show to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DatasetMissing(DatasetError):
    pass


class DatasetCorrupt(DatasetError):
    pass


class FetchFailed(DatasetError):
    pass


class UnknownDatasetReference(DatasetError, ValueError):
    pass


class IndexOutOfRange(DatasetError, IndexError):
    pass
