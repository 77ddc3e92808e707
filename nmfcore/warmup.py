"""Compile the kernels of the default fits ahead of the first fit: ``python -m nmfcore.warmup``.

numba compiles a kernel the first time a process calls it with a new signature
(array dtypes, layouts), which costs seconds against a fit of a fraction of a
second; the compiled code then goes to the on-disk cache
(:mod:`nmfcore.utils.compile_cache`), and later processes load it. The warm-up
fills that cache by running every family the app offers, with its default
parameters for each kind of data, on small inputs of every storage the bundled
samples use (dense and sparse, float64 and float32, and dense data large enough
to be cut into blocks): each fit calls the same kernels with the same signatures
as on real data, in milliseconds of arithmetic. The classic NMF cases come first,
as the likeliest first fit. About 50 s of compiling on two cores, once; a second
run loads everything in a few seconds.

The cache is keyed by the kernels' source files, so the warm-up fills it for the
copy of nmfcore that it imports; run from a clone, ``python -m nmfcore.warmup`` also
warms an installed copy that differs from it (a non-editable ``pip install``).

A stamp file beside the cache records a complete warm-up (of which kernel sources,
numba and Python), so that :func:`start_in_background` (the app, at launch) starts
no compiler when the cache is already complete.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
KERNEL_MODULES = (
    "nmfcore.classic._kernels", "nmfcore.classic._mu_kernels", "nmfcore.classic._fastlog",
    "nmfcore.deep._kernels", "nmfcore.topology._kernels",
)

# (label, kind whose defaults the fit takes, sparse, dtype); the bundled samples first:
# faces (dense float64, β = 2), text (sparse float64, KL), hyperspectral (dense
# float32, KL), scrna (sparse float32, KL); then the other dtype of each
STORAGES = (
    ("images", "images", False, "float64"),
    ("text", "text", True, "float64"),
    ("hyperspectral", "hyperspectral", False, "float32"),
    ("scrna", "scrna", True, "float32"),
    ("images float32", "images", False, "float32"),
    ("text float32", "text", True, "float32"),
    ("hyperspectral float64", "hyperspectral", False, "float64"),
    ("scrna float64", "scrna", True, "float64"),
)
# short budgets: one or two iterations run every kernel of a fit
_BUDGET = {"max_iter": 2, "init_iter": 2}
_DENSITY = 0.3
TINY = (40, 36)
# Dense classic solvers cut X into row and column blocks, one per thread, once a pass
# is worth it (nmfcore.utils.parallel.block_count: m n r >= 2e6 flops); a block of
# columns is a strided view, which numba compiles apart. This shape makes every
# default rank (4 and up) split, on a machine with two threads or more.
BLOCKS = (1024, 640)


@dataclass(frozen=True)
class Case:
    """One warm-up fit: a family's defaults for a kind of data, on tiny data of one storage."""

    family: str
    label: str
    kind: str
    sparse: bool
    dtype: str
    shape: tuple[int, int] = TINY

    @property
    def name(self) -> str:
        size = "" if self.shape == TINY else f", {self.shape[0]} x {self.shape[1]} in blocks"
        return f"{self.family} on {self.label}{size}"


def cases(families: Sequence[str] | None = None) -> list[Case]:
    """The warm-up fits in the order they run: classic NMF on every storage, then the other families.

    Parameters
    ----------
    families : sequence of str, optional
        Names of :data:`nmfcore.models.APP_FAMILIES`; default all of them. Families
        that take dense data only (``dense_only`` in the registry) take the sparse
        storages densified, as the app gives them. Classic NMF also runs on dense data
        of shape :data:`BLOCKS`, whose passes are cut into blocks (deep NMF's start
        runs those solvers too).
    """
    from nmfcore.models import APP_FAMILIES, get

    chosen = list(APP_FAMILIES if families is None else families)
    out = []
    for family in chosen:
        entry = get(family)
        for label, kind, sparse, dtype in STORAGES:
            if sparse and entry.dense_only:  # the app densifies a sparse sample for these
                out.append(Case(family, f"{label} (dense)", kind, False, dtype))
            else:
                out.append(Case(family, label, kind, sparse, dtype))
        if family == "nmf":
            out += [Case(family, label, kind, sparse, dtype, BLOCKS)
                    for label, kind, sparse, dtype in STORAGES if not sparse]
    return out


def tiny_data(case: Case) -> Any:
    """A small positive matrix of the case's storage: CSR (int32 indices) or C-ordered dense."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    m, n = case.shape
    if case.sparse:
        X = sp.random(m, n, density=_DENSITY, format="csr", random_state=rng, dtype=case.dtype)
        X.data += 0.1
        return X
    return rng.random((m, n)).astype(case.dtype) + np.asarray(0.1, dtype=case.dtype)


def run_case(case: Case) -> None:
    """Fit ``case`` (its family's default parameters for its kind, short budgets)."""
    from nmfcore.app.presets import default_params
    from nmfcore.models import get

    X = tiny_data(case)
    params = default_params(case.kind, X.shape, case.family)
    params.update({k: v for k, v in _BUDGET.items() if k in params})
    get(case.family).fit(X, **params, random_state=0)


def kernels() -> Iterator[Any]:
    """Every numba kernel of nmfcore (the dispatchers of :data:`KERNEL_MODULES`)."""
    import importlib

    import numba

    for name in KERNEL_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, numba.core.registry.CPUDispatcher):
                yield value


