"""Cold start: the warm-up compiles every kernel the default fits use, importing nmfcore and
loading a sample load nothing heavy, and the app starts the warm-up in the background, once,
without waiting for it.

Timings are the benchmark's business (``benchmarks/bench_cold.py``); these tests check
behaviour: cache misses after the warm-up, modules imported, processes started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nmfcore import warmup

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sklearn", "scanpy", "anndata", "plotly", "ripser", "pandas")


def _child(code: str, env: dict[str, str], *args: str, timeout: float = 900) -> dict:
    """Run ``code`` with ``args`` in a fresh interpreter on this checkout; its last stdout line is JSON."""
    reply = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=timeout)
    assert reply.returncode == 0, reply.stderr[-3000:]
    return json.loads(reply.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def warm_env(tmp_path_factory):
    """The environment of processes that share a cache which ``python -m nmfcore.warmup`` filled."""
    cache = tmp_path_factory.mktemp("numba-cache")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), "NMFCORE_WARMUP": "0"}
    reply = subprocess.run([sys.executable, "-m", "nmfcore.warmup", "--here"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert reply.returncode == 0, reply.stderr[-3000:]
    assert "kernel signatures compiled" in reply.stdout
    return env


_FITS = """
import json, sys
import numpy as np
import nmfcore
from nmfcore.app.presets import default_params
from nmfcore.models import get
from nmfcore.warmup import compile_counts

families = sys.argv[1].split(",")
out = {}
for name in nmfcore.samples():
    ds = nmfcore.load_sample(name)
    for family in families:
        before = compile_counts()
        if family == "script":  # the issue's calls: rank 10, KL except on faces
            nmfcore.nmf(ds.X, 10, beta=2 if name == "faces" else "kl", max_iter=3, random_state=0)
        else:
            entry = get(family)
            X = ds.X.toarray() if entry.dense_only and not isinstance(ds.X, np.ndarray) else ds.X
            params = default_params(ds.kind, X.shape, family, n_endmembers=ds.meta.get("n_endmembers"))
            params.update({k: 1 for k in ("max_iter", "init_iter") if k in params})
            entry.fit(X, **params, random_state=0)
        after = compile_counts()
        out[f"{family} on {name}"] = [after[0] - before[0], after[1] - before[1]]
print(json.dumps(out))
"""


def _fit_counts(families: str, env: dict[str, str]) -> dict[str, list[int]]:
    return _child(_FITS, env, families)


def test_after_the_warm_up_no_default_nmf_fit_of_a_sample_compiles(warm_env):
    counts = _fit_counts("script,nmf", warm_env)
    assert len(counts) == 2 * 4
    compiled = {fit: misses for fit, (hits, misses) in counts.items() if misses}
    assert not compiled, f"kernels compiled after the warm-up: {compiled}"
    assert sum(hits for hits, _ in counts.values()) > 0  # loaded from the cache


def test_after_the_warm_up_no_fit_of_the_apps_other_families_compiles(warm_env):
    counts = _fit_counts("deep_nmf,min_vol_deep_nmf,gnmf,pnmf", warm_env)
    compiled = {fit: misses for fit, (hits, misses) in counts.items() if misses}
    assert not compiled, f"kernels compiled after the warm-up: {compiled}"


def test_the_warm_up_records_a_complete_cache_so_the_app_starts_no_compiler(warm_env):
    state = _child("import json; from nmfcore import warmup; "
                   "print(json.dumps([warmup.is_warm(), warmup.start_in_background() is None]))",
                   {**warm_env, "NMFCORE_WARMUP": "1"})
    assert state == [True, True]


def test_a_second_warm_up_loads_everything_and_compiles_nothing(warm_env):
    reply = subprocess.run([sys.executable, "-m", "nmfcore.warmup", "--here", "--families", "nmf"],
                           cwd=ROOT, env=warm_env, capture_output=True, text=True, timeout=900)
    assert reply.returncode == 0, reply.stderr[-3000:]
    assert " 0 kernel signatures compiled" in reply.stdout


def test_import_and_a_first_fit_load_no_heavy_module(warm_env):
    loaded = _child(
        "import json, sys\n"
        "def heavy():\n"
        f"    return sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "import nmfcore\n"
        "after_import = sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'scipy', 'numpy') + "
        f"{HEAVY!r})\n"
        "data = [nmfcore.load_sample(name).X for name in ('faces', 'text')]\n"
        "after_load = heavy()\n"
        "for X in data:\n"
        "    nmfcore.nmf(X, 3, beta='kl', max_iter=2, random_state=0)\n"
        "print(json.dumps([after_import, after_load, heavy()]))",
        warm_env)
    after_import, after_load, after_fits = loaded
    assert after_import == []
    assert after_load == []  # scikit-learn's text module only vectorises raw documents
    # NNDSVD's randomized SVD is NumPy's QR and SVD: a first fit imports none of them (scikit-learn,
    # which it used to import for its randomized_svd, brought pandas and SciPy's statistics)
    assert after_fits == []


# what the first page must not wait for: compiled kernels, scikit-learn, SciPy's solvers, the readers
FIRST_PAGE_HEAVY = ("numba", "sklearn", "scipy.sparse.linalg", "scipy.optimize", "plotly", "dask", "anndata",
                    "scanpy", "pandas", "ripser", "nmfcore.classic", "nmfcore.deep", "nmfcore.topology",
                    "nmfcore.judge")

_NEW_HEAVY = f"""
import json, sys
def new_heavy(before):
    return sorted({{m for m in set(sys.modules) - before
                   if any(m == h or m.startswith(h + ".") for h in {FIRST_PAGE_HEAVY!r})}})
