"""Parsers that misbehave on purpose, run by ``load_isolated`` in its child process."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import numpy as np


def segfault(source: Any, kind: str | None = None, **options: Any) -> None:
    """Die as a compiled reader writing out of bounds would."""
    os.kill(os.getpid(), signal.SIGSEGV)


def hang(source: Any, kind: str | None = None, **options: Any) -> None:
    """Never finish, as a parser looping on a corrupt structure."""
    time.sleep(600)


def allocate(source: Any, kind: str | None = None, **options: Any) -> None:
    """Ask for 64 GiB, as a parser trusting an inflated header."""
    np.ones(2**33)


def broken(source: Any, kind: str | None = None, **options: Any) -> None:
    """Fail with an exception that is neither a DataError nor a ValueError: a bug."""
    raise KeyError("a bug in the reader")