def compile_counts() -> tuple[int, int]:
    """(signatures loaded from the cache, signatures compiled) by nmfcore's kernels in this process."""
    hits = misses = 0
    for dispatcher in kernels():
        hits += sum(dispatcher.stats.cache_hits.values())
        misses += sum(dispatcher.stats.cache_misses.values())
    return hits, misses


def fingerprint() -> str:
    """What a complete cache depends on: the kernels' and this module's sources (path and
    content, as numba keys its cache), numba and Python.

    The solvers that call the kernels are left out: an edit there rarely brings a new
    signature, and would otherwise start a warm-up after every edit.
    """
    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{_numba_version()}".encode())
    paths = [PACKAGE_DIR.parent.joinpath(*name.split(".")).with_suffix(".py") for name in KERNEL_MODULES]
    for path in paths + [Path(__file__).resolve()]:
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _numba_version() -> str:
    try:
        return metadata.version("numba")
    except metadata.PackageNotFoundError:
        return "none"


def stamp_path() -> Path | None:
    """Where the stamp of a complete warm-up goes: the cache folder of the classic kernels,
    under a name of this copy of nmfcore (a per-user folder serves every copy)."""
    from nmfcore.utils.compile_cache import locate

    root = locate(PACKAGE_DIR / "classic").root
    copy = hashlib.sha1(str(PACKAGE_DIR).encode()).hexdigest()[:12]
    return None if root is None else root / f"nmfcore-warmup-{copy}.json"


def is_warm() -> bool:
    """Whether a complete warm-up of this copy of nmfcore, numba and Python is recorded."""
    path = stamp_path()
    if path is None or not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("fingerprint") == fingerprint()
    except (OSError, ValueError):
        return False


