"""Load: 12 concurrent sessions through the real server, with small limits.

The server runs with ``NMFCORE_MAX_FITS=2`` and a memory budget. Each session, over
its own websocket (the protocol a browser speaks; 12 Chromium instances would not fit
on a 2-core machine), uploads its own CSV and runs an NMF fit; two sessions leave in
the middle of a fit of minutes, so the server must cancel their fits itself
(``NMFCORE_SESSION_GRACE=1``) or the two slots stay taken and nobody else finishes
(and a last session's Model page would not report the queue idle).
Two sessions upload what the server refuses (a file over ``NMFCORE_MAX_UPLOAD_BYTES``,
and a broken MATLAB file, parsed in a child process) and must see why.
Checked: every other session finishes or shows a refusal message; no session ever
shows another session's file name; each Done message names the session's own
iteration count; the queue never reports more than 2 running fits; the server's peak
resident memory stays under the budget. Bounded: the scenario has a 75 s deadline.
"""

from __future__ import annotations

import time

import pytest

from _load import app_server, queue_load, run_sessions, session_csv

pytestmark = pytest.mark.load

SESSIONS = 12
CLOSERS = (0, 1)
MAX_FITS = 2
BUDGET = 1 << 30
MAX_UPLOAD = 8 << 20
MAX_ITER = 1500
# two sessions whose uploads are refused: one over the cap, one a broken MATLAB file
UPLOADS = {10: ("too_big.csv", b"0.5," * (MAX_UPLOAD // 4 + 1000)),
           11: ("broken.mat", b"MATLAB 5.0 MAT-file, truncated" + b"\x00" * 200)}
REFUSALS = {10: f"more than the {MAX_UPLOAD:,} bytes of data files", 11: "broken.mat"}


def test_twelve_sessions_at_once_finish_or_are_refused_and_stay_apart():
    limits = {"NMFCORE_MAX_FITS": str(MAX_FITS), "NMFCORE_MEMORY_BUDGET": str(BUDGET),
              "NMFCORE_SESSION_GRACE": "1", "NMFCORE_MAX_RESULTS": "3", "NMFCORE_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    start = time.monotonic()
    with app_server(limits) as server:
        outcomes = run_sessions(server.url, SESSIONS, closers=CLOSERS, max_iter=MAX_ITER, uploads=UPLOADS,
                                timeout=75)
        # the closers' fits would run for minutes: none running means the server cancelled them
        slots, running, queued = queue_load(server.url, timeout=15)
        peak = server.peak_rss()
        alive = server.process.poll() is None
    elapsed = time.monotonic() - start

    names = {o.index: o.name for o in outcomes}
    finished = [o for o in outcomes if o.status == "done"]
    refused = [o for o in outcomes if o.status == "refused"]
    print(f"\n{SESSIONS} sessions ({len(CLOSERS)} left mid-fit): {len(finished)} done, {len(refused)} refused, "
          f"server peak RSS {peak / 2**20:.0f} MiB (budget {BUDGET / 2**20:.0f} MiB), {elapsed:.1f} s")
    assert alive, "the server died under load"
    assert (slots, running, queued) == (MAX_FITS, 0, 0), "the fits of the sessions that left still run"
    for o in outcomes:
        if o.index in CLOSERS:
            assert o.status == "closed", (o.index, o.status, o.message)
            continue
        assert o.status in ("done", "refused"), (o.index, o.status, o.message, o.texts[-8:])
        shown = "\n".join(o.texts)
        if o.index in REFUSALS:
            assert o.status == "refused" and REFUSALS[o.index] in o.message, (o.index, o.message)
            assert "Data: none loaded" in o.texts, o.index
        elif o.status == "refused":  # a fit refused by the queue: the message says why
            assert o.message.strip(), o.index
        else:
            assert o.iterations == MAX_ITER + o.index, (o.index, o.message)
            assert "Results kept: 1" in o.texts, o.index
            _, _, (m, n) = session_csv(o.index)
            assert f"upload {o.name}" in shown and f"{m} × {n}" in shown, o.index
        others = [name for i, name in names.items() if i != o.index and name in shown]
        assert not others, f"session {o.index} was shown {others}"
        assert not [t for t in o.texts if t.startswith("EXCEPTION")], o.index
        for position, queued, running, slots in o.queued_seen:
            assert slots == MAX_FITS and running <= MAX_FITS and 1 <= position <= queued < SESSIONS
    assert len(finished) >= SESSIONS - len(CLOSERS) - len(refused) and len(finished) >= SESSIONS // 2
    assert 0 < peak < BUDGET
