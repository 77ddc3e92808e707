"""Run a fit in a background thread, so that a user interface stays responsive.

A :class:`FitJob` wraps any fitting function that follows the callback contract of
:func:`nmfcore.nmf`: the function calls ``callback(iteration, ..., loss)`` after each
iteration and stops cleanly (returning its partial result, with ``stopped=True``)
when the callback returns ``False``. The job records the loss history as it grows,
estimates the time left and lets another thread ask for a stop.

Example
-------
>>> job = FitJob(nmf, X, 5, max_iter=200).start()   # doctest: +SKIP
>>> job.progress().fraction                          # doctest: +SKIP
>>> job.stop(); result = job.wait()                  # doctest: +SKIP

A job need not start at once: :class:`nmfcore.app.queue.FitQueue` holds it until a
slot is free, calls :meth:`FitJob.start` then, or :meth:`FitJob.cancel` if it is
withdrawn first, and learns of its end through :meth:`FitJob.add_done_callback`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from nmfcore.app.cost import format_seconds
from nmfcore.models import get

PENDING, RUNNING, DONE, STOPPED, FAILED = "pending", "running", "done", "stopped", "failed"
CANCELLED = "cancelled"
"""State of a job withdrawn before it started: it never ran and has no result."""
_ENDED = (DONE, STOPPED, FAILED, CANCELLED)
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobProgress:
    """A consistent snapshot of a running :class:`FitJob`.

    Attributes
    ----------
    state : {"pending", "running", "done", "stopped", "failed", "cancelled"}
    iteration : int
        Last iteration reported by the fit (0 before the first one).
    max_iter : int or None
        Iteration budget, used for ``fraction`` and ``eta``.
    losses : ndarray, shape (k,)
        Loss reported at each of the k callbacks so far.
    times : ndarray, shape (k,)
        Seconds since the start of the job at each callback.
    elapsed : float
        Seconds since the start of the job.
    eta : float or None
        Estimated seconds left, from the mean time per iteration so far; None before
        the first iteration or when ``max_iter`` is unknown.
    error : str or None
        Message of the exception that ended a failed job.
    """

    state: str
    iteration: int
    max_iter: int | None
    losses: np.ndarray
    times: np.ndarray
    elapsed: float
    eta: float | None
    error: str | None

    @property
    def fraction(self) -> float:
        """Share of ``max_iter`` done, in [0, 1] (1 once the job has finished)."""
        if self.state in _ENDED:
            return 1.0
        if not self.max_iter:
            return 0.0
        return float(min(1.0, self.iteration / self.max_iter))

    @property
    def loss(self) -> float | None:
        """Most recent loss, or None before the first report."""
        return float(self.losses[-1]) if self.losses.size else None

    @property
    def finished(self) -> bool:
        """True once the fit has returned or raised, or the job was cancelled before it started."""
        return self.state in _ENDED

    def describe(self, name: str, iteration_label: str = "iteration") -> str:
        """One line for a progress bar, e.g. ``"NMF r=5: iteration 12/200 · loss 3.1 · ETA 2 s"``.

        Parameters
        ----------
        name : str
            The job's label.
        iteration_label : str
            What one iteration is called, e.g. a registry entry's ``iteration_label``
            ("sweep" for pNMF).
        """
        eta = "…" if self.eta is None else format_seconds(self.eta)
        loss = "…" if self.loss is None else f"{self.loss:.5g}"
        return f"{name}: {iteration_label} {self.iteration}/{self.max_iter} · loss {loss} · ETA {eta}"


class FitJob:
    """A fit running in a daemon thread, with progress, ETA and a clean stop.

    Parameters
    ----------
    fit : callable
        Fitting function, e.g. :func:`nmfcore.nmf`, that accepts a ``callback``
        keyword and calls it as ``callback(iteration, *state, loss)``.
    *args
        Positional arguments of ``fit`` (typically ``X`` and the rank or ranks).
    max_iter : int, optional
        Iteration budget. It is passed on to ``fit`` as a keyword, and it drives the
        progress fraction and the ETA.
    name : str
        Label of the job, for display.
    **kwargs
        Further keyword arguments of ``fit``. A ``callback`` given here is called
        too, and can also stop the fit.
    """

    def __init__(
        self,
        fit: Callable[..., Any],
        *args: Any,
        max_iter: int | None = None,
        name: str = "",
        **kwargs: Any,
    ) -> None:
        if not callable(fit):
            raise ValueError(f"fit must be a callable such as nmfcore.nmf, got {fit!r}")
        if max_iter is not None and (
            isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1
        ):
            raise ValueError(f"max_iter must be a positive integer or None, got {max_iter!r}")
        self.name = name
        self.max_iter = None if max_iter is None else int(max_iter)
        self._fit = fit
        self._args = args
        self._user_callback = kwargs.pop("callback", None)
        if max_iter is not None:
            kwargs["max_iter"] = int(max_iter)
        self._kwargs = kwargs
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._done_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = PENDING
        self._iteration = 0
        self._losses: list[float] = []
        self._times: list[float] = []
        self._start: float | None = None
        self._end: float | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self._done_callbacks: list[Callable[[FitJob], Any]] = []
        # free-form notes of the caller, e.g. what to do with the result
        self.meta: dict[str, Any] = {}

    def start(self) -> FitJob:
        """Start the fit in a daemon thread and return ``self``."""
        with self._lock:
            if self._thread is not None or self._state != PENDING:
                raise ValueError(f"this job was already {'started' if self._thread else self._state}; "
                                 "create a new FitJob to fit again")
            self._start = time.perf_counter()
            self._state = RUNNING
            self._thread = threading.Thread(target=self._run, name=f"nmfcore-fit-{self.name}", daemon=True)
        try:
            self._thread.start()
        except BaseException as exc:  # e.g. "can't start new thread": the job ends failed, callbacks told
            self._finish(FAILED, error=exc)
            raise
        return self

    def stop(self) -> None:
        """Ask the fit to stop at its next callback; it then returns its partial result.

        A fit only sees the request at its next callback, so one that is still
        compiling its kernels, say, ends a little later.
        """
        self._stop_event.set()

    def cancel(self) -> bool:
        """Withdraw a job that has not started: it ends ``"cancelled"`` without running.

        Returns
        -------
        bool
            True when the job was cancelled; False when it had started (then it is
            asked to stop, as by :meth:`stop`) or had already ended.
        """
        with self._lock:
            pending = self._state == PENDING
            if pending:
                self._state = CANCELLED
                self._start = self._end = time.perf_counter()
        if not pending:
            self.stop()
            return False
        self._stop_event.set()
        self._notify_done()
        return True

    def add_done_callback(self, fn: Callable[[FitJob], Any]) -> None:
        """Call ``fn(job)`` once the job ends (done, stopped, failed or cancelled).

        Callbacks run in the thread that ends the job (the fit's thread, or the one
        that cancels it), before :meth:`wait` returns, so that whoever waits sees
        their effects; they must not wait for the job themselves. A callback added
        after the end is called at once. An exception in a callback is logged, not
        raised.
        """
        with self._lock:
            if not self._done_event.is_set() and self._state not in _ENDED:
                self._done_callbacks.append(fn)
                return
        self._call(fn)

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the fit ends (or ``timeout`` seconds pass) and return the result.

        Returns
        -------
        object or None
            The fit's result, or None when it failed or is still running.
        """
        self._done_event.wait(timeout)
        return self.result

    @property
    def finished(self) -> bool:
        """True once the fit has returned or raised, or the job was cancelled before it started."""
        return self._done_event.is_set()

    @property
    def stopping(self) -> bool:
        """True between a stop request and the end of the fit."""
        return self._stop_event.is_set() and not self.finished

    def progress(self) -> JobProgress:
        """Return a consistent :class:`JobProgress` snapshot; safe from any thread."""
        with self._lock:
            now = self._end if self._end is not None else time.perf_counter()
            elapsed = 0.0 if self._start is None else now - self._start
            losses = np.asarray(self._losses, dtype=float)
            times = np.asarray(self._times, dtype=float)
            iteration, state = self._iteration, self._state
        eta = None
        if state == RUNNING and self.max_iter and iteration > 0:
            eta = max(0.0, elapsed / iteration * (self.max_iter - iteration))
        elif state in _ENDED:
            eta = 0.0
        error = None if self.error is None else str(self.error)
        return JobProgress(state, iteration, self.max_iter, losses, times, elapsed, eta, error)

    def _callback(self, iteration: Any, *state: Any) -> bool:
        loss = state[-1] if state else None
        with self._lock:
            if isinstance(iteration, numbers.Real):
                self._iteration = int(iteration)
            if isinstance(loss, numbers.Real):
                self._losses.append(float(loss))
                self._times.append(time.perf_counter() - (self._start or 0.0))
        keep_going = True
        if self._user_callback is not None:
            keep_going = self._user_callback(iteration, *state) is not False
        return keep_going and not self._stop_event.is_set()

    def _run(self) -> None:
        try:
            result = self._fit(*self._args, callback=self._callback, **self._kwargs)
            stopped = bool(result.stopped) or self._stop_event.is_set()
        except BaseException as exc:  # the caller shows the message; the thread must not die silently
            self._finish(FAILED, error=exc)
            if not isinstance(exc, Exception):
                raise
        else:
            self._finish(STOPPED if stopped else DONE, result=result)

    def _finish(self, state: str, *, result: Any = None, error: BaseException | None = None) -> None:
        try:
            with self._lock:
                self._end = time.perf_counter()
                self.result, self.error, self._state = result, error, state
        finally:
            self._notify_done()

    def _notify_done(self) -> None:
        try:
            with self._lock:
                callbacks, self._done_callbacks = self._done_callbacks, []
            for fn in callbacks:
                self._call(fn)
        finally:
            self._done_event.set()

    def _call(self, fn: Callable[[FitJob], Any]) -> None:
        try:
            fn(self)
        except Exception:  # one observer's bug must not keep the job from ending
            _LOG.exception("done callback %r of job %r raised", fn, self.name)


