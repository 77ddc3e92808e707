"""Where the papers' reference data sets live, for tests that need them.

Tests import :func:`shared_path` from here (a module name no test folder's ``conftest.py``
shadows). In a user's clone ``../shared`` is absent and those tests skip with a reason; CI sets
``NMF_REQUIRE_SHARED=1`` so that a missing data set fails the run instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def _require_shared() -> bool:
    return os.environ.get("NMF_REQUIRE_SHARED", "") not in ("", "0", "false", "False")


def shared_path(name: str) -> Path:
    """Return the path of a reference data set, skipping (or failing in CI) when absent."""
    path = SHARED_DATASETS / name
    if not path.exists():
        message = (
            f"reference data set {name!r} not found in {SHARED_DATASETS}; "
            "it lives in the project's ../shared folder, which a user's clone does not have"
        )
        if _require_shared():
            pytest.fail(message + " (NMF_REQUIRE_SHARED is set, so this is an error)")
        pytest.skip(message)
    return path