"""


def test_the_app_supports_first_imports_and_the_registry_load_no_heavy_module():
    loaded = _child(
        _NEW_HEAVY
        + "before = set(sys.modules)\n"
        "import nmfcore.app, nmfcore.app.text, nmfcore.app.jobs, nmfcore.app.queue, nmfcore.app.limits\n"
        "import nmfcore.app.presets, nmfcore.app.sources, nmfcore.data, nmfcore.warmup\n"
        "from nmfcore.models import APP_FAMILIES, get\n"
        "from nmfcore.app.presets import default_params\n"
        "labels = [get(name).label for name in APP_FAMILIES]\n"
        "params = [default_params('images', (100, 50), name) for name in APP_FAMILIES]\n"
        "print(json.dumps(new_heavy(before)))",
        {**os.environ, "PYTHONPATH": str(ROOT)})
    assert loaded == []


def test_the_apps_session_and_server_modules_add_no_heavy_module_to_streamlits():
    # Streamlit's server has imported itself (and plotly) before the first page runs
    loaded = _child(
        _NEW_HEAVY
        + "import streamlit, streamlit.runtime.scriptrunner\n"
        "before = set(sys.modules)\n"
        "from pages import _server, _state\n"
        "import nmfcore.app.text, nmfcore.app.views, nmfcore.warmup\n"
        "print(json.dumps(new_heavy(before)))",
        {**os.environ, "PYTHONPATH": str(ROOT)})
    assert loaded == []


def test_a_registry_entry_imports_its_family_when_its_fit_is_asked_for():
    loaded = _child(
        "import json, sys\n"
        "from nmfcore.models import get\n"
        "before = 'nmfcore.deep' in sys.modules\n"
        "fit = get('deep_nmf').fit\n"
        "import nmfcore.deep\n"
        "print(json.dumps([before, fit is nmfcore.deep.deep_nmf, 'nmfcore.topology' in sys.modules]))",
        {**os.environ, "PYTHONPATH": str(ROOT)})
    assert loaded == [False, True, False]


# -- the app's background warm-up ------------------------------------------------------


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads niceness from /proc")
def test_start_in_background_starts_one_low_priority_child_when_the_cache_is_cold(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("NMFCORE_WARMUP", raising=False)
    monkeypatch.setattr(warmup, "_BACKGROUND", {})
    assert not warmup.is_warm()
    child = warmup.start_in_background()
    assert child is not None
    try:
        assert warmup.start_in_background() is child  # once per process
        assert child.args[-3:] == ["nmfcore.warmup", "--background", "--here"]
        deadline = time.monotonic() + 10
        while _niceness(child.pid) != 19 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _niceness(child.pid) == 19
        assert child.poll() is None  # the caller did not wait for it
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(30)


def test_start_in_background_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("NMFCORE_WARMUP", "0")
    monkeypatch.setattr(warmup, "_BACKGROUND", {})
    assert warmup.start_in_background() is None


def test_the_app_starts_the_warm_up_once_per_server(monkeypatch):
    from streamlit.testing.v1 import AppTest

    spawned = []
    monkeypatch.delenv("NMFCORE_WARMUP", raising=False)
    monkeypatch.setattr(warmup, "_BACKGROUND", {})
    monkeypatch.setattr(warmup, "is_warm", lambda: False)
    monkeypatch.setattr(warmup, "_spawn_background", lambda: spawned.append(1) or None)
    monkeypatch.setattr(warmup, "preload", lambda families=("nmf",), after=None: None)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    at.run()
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()  # a second session
    assert spawned == [1]


def test_the_app_preloads_a_first_fit_once_per_server_after_its_first_page(monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    for thread in threading.enumerate():  # an earlier test's app may have started one
        if thread.name == "nmfcore-preload":
            thread.join(60)
    preloads, page_drawn = [], []
    monkeypatch.setenv("NMFCORE_WARMUP", "0")
    monkeypatch.setattr(warmup, "_BACKGROUND", {})
    monkeypatch.setattr(warmup, "preload", lambda families=("nmf",), after=None: preloads.append(after))
    start = warmup.preload_in_background

    def recorded(delay=0.0):
        page_drawn.append("several" in st.session_state)  # a widget of the Data page
        return start(delay)

    monkeypatch.setattr(warmup, "preload_in_background", recorded)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    at.run()
    second = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()  # a second session
    assert not second.exception
    warmup._BACKGROUND["preload"].join(30)
    assert page_drawn and all(page_drawn)
    assert preloads == [None]  # once per server; no warm-up child to wait for


def test_preload_imports_a_first_fits_modules_and_loads_its_kernels_from_a_warm_cache(warm_env):
    state = _child(
        "import json, sys\n"
        "from nmfcore import warmup\n"
        "warmup.preload()\n"
        "hits, misses = warmup.compile_counts()\n"
        "import nmfcore\n"
        "nmfcore.nmf(nmfcore.load_sample('faces').X, 10, max_iter=2, random_state=0)\n"
        "print(json.dumps([hits, misses, 'nmfcore.classic.fit' in sys.modules, "
        "warmup.compile_counts()[1]]))",
        warm_env)
    hits, misses, family_loaded, misses_after_fit = state
    assert hits > 0 and misses == 0 and family_loaded
    assert misses_after_fit == 0


def test_preload_compiles_nothing_from_an_empty_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "empty"), "PYTHONPATH": str(ROOT)}
    state = _child("import json, sys\nfrom nmfcore import warmup\nwarmup.preload()\n"
                   "print(json.dumps([list(warmup.compile_counts()), 'nmfcore.classic.fit' in sys.modules]))",
                   env)
    assert state == [[0, 0], True]
