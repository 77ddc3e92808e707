"""One queue of fits per server process: a bounded number run, the others wait in order.

Every session of the app submits its :class:`~nmfcore.app.jobs.FitJob` here instead of
starting it. The queue starts at most ``max_running`` jobs at once, first come first
served, and starts the next one whenever one ends (it learns of the end through the
job's done callback, so nothing polls). It refuses, with a message for the user:

* a second fit of a session that has one queued or running;
* a fit whose memory estimate, on top of what the process holds and what the fits
  already running or queued have reserved, would exceed ``memory_budget``.

Because queued fits reserve their memory when they are admitted, a fit that is not
refused never waits for memory, only for a slot. A running fit that is cancelled is
asked to stop and keeps its slot until its thread has really ended (a fit compiling
its kernels sees the request only afterwards), so the count of running fits is the
count of fit threads. One lock guards everything; waiting uses a condition.

Sessions that go away are found by an optional ``liveness(session_id)`` function
(True, False, or None for "cannot tell"): a session seen dead for ``grace`` seconds
has its fits cancelled, by a reaper thread that wakes every ``reap_interval`` seconds
while fits are queued or running, and sleeps otherwise.

Example
-------
>>> queue = FitQueue(max_running=2, memory_budget=2 << 30)          # doctest: +SKIP
>>> ticket = queue.submit("session-a", FitJob(nmf, X, 5), 10 << 20)  # doctest: +SKIP
>>> queue.position(ticket)       # None once running, 1 for the head of the queue  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from nmfcore.app.cost import format_bytes
from nmfcore.app.jobs import FitJob
from nmfcore.app.limits import Limits, process_rss

QUEUED, RUNNING, ENDED, CANCELLED = "queued", "running", "ended", "cancelled"
_LOG = logging.getLogger(__name__)


class QueueRefusal(ValueError):
    """A fit the queue will not take; the message says why and what to do."""


@dataclass(eq=False)
class Ticket:
    """A job's place in a :class:`FitQueue`.

    Attributes
    ----------
    session_id : str
        The session that submitted the job.
    job : FitJob
    memory : int
        Bytes reserved for the job while it is queued or running.
    number : int
        Order of submission in this queue, from 1.
    state : {"queued", "running", "ended", "cancelled"}
        Written by the queue under its lock; "cancelled" means withdrawn before it ran.
    """

    session_id: str
    job: FitJob
    memory: int
    number: int
    state: str = QUEUED

    @property
    def active(self) -> bool:
        """True while the job is queued or running."""
        return self.state in (QUEUED, RUNNING)


@dataclass(frozen=True)
class QueueStatus:
    """A consistent view of a queue: slots and memory."""

    running: int
    queued: int
    max_running: int
    reserved_bytes: int
    memory_budget: int


class FitQueue:
    """A shared, thread-safe queue of fits with a bound on those running at once.

    Parameters
    ----------
    max_running : int
        Fits that may run at once (at least 1).
    memory_budget : int
        Bytes the process may reach with the fits it runs.
    rss : callable, optional
        Returns the process's resident bytes now; by default read from the system.
    liveness : callable, optional
        ``liveness(session_id)`` is True while a session is connected, False once it
        is gone, None when it cannot tell (then the session is never reaped).
    grace : float
        Seconds a session must be seen gone before its fits are cancelled.
    reap_interval : float, optional
        Seconds between liveness checks while fits are active; default
        ``min(5, max(0.5, grace / 2))``. Unused without ``liveness``.
    """

    def __init__(
        self,
        max_running: int,
        memory_budget: int,
        *,
        rss: Callable[[], int] = process_rss,
        liveness: Callable[[str], bool | None] | None = None,
        grace: float = 120.0,
        reap_interval: float | None = None,
    ) -> None:
        if isinstance(max_running, bool) or not isinstance(max_running, int) or max_running < 1:
            raise ValueError(f"max_running must be a positive integer, got {max_running!r}")
        if isinstance(memory_budget, bool) or not isinstance(memory_budget, int) or memory_budget < 1:
            raise ValueError(f"memory_budget must be a positive number of bytes, got {memory_budget!r}")
        if not grace >= 0:
            raise ValueError(f"grace must be seconds >= 0, got {grace!r}")
        self.max_running = max_running
        self.memory_budget = memory_budget
        self.grace = float(grace)
        self.reap_interval = float(reap_interval) if reap_interval else min(5.0, max(0.5, self.grace / 2))
        self._rss = rss
        self._liveness = liveness
        self._cond = threading.Condition(threading.RLock())
        self._queue: collections.deque[Ticket] = collections.deque()
        self._running: list[Ticket] = []
        self._numbers = 0
        self._baseline = 0  # the process's resident bytes when it last ran no fit
        self._gone_since: dict[str, float] = {}
        self._closed = False
        self._reaper: threading.Thread | None = None
        if liveness is not None:
            self._reaper = threading.Thread(target=self._reap_loop, name="nmfcore-queue-reaper", daemon=True)
            self._reaper.start()

    @classmethod
    def from_limits(cls, limits: Limits, **kwargs) -> FitQueue:
        """A queue with the ``max_fits``, ``memory_budget`` and ``session_grace`` of ``limits``."""
        return cls(limits.max_fits, limits.memory_budget, grace=limits.session_grace, **kwargs)

    # ------------------------------------------------------------------ submitting

    def submit(self, session_id: str, job: FitJob, memory_estimate: int) -> Ticket:
        """Queue ``job`` for ``session_id``; it starts as soon as a slot is free.

        Parameters
        ----------
        session_id : str
        job : FitJob
            Not yet started.
        memory_estimate : int
            Peak bytes of the fit, e.g. ``estimate_fit(...).memory_bytes``.

        Returns
        -------
        Ticket

        Raises
        ------
        QueueRefusal
            When the session already has a fit queued or running, when the fit would
            take the process past the memory budget, or when the queue is closed.
        ValueError
            When the job has started already or the estimate is not a byte count.
        """
        if isinstance(memory_estimate, bool) or not isinstance(memory_estimate, int) or memory_estimate < 0:
            raise ValueError(f"memory_estimate must be a number of bytes >= 0, got {memory_estimate!r}")
        if job.progress().state != "pending":
            raise ValueError("submit a FitJob that has not started; the queue starts it")
        with self._cond:
            if self._closed:
                raise QueueRefusal("The server is shutting down and takes no new fits.")
            mine = self._active_of(session_id)
            if mine is not None:
                where = ("is running" if mine.state == RUNNING
                         else f"is queued at position {self._position(mine)} of {len(self._queue)}")
                raise QueueRefusal(f"Your fit {mine.job.name!r} {where}: wait for it to end, or stop or "
                                   "cancel it, before running another (one fit per session at a time).")
            self._admit_memory(memory_estimate)
            self._numbers += 1
            ticket = Ticket(session_id, job, int(memory_estimate), self._numbers)
            job.add_done_callback(lambda _job: self._ended(ticket))
            self._queue.append(ticket)
            self._gone_since.pop(session_id, None)
            self._dispatch()
            self._cond.notify_all()
        return ticket

    def _admit_memory(self, estimate: int) -> None:
        rss = self._rss()
        if not self._running:
            self._baseline = rss
        running = sum(t.memory for t in self._running)
        queued = sum(t.memory for t in self._queue)
        # running fits may not have allocated yet: count them at their estimate on top of
        # the last fit-free footprint, unless the process is already bigger than that
        held = max(rss, self._baseline + running)
        if held + queued + estimate <= self.memory_budget:
            return
        need, budget = format_bytes(estimate), format_bytes(self.memory_budget)
        if self._baseline + estimate > self.memory_budget:
            raise QueueRefusal(
                f"This fit would need about {need} of memory, and the server's budget is {budget} "
                f"({format_bytes(self._baseline)} of it taken by the app itself): it cannot run here. "
                "Use a smaller rank, or fewer features or items (Data page).")
        raise QueueRefusal(
            f"Not enough memory free right now: this fit needs about {need}, and the fits running or "
            f"queued hold {format_bytes(held + queued - self._baseline)} of the server's {budget} budget. "
            "Try again when they have finished, or make this fit smaller.")

    # ------------------------------------------------------------------ state

    def position(self, ticket: Ticket) -> int | None:
        """Place of a queued ticket, 1 for the next to start; None when it is not queued."""
        with self._cond:
            return self._position(ticket) if ticket.state == QUEUED else None

    def status(self) -> QueueStatus:
        """Running and queued counts and reserved memory, taken together."""
        with self._cond:
            reserved = sum(t.memory for t in (*self._running, *self._queue))
            return QueueStatus(len(self._running), len(self._queue), self.max_running, reserved,
                               self.memory_budget)

    def active(self, session_id: str) -> Ticket | None:
        """The session's queued or running ticket, if any."""
        with self._cond:
            return self._active_of(session_id)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._running, timeout)

    # ------------------------------------------------------------------ withdrawing

    def cancel(self, ticket: Ticket) -> bool:
        """Withdraw a queued ticket, or ask a running one to stop.

        A cancelled queued job ends ``"cancelled"`` at once; a running one keeps its
        slot until its fit returns its partial result.

        Returns
        -------
        bool
            False when the ticket had ended already.
        """
        with self._cond:
            queued = ticket.state == QUEUED
            if queued:
                self._queue.remove(ticket)
                ticket.state = CANCELLED
                self._cond.notify_all()
            elif ticket.state != RUNNING:
                return False
        if queued:
            ticket.job.cancel()  # ends the job and runs its done callbacks
        else:
            ticket.job.stop()
        return True

    def close_session(self, session_id: str) -> int:
        """Cancel the session's queued fits and stop its running one; returns how many."""
        with self._cond:
            tickets = [t for t in (*self._running, *self._queue) if t.session_id == session_id]
            self._gone_since.pop(session_id, None)
        return sum(self.cancel(t) for t in tickets)

    def close(self, timeout: float | None = 10.0) -> None:
        """Refuse new fits, cancel the queued ones, stop the running ones and wait for them."""
        with self._cond:
            self._closed = True
            tickets = [*self._running, *self._queue]
            self._cond.notify_all()
        for ticket in tickets:
            self.cancel(ticket)
        self.wait_idle(timeout)
        if self._reaper is not None:
            self._reaper.join(timeout)

    # ------------------------------------------------------------------ internals

    def _active_of(self, session_id: str) -> Ticket | None:
        return next((t for t in (*self._running, *self._queue) if t.session_id == session_id), None)

    def _position(self, ticket: Ticket) -> int:
        return self._queue.index(ticket) + 1

    def _dispatch(self) -> None:
        """Start queued jobs while slots are free (lock held)."""
        while self._queue and len(self._running) < self.max_running and not self._closed:
            ticket = self._queue.popleft()
            ticket.state = RUNNING
            self._running.append(ticket)
            try:
                ticket.job.start()
            except Exception:  # the job ended failed and its callbacks ran (same thread, re-entrant lock)
                self._ended(ticket)

    def _ended(self, ticket: Ticket) -> None:
        """The job's done callback: free its slot once, and start the next."""
        with self._cond:
            if ticket.state == RUNNING:
                self._running.remove(ticket)
            elif ticket.state == QUEUED:  # ended without the queue starting it
                self._queue.remove(ticket)
            if ticket.state != CANCELLED:
                ticket.state = ENDED
            self._dispatch()
            self._cond.notify_all()

    def reap(self, now: float | None = None) -> int:
        """Cancel the fits of sessions seen gone for ``grace`` seconds; returns how many.

        The reaper thread calls this; a caller may too (e.g. on every page run).
        """
        if self._liveness is None:
            return 0
        now = time.monotonic() if now is None else now
        with self._cond:
            sessions = {t.session_id for t in (*self._running, *self._queue)}
        gone = []
        for session_id in sessions:
            alive = self._liveness(session_id)
            with self._cond:
                if alive is not False:
                    self._gone_since.pop(session_id, None)
                    continue
                since = self._gone_since.setdefault(session_id, now)
            if now - since >= self.grace:
                gone.append(session_id)
        with self._cond:
            for session_id in set(self._gone_since) - sessions:
                del self._gone_since[session_id]
        return sum(self.close_session(s) for s in gone)

    def _reap_loop(self) -> None:
        while True:
            with self._cond:
                # sleep until fits are active, then wake every reap_interval to look
                self._cond.wait_for(lambda: self._closed or self._queue or self._running)
                if self._closed:
                    return
                self._cond.wait(self.reap_interval)
                if self._closed:
                    return
            try:
                self.reap()
            except Exception:  # a liveness check that fails must not end the reaper
                _LOG.exception("reaping gone sessions failed")
                time.sleep(self.reap_interval)
