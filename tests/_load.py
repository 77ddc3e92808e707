"""Many sessions at once against the real app server: the scenario of the load test and benchmark.

:func:`app_server` starts ``streamlit run app.py`` on a free loopback port with the
given ``NMFCORE_*`` limits. :func:`run_sessions` drives N sessions, each in its own
thread over its own websocket (:mod:`_streamlit_client`): it uploads its own small
CSV (``session_07.csv``, a distinct shape), checks the Data page, and runs an NMF fit
with a distinct iteration count on the Model page, polling until the fit is done or a
refusal shows. Sessions listed in ``closers`` start a long fit and close their
websocket mid-fit; the server must cancel those fits by itself, or the slots they
hold would starve the others. Every loop is bounded by a deadline.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from _streamlit_client import StreamlitClient

ROOT = Path(__file__).resolve().parents[1]
UPLOAD_KEY = "data_upload_False"
_QUEUED = re.compile(r"Queued: position (\d+) of (\d+)\. (\d+) of the server's (\d+) fit slots")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss(pid: int) -> int:
    """Peak resident bytes of a process so far (Linux ``VmHWM``); 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    env: dict[str, str]
    log: Path

    def peak_rss(self) -> int:
        return peak_rss(self.process.pid)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of what the server wrote to stderr."""
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def app_server(limits: dict[str, str], timeout: float = 90.0) -> Iterator[Server]:
    """``streamlit run app.py`` on 127.0.0.1 with ``limits`` in its environment; stopped on exit."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **limits}
    # stderr to a file, not a pipe: an undrained pipe that fills would block the server
    log_file = tempfile.NamedTemporaryFile(prefix="nmfcore-load-", suffix=".log", delete=False)
    log = Path(log_file.name)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file,
    )
    log_file.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited early: {log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")
                time.sleep(0.3)
        yield Server(url, process, env, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.unlink(missing_ok=True)


def session_csv(index: int, big: bool = False) -> tuple[str, bytes, tuple[int, int]]:
    """A distinct non-negative matrix for session ``index``: (file name, CSV bytes, shape).

    Small (about 20 x 14) unless ``big`` (1000 x 500, a fit of minutes at 100 000 iterations).
    """
    shape = (1000 + index, 500) if big else (20 + index, 14 + index)
    X = np.random.default_rng(index).random(shape) + 0.01
    text = "\n".join(",".join(f"{v:.5f}" for v in row) for row in X)
    return f"session_{index:02d}.csv", text.encode(), shape


@dataclass
class Outcome:
    """What one session saw."""

    index: int
    name: str
    status: str = "unfinished"  # "done", "refused", "closed" (left mid-fit on purpose), "error"
    message: str = ""
    iterations: int | None = None
    queued_seen: list[tuple[int, int, int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # every text every page of the session showed
    data_page_seconds: list[float] = field(default_factory=list)  # runs of the Data page, not the upload's
    upload_seconds: float | None = None  # the run that parses the upload (in a child process)
    seconds: float = 0.0


def _session(url: str, index: int, max_iter: int, close_mid_fit: bool, deadline: float, outcome: Outcome,
             upload: tuple[str, bytes] | None = None) -> None:
    start = time.monotonic()
    client = StreamlitClient(url, timeout=max(5.0, deadline - time.monotonic()))

    def seen(page) -> None:
        outcome.texts.extend(page.texts())
        for match in _QUEUED.finditer(page.text()):
            outcome.queued_seen.append(tuple(int(g) for g in match.groups()))

    try:
        name, payload, _ = session_csv(index, big=close_mid_fit)
        if upload is not None:
            name, payload = upload
        seen(client.open())
        outcome.data_page_seconds.append(client.run_seconds[-1])
        page = client.upload(UPLOAD_KEY, name, payload)
        outcome.upload_seconds = client.run_seconds[-1]
        seen(page)
        if f"upload {name}" not in page.text():
            outcome.status, outcome.message = "refused", " | ".join(page.alerts()) or page.text()[-300:]
            return
        seen(client.open("Model"))
        client.set_number("nmf_rank", 2 + index % 3)
        client.set_number("nmf_iter", max_iter)
        client.set_number("nmf_tol", 0.0)
        client.set_number("seed", index)
        seen(client.rerun())
        page = client.click("run_fit")
        seen(page)
        if close_mid_fit:
            time.sleep(1.0)
            outcome.status = "closed"
            return
        while time.monotonic() < deadline:
            done = [a for a in page.alerts() if a.startswith(("Done:", "Stopped early"))]
            refused = [a for a in page.alerts(fmt=1)]  # st.error
            if done:
                outcome.status, outcome.message = "done", done[0]
                found = re.search(r"after (\d+) iterations", done[0])
                outcome.iterations = int(found.group(1)) if found else None
                break
            if refused:
                outcome.status, outcome.message = "refused", refused[0]
                break
            time.sleep(0.7)
            page = client.rerun()
            seen(page)
        # the Data page once more: it must still show this session's own data
        page = client.open("Data")
        outcome.data_page_seconds.append(client.run_seconds[-1])
        seen(page)
    except Exception as exc:  # reported, not raised: the test asserts on every outcome
        outcome.status, outcome.message = "error", f"{type(exc).__name__}: {exc}"
    finally:
        outcome.seconds = time.monotonic() - start
        client.close()


def run_sessions(url: str, n_sessions: int, *, closers: tuple[int, ...] = (), max_iter: int = 1500,
                 uploads: dict[int, tuple[str, bytes]] | None = None, timeout: float = 90.0,
                 stagger: float = 0.05) -> list[Outcome]:
    """Drive ``n_sessions`` concurrent sessions through upload and fit; returns what each saw.

    Session ``i`` fits ``max_iter + i`` iterations with ``tol=0`` (so its Done message
    names its own count); sessions in ``closers`` upload a big matrix, start a fit of
    100 000 iterations (minutes) and leave one second later; sessions in ``uploads``
    upload that ``(file name, bytes)`` instead of their CSV (a bad file, say).
    """
    uploads = uploads or {}
    deadline = time.monotonic() + timeout
    outcomes = [Outcome(i, uploads[i][0] if i in uploads else session_csv(i)[0]) for i in range(n_sessions)]
    threads = []
    for i in range(n_sessions):
        closing = i in closers
        thread = threading.Thread(
            target=_session, args=(url, i, 100_000 if closing else max_iter + i, closing, deadline, outcomes[i],
                                   uploads.get(i)),
            name=f"load-session-{i}", daemon=True)
        thread.start()
        threads.append(thread)
        time.sleep(stagger)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()) + 5)
    return outcomes


_SLOTS = re.compile(r"runs at most (\d+) fits at once: (\d+) running and (\d+) queued now")


def queue_load(url: str, timeout: float = 30.0, until_idle: bool = True) -> tuple[int, int, int]:
    """(fit slots, running, queued) as a new session's Model page reports them.

    With ``until_idle`` it reloads the page (bounded by ``timeout``) until nothing runs.
    """
    client = StreamlitClient(url, timeout=timeout)
    deadline = time.monotonic() + timeout
    try:
        client.open()
        client.click("sample_faces")
        page = client.open("Model")
        while True:
            found = _SLOTS.search(page.text())
            if found is None:
                raise AssertionError(f"no queue caption on the Model page: {page.texts()}")
            load = tuple(int(g) for g in found.groups())
            if not until_idle or load[1:] == (0, 0) or time.monotonic() > deadline:
                return load
            time.sleep(0.5)
            page = client.rerun()
    finally:
        client.close()
