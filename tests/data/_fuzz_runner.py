"""Run ``nmfcore.load`` on many files in child processes, each case under a hard memory
limit and a time limit, so that a crash, a hang or an oversized allocation fails that
case (named by format and seed) instead of the test run.

The parent (:func:`run_cases`) keeps ``workers`` children busy; each child (this file run
as a script) loads cases one after another. Before each case the child sets
``RLIMIT_AS`` to its current address space plus ``max_bytes``, so any allocation beyond
the loader's own limit raises MemoryError (or kills the child) even where the machine
could have served it, and records the case's peak resident memory above its start.
A child that dies or overruns is replaced and the next case goes on.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

REPO = Path(__file__).resolve().parents[2]
#: One thread everywhere: a new thread's stack and malloc arena would count against the
#: address-space limit of the case that happens to start it.
_CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "1", "PYTHONWARNINGS": "ignore"}


@dataclass
class Outcome:
    """How one case ended.

    Attributes
    ----------
    result : str
        "dataset", "dataerror", "error" (another exception), "memory" (MemoryError),
        "crash" (the child died) or "timeout".
    detail : str
        The Dataset's summary, the message, or the traceback / signal.
    seconds : float
    peak : int
        Peak resident memory during the case, above the child's memory before it (bytes).
    """

    result: str
    detail: str
    seconds: float
    peak: int


# ---------------------------------------------------------------- child

def _status(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _run_one(request: dict[str, Any], max_bytes: int, limit: bool) -> dict[str, Any]:
    import gc
    import resource
    import traceback

    from nmfcore.data import DataError, load

    gc.collect()
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (_status("VmSize") + max_bytes, hard))
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets the peak resident size (VmHWM) to the current one
    before = _status("VmRSS")
    start = time.perf_counter()
    try:
        dataset = load(request["paths"], max_bytes=max_bytes, **request["options"])
        dataset.check()
        result, detail = "dataset", dataset.summary()
        del dataset
    except DataError as exc:
        result, detail = "dataerror", str(exc)
    except MemoryError as exc:
        result, detail = "memory", f"MemoryError: {exc}\n{traceback.format_exc()[-3000:]}"
    except BaseException as exc:  # noqa: BLE001 - the harness reports every other outcome
        result, detail = "error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}"
    finally:
        seconds = time.perf_counter() - start
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    return {"result": result, "detail": detail, "seconds": seconds,
            "peak": max(_status("VmHWM") - before, 0)}


def serve() -> None:
    """Child main loop: a JSON header line (max_bytes, warm-up cases), then one case per line."""
    protocol: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to the log, not into the protocol
    import warnings

    warnings.simplefilter("ignore")
    header = json.loads(sys.stdin.readline())
    max_bytes = header["max_bytes"]
    # load every valid file once, unlimited, so that lazy imports and caches are in place
    warm = [_run_one(request, max_bytes, limit=False) for request in header["warmup"]]
    import gc

    gc.collect()
    gc.freeze()  # the libraries' objects: later collections scan only what the cases made
    protocol.write(json.dumps({"ready": True, "warmup": warm}) + "\n")
    for line in sys.stdin:
        protocol.write(json.dumps(_run_one(json.loads(line), max_bytes, limit=True)) + "\n")


# ---------------------------------------------------------------- parent

class _Child:
    def __init__(self, header: dict[str, Any], log: Path, start_timeout: float):
        self.log_path = log
        env = {**os.environ, **_CHILD_ENV, "PYTHONPATH": str(REPO)}
        env.pop("NMFCORE_MAX_BYTES", None)
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve"], cwd=REPO, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.open("ab"), text=True, bufsize=1)
        self.process.stdin.write(json.dumps(header) + "\n")
        ready, _, _ = select.select([self.process.stdout], [], [], start_timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.kill()
            raise RuntimeError(f"the fuzz child did not start; its log:\n{self.log_tail()}")
        self.warmup = [Outcome(**w) for w in json.loads(line)["warmup"]]
        self.current: int | None = None
        self.started = 0.0

    def send(self, index: int, request: dict[str, Any]) -> None:
        self.current, self.started = index, time.monotonic()
        self.process.stdin.write(json.dumps(request) + "\n")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-1500:]

    def ended(self) -> str:
        code = self.process.wait()
        how = f"signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"exit status {code}"
        return f"the child process ended with {how}; its log ends:\n{self.log_tail()}"


def run_cases(requests: list[dict[str, Any]], *, warmup: list[dict[str, Any]], max_bytes: int,
              timeout: float = 10.0, workers: int = 2, log_dir: Path,
              start_timeout: float = 300.0) -> tuple[list[Outcome], list[Outcome]]:
    """Load every request (``{"paths": ..., "options": {...}}``) in child processes.

    Parameters
    ----------
    requests : list of dict
        The cases.
    warmup : list of dict
        Valid files each child loads once, without limits, before the cases.
    max_bytes : int
        Passed to ``load`` and added to the child's address space as its hard limit.
    timeout : float
        Seconds a case may run before its child is killed.
    workers : int
        Children run at the same time.
    log_dir : Path
        Where the children's stderr goes.

    Returns
    -------
    outcomes : list of Outcome
        One per request, in order.
    warmup_outcomes : list of Outcome
        How the first child loaded the warm-up files.
    """
    header = {"max_bytes": max_bytes, "warmup": warmup}
    log_dir.mkdir(parents=True, exist_ok=True)
    spawned = 0

    def spawn() -> _Child:
        nonlocal spawned
        spawned += 1
        child = _Child(header, log_dir / f"child{spawned}.log", start_timeout)
        for other in pool:  # their cases ran on while this one started: time them from now
            other.started = max(other.started, time.monotonic())
        return child

    pool: list[_Child] = []
    for _ in range(max(1, min(workers, len(requests)))):
        pool.append(spawn())
    warmup_outcomes = pool[0].warmup
    outcomes: list[Outcome | None] = [None] * len(requests)
    pending = deque(range(len(requests)))
    try:
        while pending or any(c.current is not None for c in pool):
            for child in pool:
                if child.current is None and pending:
                    index = pending.popleft()
                    child.send(index, requests[index])
            busy = {c.process.stdout: c for c in pool if c.current is not None}
            ready, _, _ = select.select(list(busy), [], [], 0.2)
            for stream in ready:
                child = busy[stream]
                line = stream.readline()
                index, child.current = child.current, None
                if line:
                    outcomes[index] = Outcome(**json.loads(line))
                    continue
                outcomes[index] = Outcome("crash", child.ended(), time.monotonic() - child.started, 0)
                pool[pool.index(child)] = spawn()
            for k, child in enumerate(pool):
                if child.current is not None and time.monotonic() - child.started > timeout:
                    child.kill()
                    outcomes[child.current] = Outcome("timeout", f"still running after {timeout:g} s",
                                                      timeout, 0)
                    pool[k] = spawn()
    finally:
        for child in pool:
            child.process.stdin.close()
            child.kill()
    return [o for o in outcomes if o is not None], warmup_outcomes


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
