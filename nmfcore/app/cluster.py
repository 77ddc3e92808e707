"""Where the app runs a fit: on an operator's Dask cluster, or on this server's threads.

An operator sets ``NMFCORE_DASK_SCHEDULER`` to a scheduler's address (``tcp://host:8786``).
Fits of a lazy data set (X a Dask array, from the data folder) then run on that
cluster; everything else, and lazy fits when the variable is unset, runs in this
process. :func:`placement` says which, for the Model page, connecting once per
address and server process (:func:`connect`); :func:`lazy_fit` wraps a fit function
so that it runs on the cluster's client; :func:`lazy_families` and
:func:`lazy_fit_memory` say which families a lazy data set allows and what its fit
holds in this process.

Nothing here imports ``distributed`` or ``dask`` until a cluster or a lazy fit needs it.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from nmfcore.models import APP_FAMILIES, get

ENV_VARIABLE = "NMFCORE_DASK_SCHEDULER"
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the scheduler (and for its first worker) before saying it is unreachable."""

RETRY_AFTER = 15.0
"""Seconds a failed connection is remembered, so that every rerun of a page does not wait again."""

_CLIENTS: dict[str, Any] = {}
_FAILURES: dict[str, tuple[float, str]] = {}
_CLIENTS_LOCK = threading.Lock()


def scheduler_address() -> str | None:
    """The address in ``$NMFCORE_DASK_SCHEDULER``, or None when it is unset or blank."""
    value = os.environ.get(ENV_VARIABLE, "").strip()
    return value or None


@dataclass(frozen=True)
class Placement:
    """Where a fit runs.

    Attributes
    ----------
    address : str or None
        The scheduler's address, None for this server's threads.
    workers : int
        The cluster's workers now (0 on threads).
    client : distributed.Client or None
        The connected client, None on threads.
    error : str or None
        Why the cluster named by ``$NMFCORE_DASK_SCHEDULER`` cannot be used; the fit
        must not start then.
    """

    address: str | None = None
    workers: int = 0
    client: Any = field(default=None, repr=False, compare=False)
    error: str | None = None

    @property
    def on_cluster(self) -> bool:
        """True when the fit runs on a connected cluster."""
        return self.client is not None

    def describe(self) -> str:
        """E.g. ``"on the Dask cluster at tcp://10.0.0.5:8786, 4 workers"`` or ``"on this server's threads"``."""
        if self.client is None:
            return "on this server's threads"
        return f"on the Dask cluster at {self.address}, {self.workers} worker{'s' if self.workers != 1 else ''}"


def connect(address: str, timeout: float | None = None) -> Any:
    """A :class:`distributed.Client` of the scheduler at ``address``, shared by the server's sessions.

    The client is made once per address and process and kept open (a fitted H stays
    on the workers as a Dask array); a closed one is replaced. It is not made the
    process's default client, so other Dask work of the app stays on local threads.
    A failure is remembered for :data:`RETRY_AFTER` seconds and raised again at once.

    Parameters
    ----------
    address : str
        The scheduler's address, e.g. ``"tcp://10.0.0.5:8786"``.
    timeout : float, optional
        Seconds to wait for the scheduler and its first worker; default :data:`CONNECT_TIMEOUT`.

    Raises
    ------
    ConnectionError
        The scheduler cannot be reached within ``timeout`` seconds, or has no worker.
    """
    from distributed import Client

    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status in ("running", "connecting"):
            return client
        failed = _FAILURES.get(address)
        if failed is not None and time.monotonic() - failed[0] < RETRY_AFTER:
            raise ConnectionError(failed[1])
        client = None
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as error:
            if client is not None:  # reached, but no worker came
                client.close()
            message = (f"cannot use the Dask cluster at {address!r} ({ENV_VARIABLE}): no scheduler with a "
                       f"worker answered within {timeout:g} s ({error}); check that the scheduler and its "
                       f"workers run there and the address, or unset {ENV_VARIABLE} to fit on this server")
            _FAILURES[address] = (time.monotonic(), message)
            raise ConnectionError(message) from None
        _FAILURES.pop(address, None)
        _CLIENTS[address] = client
    return client


