"""Shared pytest fixtures.

Tests that need the reference data sets in ``../shared/datasets`` ask for them
through :func:`shared_dataset`. In a user's clone the folder is absent and those
tests skip with a reason; CI sets ``NMF_REQUIRE_SHARED=1`` so that a missing data
set fails the run instead of silently skipping.
"""

from __future__ import annotations

import pytest

from _shared import shared_path


@pytest.fixture
def shared_dataset():
    """Fixture form of :func:`shared_path`: ``shared_dataset("CBCL.mat")``."""
    return shared_path
