"""Classic NMF of chunked Dask arrays, on local threads or a ``dask.distributed`` cluster.

:func:`fit_chunked` runs :func:`nmfcore.nmf`'s iterations over a Dask array of item
chunks (:func:`nmfcore.data.lazy.open_lazy`): the update rules of
:mod:`nmfcore.classic.mu_rules` and :mod:`nmfcore.classic.hals_rules` run per chunk
(:mod:`~nmfcore.distributed.chunk_tasks`), H stays in blocks where the chunks are, and
only the m x r and r x r partial sums are reduced (:mod:`~nmfcore.distributed.backend`).
:func:`fit_online` (``solver="online"``) visits the chunks' batches in turn, each
where its chunk is, and updates W here from the batches' small terms.
Modules: ``driver`` (the fit), ``solvers`` (MU and HALS iterations over blocks),
``online`` and ``online_tasks`` (the online fit), ``chunk_tasks`` (what runs on a
chunk), ``backend`` and ``connect`` (threads or a cluster), ``init`` (start points
from chunks), ``checkpoint`` (save and resume) and ``memory`` (what a worker needs,
checked before a fit).
"""

from nmfcore.distributed.backend import WorkerLostError
from nmfcore.distributed.driver import fit_chunked
from nmfcore.distributed.memory import ChunkMemoryError, check_worker_memory, required_per_worker
from nmfcore.distributed.online import fit_online

__all__ = ["ChunkMemoryError", "WorkerLostError", "check_worker_memory", "fit_chunked", "fit_online",
           "required_per_worker"]