def fit_job(family: str, X: Any, params: Mapping[str, Any], *, name: str = "",
            fit: Callable[..., Any] | None = None) -> FitJob:
    """A (not yet started) :class:`FitJob` of a registry family with a user interface's parameters.

    Parameters
    ----------
    family : str
        A name of :data:`nmfcore.models.FAMILIES`.
    X : ndarray or sparse matrix, shape (m, n)
        The data, dense already when the entry is ``dense_only``.
    params : mapping
        The entry's ``rank`` or ``ranks``, ``max_iter`` and any other keyword arguments
        of its fit function; the entry's ``fixed`` arguments are added.
    name : str
        Label of the job.
    fit : callable, optional
        Runs instead of the entry's fit function, with the same arguments: e.g. the
        entry's fit on a Dask cluster (:func:`nmfcore.app.cluster.lazy_fit`).

    Returns
    -------
    FitJob
    """
    entry = get(family)
    kwargs = {k: v for k, v in params.items() if k not in (entry.rank_keyword, "max_iter")}
    kwargs.update(entry.fixed)
    return FitJob(fit or entry.fit, X, params[entry.rank_keyword], max_iter=params["max_iter"], name=name,
                  **kwargs)


def fit_label(family: str, params: Mapping[str, Any]) -> str:
    """Short name of a fit, e.g. ``"Deep β-NMF r=[10, 5] β=1"``: the entry's label, rank(s) and β."""
    entry = get(family)
    beta = f" β={params['beta']:g}" if "beta" in params else ""
    return f"{entry.label} r={params[entry.rank_keyword]}{beta}"


def fit_key(fingerprint: str, family: str, params: dict[str, Any]) -> str:
    """Cache key of a fit: the data's fingerprint, the family and its parameters.

    Parameters
    ----------
    fingerprint : str
        From :func:`data_fingerprint`.
    family : str
    params : dict
        JSON-friendly keyword arguments (arrays are hashed by value).

    Returns
    -------
    str
    """

    def _default(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()
        if isinstance(value, np.generic):
            return value.item()
        return repr(value)

    body = json.dumps({"family": family, "params": params}, sort_keys=True, default=_default)
    return f"{fingerprint}:{hashlib.sha256(body.encode()).hexdigest()}"
