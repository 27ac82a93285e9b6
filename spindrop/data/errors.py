"""The one exception the data layer raises for a problem with the files under the data root."""
from __future__ import annotations


class DataError(Exception):
    """A data file is missing, unreadable or fails its checksum.

    The message is one line: the path that was expected and how to fix it.
    """
