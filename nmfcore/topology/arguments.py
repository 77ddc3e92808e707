"""Argument checks shared by the fits of the topology family (gnmf, pnmf)."""

from __future__ import annotations

from typing import Any


def reject_renamed(function: str, given: dict[str, Any], renamed: dict[str, str]) -> None:
    """Refuse keyword arguments that a fit no longer takes, naming the new spelling.

    A fit collects unknown keywords with ``**given`` and passes them here, so an
    old spelling fails with a message that says what to write instead.

    Parameters
    ----------
    function : str
        Name of the fit, for the message.
    given : dict
        The keywords the fit did not recognise.
    renamed : dict
        Old name -> new name.

    Raises
    ------
    TypeError
        "max_sweeps was renamed max_iter; pass max_iter=10" for an old name, Python's
        own "unexpected keyword argument" message for any other.
    """
    for name, value in given.items():
        if name in renamed:
            new = renamed[name]
            raise TypeError(f"{name} was renamed {new}; pass {new}={value!r}")
        raise TypeError(f"{function}() got an unexpected keyword argument {name!r}")
