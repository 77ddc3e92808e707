"""Dask's ``sizeof`` for the objects our tasks hold, so that the scheduler sees their real size.

Without these, Dask takes a prepared chunk (:class:`~nmfcore.classic.blocks.DataBlock`)
or a visit's terms (:class:`~nmfcore.classic.online_solver.BatchTerms`) for a small
Python object (``sys.getsizeof``, about 50 bytes): its transfer counters under-report
and its work stealing may move whole chunks of X to other workers as if they were free.
The tasks' modules import this one, so the registration runs on every worker.
"""

from __future__ import annotations

from typing import Any

from dask.sizeof import sizeof

from nmfcore.classic.blocks import DataBlock
from nmfcore.classic.online_solver import BatchTerms


@sizeof.register(DataBlock)
@sizeof.register(BatchTerms)
def _attributes_size(obj: Any) -> int:
    """The summed sizes of the object's attributes (arrays, sparse matrices, numbers)."""
    return sum(sizeof(value) for value in vars(obj).values())
