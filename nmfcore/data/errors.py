"""The one exception that data loaders raise for a bad file."""

from __future__ import annotations


class DataError(ValueError):
    """A file or upload that cannot become a data matrix.

    The message always says what is wrong and what to do about it, so that the
    app can show it to the user verbatim.
    """
