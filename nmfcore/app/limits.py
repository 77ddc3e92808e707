"""What one server process allows: fits at once, memory, and per-session caps.

The limits come from environment variables, read when the server's queue is made
(:meth:`Limits.from_env`):

==============================  =================================================  ===========================
variable                        meaning                                            default
==============================  =================================================  ===========================
``NMFCORE_MAX_FITS``            fits running at once in the process                the number of usable cores
``NMFCORE_MEMORY_BUDGET``       bytes the process may reach, fits included         75 % of physical memory
``NMFCORE_MAX_RESULTS``         results one session keeps (oldest dropped first)   20
``NMFCORE_MAX_UPLOAD_BYTES``    bytes of one session's uploaded data files         200 MiB
``NMFCORE_SESSION_GRACE``       seconds a disconnected session keeps its fit       120
==============================  =================================================  ===========================

Byte sizes are integers, optionally with a binary suffix: ``"1500000000"``,
``"800M"``, ``"1.5G"`` (K, M, G, T are powers of 1024; a trailing ``B`` or ``iB``
is allowed).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from nmfcore.app.cost import format_bytes

_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
# how long Streamlit keeps a disconnected session so that its browser can reconnect
_STREAMLIT_SESSION_TTL = 120.0


def parse_bytes(text: str, name: str = "size") -> int:
    """Parse a byte count such as ``"1500000000"``, ``"800M"`` or ``"1.5GiB"``.

    Raises
    ------
    ValueError
        Naming ``name`` and showing an accepted spelling.
    """
    match = _SIZE.match(str(text))
    if match is None:
        raise ValueError(f"{name} must be a byte count such as 2000000000, 800M or 1.5G, got {text!r}")
    value = int(float(match.group(1)) * _SUFFIXES[match.group(2).upper()])
    if value < 1:
        raise ValueError(f"{name} must be at least 1 byte, got {text!r}")
    return value


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def physical_memory() -> int:
    """Bytes of memory this process can use: physical memory, or a smaller cgroup limit."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(total)


def process_rss() -> int:
    """Resident memory of this process now, in bytes (0 where the system does not say)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        pass
    try:
        import psutil
    except ImportError:
        return 0
    return int(psutil.Process().memory_info().rss)


@dataclass(frozen=True)
class Limits:
    """The limits of one server process; see the module's table for their variables.

    Attributes
    ----------
    max_fits : int
        Fits that may run at once.
    memory_budget : int
        Bytes the process may reach; a fit that would take it past is refused.
    max_results : int
        Results one session keeps; a new one drops the oldest.
    max_upload_bytes : int
        Bytes of data files one session may upload (all files of one upload together).
    session_grace : float
        Seconds a session may stay disconnected before its fit is cancelled.
    """

    max_fits: int
    memory_budget: int
    max_results: int
    max_upload_bytes: int
    session_grace: float

    def check_upload(self, n_bytes: int) -> None:
        """Refuse an upload of ``n_bytes`` (all its files together) over ``max_upload_bytes``.

        Raises
        ------
        ValueError
            Saying how big the upload is and what the cap is.
        """
        if n_bytes <= self.max_upload_bytes:
            return
        size, cap = format_bytes(n_bytes), format_bytes(self.max_upload_bytes)
        if size == cap:  # rounded alike: give the counts
            size, cap = f"{n_bytes:,} bytes", f"{self.max_upload_bytes:,} bytes"
        raise ValueError(f"This upload is {size}, more than the {cap} of data files a session may upload "
                         "on this server: upload fewer files, or a subset of the data.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Read the limits from ``environ`` (default ``os.environ``), defaults where unset.

        Raises
        ------
        ValueError
            When a variable is set to something unusable; the message names it.
        """
        env = os.environ if environ is None else environ

        def count(name: str, default: int) -> int:
            text = env.get(name, "").strip()
            if not text:
                return default
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"{name} must be a positive integer such as 2, got {text!r}")
            return int(text)

        def size(name: str, default: int) -> int:
            text = env.get(name, "").strip()
            return parse_bytes(text, name) if text else default

        grace_text = env.get("NMFCORE_SESSION_GRACE", "").strip()
        try:
            grace = float(grace_text) if grace_text else _STREAMLIT_SESSION_TTL
        except ValueError:
            grace = -1.0
        if not grace >= 0:
            raise ValueError(f"NMFCORE_SESSION_GRACE must be seconds >= 0 such as 120, got {grace_text!r}")
        return cls(
            max_fits=count("NMFCORE_MAX_FITS", usable_cores()),
            memory_budget=size("NMFCORE_MEMORY_BUDGET", int(0.75 * physical_memory())),
            max_results=count("NMFCORE_MAX_RESULTS", 20),
            max_upload_bytes=size("NMFCORE_MAX_UPLOAD_BYTES", 200 << 20),
            session_grace=grace,
        )