def placement(lazy: bool, address: str | None = None, timeout: float | None = None) -> Placement:
    """Where a fit of this data runs.

    Parameters
    ----------
    lazy : bool
        Whether X is a Dask array (only those fits go to the cluster: an in-memory X
        is fitted where it is).
    address : str, optional
        The scheduler's address; default :func:`scheduler_address`.
    timeout : float, optional
        Seconds to wait for the scheduler; default :data:`CONNECT_TIMEOUT`.

    Returns
    -------
    Placement
        On the cluster, on threads, or on threads with ``error`` saying why the
        configured cluster cannot be used (never raises for an unreachable one).
    """
    address = address or scheduler_address()
    if not lazy or address is None:
        return Placement()
    try:
        client = connect(address, timeout)
        workers = len(client.scheduler_info(n_workers=-1)["workers"])
    except (ConnectionError, OSError, TimeoutError) as error:
        return Placement(address, error=str(error))
    return Placement(address, workers, client)


def _on_client(fit: Callable[..., Any], client: Any, *args: Any, **kwargs: Any) -> Any:
    # the client is current for this thread only: nmf's Dask path runs on it (default_client)
    with client.as_current():
        return fit(*args, **kwargs)


def lazy_fit(fit: Callable[..., Any], where: Placement) -> Callable[..., Any]:
    """``fit`` made to run where ``where`` says: on its client, or as it is on threads.

    The wrapper takes and passes on every argument (``callback`` included, so that a
    :class:`~nmfcore.app.jobs.FitJob` keeps its progress and its stop); it can be
    given to :func:`nmfcore.app.jobs.fit_job` as ``fit``.

    Raises
    ------
    ConnectionError
        When ``where`` has an ``error`` (the cluster configured is unreachable).
    """
    if where.error is not None:
        raise ConnectionError(where.error)
    if where.client is None:
        return fit
    return functools.partial(_on_client, fit, where.client)


def lazy_families() -> dict[str, str | None]:
    """The app's families and whether a lazy data set can be fitted by each.

    Returns
    -------
    dict
        Family name -> None when it accepts a Dask X (classic NMF, whose fit runs
        chunk by chunk, :func:`nmfcore.distributed.fit_chunked`), else why not.
    """
    from nmfcore.classic import nmf

    reasons: dict[str, str | None] = {}
    for name in APP_FAMILIES:
        entry = get(name)
        if entry.fit is nmf:
            reasons[name] = None
        elif entry.dense_only:
            reasons[name] = f"{entry.label} needs X dense in memory"
        else:
            reasons[name] = f"{entry.label} builds a graph over all items in memory"
    return reasons


def lazy_fit_memory(ds: Any, rank: int, beta: float, where: Placement) -> int:
    """Bytes a fit of the lazy data set ``ds`` holds in this server process.

    On a cluster only W and the m x r partial sums come here. On this server's threads
    the process also runs the chunk tasks, one per thread
    (:func:`nmfcore.distributed.memory.required_per_worker`), and holds H.

    Parameters
    ----------
    ds : Dataset
        ``ds.X`` a Dask array chunked along the items.
    rank : int
    beta : float
    where : Placement
    """
    from nmfcore.distributed.memory import required_per_worker
    from nmfcore.utils.parallel import n_threads

    m, n = ds.shape
    itemsize = np.dtype(ds.X.dtype).itemsize
    driver = 6 * m * rank * itemsize
    if where.on_cluster:
        return int(driver)
    widest = max(ds.X.chunks[1])
    nnz = ds.meta.get("nnz")
    per_chunk = None if nnz is None or not ds.is_sparse else int(np.ceil(nnz / n * widest))
    tasks = required_per_worker((m, widest), per_chunk, rank, ds.X.dtype, threads=n_threads(), beta=beta,
                                held_bytes=rank * n * itemsize, baseline=0)
    return int(driver + tasks)


def lazy_nnz(ds: Any) -> int | None:
    """Stored entries of a lazy, sparse X from its headers (None when dense): for the cost estimate."""
    return ds.meta.get("nnz") if ds.is_sparse else None

