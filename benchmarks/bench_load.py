"""Time to render the Data page while many sessions fit at once, on the real server.

Starts ``streamlit run app.py`` on a loopback port with ``NMFCORE_MAX_FITS=2``, then
drives the load of ``tests/app/test_load.py`` (12 websocket sessions, each uploading its
own CSV and running an NMF fit; two of them leave mid-fit) while two watcher sessions
rerun the Data page (a loaded sample, so with its preview) every half second. Prints a
markdown table of the watchers' render times, idle (before the load) and under load,
and of the load's outcome. Run from the repository root:
``PYTHONPATH=. python benchmarks/bench_load.py [--sessions 12] [--repeats 1]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _load import app_server, run_sessions  # noqa: E402
from _streamlit_client import StreamlitClient  # noqa: E402

BUDGET = 1 << 30


def _watch(url: str, ready: threading.Event, stop: threading.Event, times: list[float], idle: list[float],
           idle_runs: int = 5) -> None:
    """Rerun the Data page every half second until ``stop``; the first ``idle_runs`` go to ``idle``."""
    client = StreamlitClient(url, timeout=120)
    try:
        client.open()
        client.click("sample_faces")
        for _ in range(idle_runs):
            client.rerun()
            idle.append(client.run_seconds[-1])
            time.sleep(0.2)
        ready.set()
        while not stop.is_set():
            client.rerun()
            times.append(client.run_seconds[-1])
            stop.wait(0.5)
    finally:
        client.close()


def _percentiles(values: list[float]) -> str:
    if not values:
        return "– | – | –"
    a = np.asarray(values)
    return " | ".join(f"{np.percentile(a, q) * 1000:.0f}" for q in (50, 95)) + f" | {a.max() * 1000:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--watchers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    limits = {"NMFCORE_MAX_FITS": "2", "NMFCORE_MEMORY_BUDGET": str(BUDGET), "NMFCORE_SESSION_GRACE": "1"}
    rows = []
    for _ in range(args.repeats):
        with app_server(limits) as server:
            idle: list[float] = []
            loaded: list[float] = []
            stop = threading.Event()
            ready = [threading.Event() for _ in range(args.watchers)]
            watchers = [threading.Thread(target=_watch, args=(server.url, r, stop, loaded, idle), daemon=True)
                        for r in ready]
            for w in watchers:
                w.start()
            for r in ready:
                r.wait(120)
            time.sleep(1.0)
            loaded.clear()  # only renders that overlap the load
            start = time.monotonic()
            outcomes = run_sessions(server.url, args.sessions, closers=(0, 1), timeout=110)
            elapsed = time.monotonic() - start
            stop.set()
            for w in watchers:
                w.join(30)
            peak = server.peak_rss()
        during = [t for o in outcomes for t in o.data_page_seconds]
        uploads = [o.upload_seconds for o in outcomes if o.upload_seconds is not None]
        counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "refused", "closed")}
        rows.append((idle, loaded, during, uploads, counts, elapsed, peak))

    print(f"Load benchmark, {date.today()}, {platform.machine()} with {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NMFCORE_MAX_FITS=2, {args.sessions} sessions "
          f"(2 leave mid-fit), {args.watchers} watchers rerunning the Data page\n")
    print("| run | Data page | renders | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k, (idle, loaded, during, uploads, _, _, _) in enumerate(rows, 1):
        print(f"| {k} | idle (watchers, before the load) | {len(idle)} | {_percentiles(idle)} |")
        print(f"| {k} | under load (watchers) | {len(loaded)} | {_percentiles(loaded)} |")
        print(f"| {k} | under load (the loading sessions' own) | {len(during)} | {_percentiles(during)} |")
        print(f"| {k} | upload parsed in a child process (the first starts its server) | {len(uploads)} | "
              f"{_percentiles(uploads)} |")
    print()
    print("| run | done | refused | left mid-fit | seconds | server peak RSS |")
    print("| --- | --- | --- | --- | --- | --- |")
    for k, (_, _, _, _, counts, elapsed, peak) in enumerate(rows, 1):
        print(f"| {k} | {counts['done']} | {counts['refused']} | {counts['closed']} | {elapsed:.1f} | "
              f"{peak / 2**20:.0f} MiB of {BUDGET / 2**20:.0f} |")


if __name__ == "__main__":
    main()
