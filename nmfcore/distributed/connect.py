"""Which backend a fit runs on: the client given, the active one, a scheduler's address, or local threads."""

from __future__ import annotations

import sys
from typing import Any

from nmfcore.distributed.backend import THREADS, ClusterBackend, LocalBackend, is_client
from nmfcore.utils.parallel import n_threads


def resolve_client(client: Any, timeout: float) -> Any:
    """The :class:`distributed.Client` to run on, or None for Dask's local threads.

    Parameters
    ----------
    client : distributed.Client, str or None
        A client; a scheduler address (a client is connected to it and left open, since
        the result's H blocks live on its workers); None for the active client if there
        is one; or ``"threads"``.
    timeout : float
        Seconds to wait for the scheduler at an address.

    Raises
    ------
    ConnectionError
        The scheduler cannot be reached in time.
    TypeError
        ``client`` is none of these.
    """
    if client is None:
        if "distributed" not in sys.modules:  # no client can be active before distributed is imported
            return None
        from distributed import default_client

        try:
            return default_client()
        except ValueError:
            return None
    if isinstance(client, str) and client == THREADS:
        return None
    if isinstance(client, str):
        from distributed import Client

        try:
            return Client(client, timeout=timeout)
        except (OSError, TimeoutError) as error:
            raise ConnectionError(
                f"cannot reach a Dask scheduler at {client!r} within {timeout:g} s ({error}); check that it "
                "runs there (e.g. `dask scheduler`, or a LocalCluster) and the address, or pass "
                f"client={THREADS!r} to fit on this machine's threads"
            ) from error
    if is_client(client):
        return client
    raise TypeError(f"client must be a distributed.Client, a scheduler address, None or {THREADS!r}, "
                    f"got {type(client).__name__}")


def backend_for(client: Any, X: Any, threads: int | None, memory_limit: int | None, *, resilient: bool,
                timeout: float) -> tuple[Any, int, int]:
    """(backend, memory limit per worker in bytes, number of workers) for a fit of the Dask array X."""
    import psutil

    blocks = list(X.to_delayed().ravel())
    resolved = resolve_client(client, timeout)
    if resolved is None:
        limit = memory_limit or int(psutil.virtual_memory().available)
        return LocalBackend(blocks, threads or n_threads()), limit, 1
    resolved.wait_for_workers(1, timeout=timeout)
    workers = resolved.scheduler_info(n_workers=-1)["workers"]
    limits = [int(w["memory_limit"]) for w in workers.values() if w.get("memory_limit")]
    limit = memory_limit or (min(limits) if limits else int(psutil.virtual_memory().available))
    return ClusterBackend(resolved, blocks, resilient), limit, len(workers)