def warm_up(families: Sequence[str] | None = None, *,
            report: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compile (or load from the cache) every kernel the default fits of ``families`` use.

    Parameters
    ----------
    families : sequence of str, optional
        Default: every family the app offers.
    report : callable, optional
        Called with one line per case.

    Returns
    -------
    dict
        ``seconds``, ``cases``, ``loaded`` and ``compiled`` (kernel signatures), and
        ``cache`` (where they are kept, from :func:`nmfcore.utils.compile_cache.location_of`).
    """
    start = time.perf_counter()
    todo = cases(families)
    for case in todo:
        before = time.perf_counter()
        run_case(case)
        if report is not None:
            report(f"{case.name}: {time.perf_counter() - before:.1f} s")
    loaded, compiled = compile_counts()
    from nmfcore.utils.compile_cache import location_of

    first = next(kernels(), None)  # none under NUMBA_DISABLE_JIT
    where = None if first is None else location_of(first)
    summary = {
        "seconds": time.perf_counter() - start, "cases": len(todo), "loaded": loaded,
        "compiled": compiled, "cache": "nowhere" if where is None else f"{where.root} ({where.source})",
    }
    if families is None:
        _write_stamp()
    return summary


def _write_stamp() -> None:
    path = stamp_path()
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # written whole, then renamed: a reader never sees half a stamp
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
            json.dump({"fingerprint": fingerprint(), "numba": _numba_version()}, handle)
        os.replace(handle.name, path)
    except OSError:
        pass


def installed_copy() -> Path | None:
    """The folder of the nmfcore that a plain ``python`` elsewhere imports, when it is not this one."""
    try:
        reply = subprocess.run(
            [sys.executable, "-I", "-c", "import nmfcore, os; print(os.path.dirname(nmfcore.__file__))"],
            cwd=tempfile.gettempdir(), capture_output=True, text=True, timeout=60, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    folder = reply.stdout.strip()
    if reply.returncode != 0 or not folder or Path(folder).resolve() == PACKAGE_DIR:
        return None
    return Path(folder)


def start_in_background() -> subprocess.Popen | None:
    """Fill the cache in a low-priority child process unless it is complete, once per process.

    A child, not a thread: numba's compiler holds the GIL, and a thread compiling
    would stall the app's server. The child imports this copy of nmfcore and runs at
    the lowest CPU priority (``nice 19``), so that it takes only the time the server
    leaves idle. ``NMFCORE_WARMUP=0`` turns it off (an image whose cache was filled
    when it was built, say). Later calls return what the first one did.

    Returns
    -------
    subprocess.Popen or None
        The child, or None when the cache was complete, the warm-up is turned off or
        no child could start.
    """
    with _BACKGROUND_LOCK:
        if "child" not in _BACKGROUND:
            warm = os.environ.get("NMFCORE_WARMUP", "1") == "0" or is_warm()
            _BACKGROUND["child"] = None if warm else _spawn_background()
        return _BACKGROUND["child"]


_BACKGROUND: dict[str, Any] = {}
_BACKGROUND_LOCK = threading.Lock()


def _spawn_background() -> subprocess.Popen | None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), env.get("PYTHONPATH")]))
    nice = shutil.which("nice")
    command = [sys.executable, "-m", "nmfcore.warmup", "--background", "--here"]
    try:
        child = subprocess.Popen(
            ([nice, "-n", "19"] if nice else []) + command, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
    except OSError:
        return None
    # reap the child when it ends (a thread that only waits costs nothing)
    threading.Thread(target=child.wait, name="nmfcore-warmup-reaper", daemon=True).start()
    return child


def preload(families: Sequence[str] = ("nmf",), *, after: subprocess.Popen | None = None) -> None:
    """Import what a first fit needs and, from a complete cache, load the kernels of ``families``.

    A fresh process pays for its first fit's imports (numba, SciPy's sparse module, the
    family's package; and pandas, which the pages' tables and figures import) and for
    loading each kernel signature from the cache. The app calls this in a
    background thread (:func:`preload_in_background`) once its first page is drawn,
    so that the first Run finds them done. Without a complete cache nothing is fitted
    (that would compile here, holding the GIL for seconds).

    Parameters
    ----------
    families : sequence of str
        Families of :data:`nmfcore.models.APP_FAMILIES` whose warm-up fits
        (:func:`cases`) run to load their kernels; every app family's package is
        imported either way.
    after : subprocess.Popen, optional
        A warm-up child (:func:`start_in_background`) to wait for, between the
        imports and the kernels, so that these load from the cache it fills.
    """
    # pandas comes with Streamlit's tables and plotly's figures on first use: imported here, once, it is
    # never imported by two sessions' threads at the same time (the second can see it half initialised)
    import pandas  # noqa: F401

    from nmfcore.models import APP_FAMILIES, get

    for family in APP_FAMILIES:
        get(family).fit  # noqa: B018  (imports the family's package and kernels)
    if after is not None:
        after.wait()
    if is_warm() and next(kernels(), None) is not None:  # none under NUMBA_DISABLE_JIT
        for case in cases(families):
            run_case(case)


def preload_in_background(delay: float = 0.0) -> threading.Thread:
    """Run :func:`preload` in a daemon thread, once per process, ``delay`` seconds from now.

    Its kernels wait for the warm-up child that :func:`start_in_background` started,
    if any. Later calls return the first call's thread.
    """
    with _BACKGROUND_LOCK:
        if "preload" not in _BACKGROUND:
            child = _BACKGROUND.get("child")
            thread = threading.Thread(target=_preload_quietly, args=(child, delay), name="nmfcore-preload",
                                      daemon=True)
            thread.start()
            _BACKGROUND["preload"] = thread
        return _BACKGROUND["preload"]


def _preload_quietly(child: subprocess.Popen | None, delay: float) -> None:
    time.sleep(delay)
    try:
        preload(after=child)
    except Exception:  # a first fit that fails the same way will say why, to its user
        logging.getLogger(__name__).exception("preloading the first fit's modules failed")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: warm this copy of nmfcore, then the installed one if it differs."""
    parser = argparse.ArgumentParser(prog="python -m nmfcore.warmup", description=__doc__.splitlines()[0])
    parser.add_argument("--families", help="comma-separated families (default: every family the app offers)")
    parser.add_argument("--background", action="store_true", help="run at the lowest CPU priority, quietly")
    parser.add_argument("--here", action="store_true", help="warm only the nmfcore this python imports")
    parser.add_argument("--quiet", action="store_true", help="print the summary line only")
    args = parser.parse_args(argv)
    if args.background and os.nice(0) < 19:
        os.nice(19 - os.nice(0))
    families = None if args.families is None else [f.strip() for f in args.families.split(",") if f.strip()]
    report = None if args.background or args.quiet else print
    summary = warm_up(families, report=report)
    if not args.background:
        print(f"nmfcore warm-up: {summary['cases']} fits in {summary['seconds']:.1f} s; "
              f"{summary['compiled']} kernel signatures compiled, {summary['loaded']} loaded from "
              f"the cache in {summary['cache']}")
    other = None if args.here else installed_copy()
    if other is not None:
        print(f"nmfcore warm-up: also warming the installed copy in {other}")
        command = [sys.executable, "-I", "-m", "nmfcore.warmup", "--here"]
        command += ["--families", args.families] if args.families else []
        command += ["--quiet"] if args.quiet else []
        return subprocess.run(command, cwd=tempfile.gettempdir(), check=False).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
