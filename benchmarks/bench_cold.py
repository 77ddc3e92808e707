"""Cold start: the first call of each kind in a fresh process, from a fresh copy with empty caches.

Copies the working tree (tracked and untracked files that git does not ignore: no
``__pycache__``, so neither Python's bytecode nor numba's compiled kernels) to a
temporary folder and times, each in a fresh process run in that copy:

- ``import nmfcore``;
- the first ``nmf`` on the faces (rank 10), text (KL) and scrna (KL) samples;
- the warm-up itself (``python -m nmfcore.warmup``);
- the app: server up (``/_stcore/health`` answers) → the Data page's upload box in
  headless Chromium (with the server's CPU seconds meanwhile, which a busy machine
  disturbs less than the wall clock), beside the same measurement on a one-widget
  Streamlit page (Streamlit's and the browser's share), and Run (faces, the Model
  page's defaults) → the result listed.

Columns: *empty compile cache* (the copy as cloned; the caches are emptied before
each measurement), *after the warm-up* (a fresh process after ``python -m
nmfcore.warmup``, the README's install step) and *warm* (best of three more calls
in the same process; for imports, of three more fresh processes; for the app, a
second Run with rank r − 1 in the same session; the paints after the warm-up are the
median of ``--repeat`` fresh servers, each followed by the reference's). With an empty
cache the app starts the warm-up in the background at its first page, and the Run is
pressed at once, so the fit races it; after the warm-up the app preloads a first
fit's modules and kernels once its first page is drawn (:func:`nmfcore.warmup.preload`),
and the Run, pressed as soon as the Model page shows, may find that still under way.

Run from the repository root: ``python benchmarks/bench_cold.py``. The app rows need
``chromium`` and ``chromedriver`` (scripts/install_test_deps.sh); without them they
are left out. On a shared machine the figures are noisy: the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = (("faces", "rank 10", "2"), ("text", "KL", "'kl'"), ("scrna", "KL", "'kl'"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

_IMPORT = """
import json, time
start = time.perf_counter()
import nmfcore
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

_FIT = """
import json, sys, time
start = time.perf_counter()
import nmfcore
imported = time.perf_counter()
X = nmfcore.load_sample(sys.argv[1]).X
loaded = time.perf_counter()
def fit():
    before = time.perf_counter()
    nmfcore.nmf(X, 10, beta=BETA, random_state=0)
    return time.perf_counter() - before
first = fit()
warm = min(fit() for _ in range(3))
print(json.dumps({"import": imported - start, "load": loaded - imported, "first": first, "warm": warm}))
"""


def fresh_copy(dest: Path) -> Path:
    """The working tree's files that git tracks or would track, copied to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def empty_caches(copy: Path) -> None:
    """Remove Python's and numba's caches from the copy (numba keeps nmfcore's in ``__pycache__``)."""
    for folder in list(copy.rglob("__pycache__")):
        shutil.rmtree(folder, ignore_errors=True)


def environment(copy: Path, scratch: Path) -> dict[str, str]:
    """Children import the copy and keep every cache in it or in ``scratch``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH", "NMFCORE_WARMUP")}
    env.update(PYTHONPATH=str(copy), XDG_CACHE_HOME=str(scratch / "xdg"))
    return env


def child(code: str, copy: Path, env: dict[str, str], *args: str) -> dict:
    reply = subprocess.run([sys.executable, "-c", code, *args], cwd=copy, env=env, capture_output=True,
                           text=True, timeout=1800)
    if reply.returncode:
        raise RuntimeError(reply.stderr[-2000:])
    return json.loads(reply.stdout.strip().splitlines()[-1])


def warm_up(copy: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nmfcore.warmup", "--here", "--quiet"], cwd=copy, env=env,
                   check=True, timeout=3600, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def fits(copy: Path, env: dict[str, str], cold: bool) -> dict[str, dict]:
    out = {}
    for name, _, beta in SAMPLES:
        if cold:
            empty_caches(copy)
        out[name] = child(_FIT.replace("BETA", beta), copy, env, name)
    return out


# -- the app in headless Chromium ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--window-size=1500,1700"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise TimeoutError(f"{what} did not happen within {timeout} s")


def _body(driver) -> str:
    from selenium.common.exceptions import WebDriverException

    try:
        return driver.find_element("tag name", "body").text
    except WebDriverException:  # the page replaced the element meanwhile
        return ""


def _click(driver, text: str) -> None:
    from selenium.common.exceptions import WebDriverException

    def press():
        try:
            for button in driver.find_elements("css selector", "button"):
                if button.text.strip().endswith(text) and button.is_enabled():
                    button.click()
                    return True
        except WebDriverException:
            return False
        return False

    _wait(press, 60, f"a click on {text!r}")


def _nav(driver, title: str) -> None:
    def go():
        for link in driver.find_elements("css selector", '[data-testid="stSidebarNavLink"]'):
            if link.text.strip().endswith(title):
                link.click()
                return True
        return False

    _wait(go, 60, f"the {title} page")


def _stop_background_warm_ups(copy: Path) -> None:
    """End the warm-up children an app server of this copy started (they outlive the server)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if b"nmfcore.warmup" in command and f"PYTHONPATH={copy}".encode() in environ:
            try:
                os.kill(int(proc.name), signal.SIGTERM)
            except OSError:
                pass


def _serve(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` in ``folder``, once its health check answers."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats",
         "false", "--server.fileWatcherType", "none"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def healthy():
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                return reply.read().strip() == b"ok"
        except OSError:
            return False

    _wait(healthy, 120, "the server's health check")
    return server, url


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far; None where /proc does not say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _paint(driver, url: str, server: subprocess.Popen) -> tuple[float, float | None]:
    """Navigation → the upload box is in the page: seconds, and the server's CPU seconds meanwhile
    (what the page's script cost, less sensitive than the wall clock to a busy machine)."""
    cpu = _cpu_seconds(server.pid)
    start = time.perf_counter()
    driver.get(url)
    _wait(lambda: driver.find_elements("css selector", 'input[type="file"]'), 120, "the upload box")
    seconds = time.perf_counter() - start
    after = _cpu_seconds(server.pid)
    return seconds, None if cpu is None or after is None else after - cpu


def paint_only(folder: Path, env: dict[str, str]) -> tuple[float, float | None]:
    """A fresh server of the app in ``folder`` and a fresh browser: the first page's paint."""
    driver = _browser()
    server, url = _serve(folder, env)
    try:
        return _paint(driver, url, server)
    finally:
        driver.quit()
        _stop(server)
        _stop_background_warm_ups(folder)


def one_widget_page(scratch: Path) -> Path:
    """A page of one title and one upload box: Streamlit's and the browser's share of a paint."""
    folder = scratch / "one-widget"
    folder.mkdir(exist_ok=True)
    (folder / "app.py").write_text('import streamlit as st\nst.title("Data")\nst.file_uploader("Upload")\n')
    return folder


def app(copy: Path, env: dict[str, str]) -> dict[str, Any]:
    """Server up → upload box, and Run → result twice (defaults, then rank r − 1), in one session."""
    driver = _browser()
    server, url = _serve(copy, env)
    try:
        paint = _paint(driver, url, server)
        _click(driver, "Faces")
        _wait(lambda: "Current data: Faces" in _body(driver), 120, "the faces sample")
        _nav(driver, "Model")
        _wait(lambda: "Defaults for images data" in _body(driver), 120, "the Model page")
        runs = []
        for kept in (1, 2):
            if kept == 2:
                from selenium.webdriver.common.keys import Keys

                field = driver.find_element("css selector", 'input[aria-label="Rank r"]')
                rank = int(field.get_attribute("value"))
                field.send_keys(Keys.CONTROL, "a")
                field.send_keys(str(rank - 1), Keys.ENTER)
                time.sleep(1.5)  # the rerun that takes the new rank
            _wait(lambda: "Results kept: " in _body(driver), 60, "the page")
            start = time.perf_counter()
            _click(driver, "Run")
            _wait(lambda: f"Results kept: {kept}" in _body(driver), 600, "the result")
            runs.append(time.perf_counter() - start)
        return {"paint": paint, "run_first": runs[0], "run_warm": runs[1]}
    finally:
        driver.quit()
        _stop(server)
        _stop_background_warm_ups(copy)


# -- the table -----------------------------------------------------------------------


def _median(paints: list[tuple[float, float | None]]) -> tuple[float, float | None]:
    return sorted(paints, key=lambda paint: paint[0])[len(paints) // 2]


def _paint_cell(paint: tuple[float, float | None]) -> str:
    seconds, cpu = paint
    return f"{seconds:.2f} s" + ("" if cpu is None else f" (server CPU {cpu:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-app", action="store_true", help="leave out the app rows")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh servers whose paints after the warm-up give the median (default 3)")
    args = parser.parse_args()
    with_app = not args.no_app and CHROMIUM is not None and CHROMEDRIVER is not None
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="nmfcore-cold-") as scratch:
        scratch = Path(scratch)
        copy = fresh_copy(scratch / "repo")
        env = environment(copy, scratch)

        empty_caches(copy)
        import_cold = child(_IMPORT, copy, env)["seconds"]
        cold = fits(copy, env, cold=True)
        app_cold = None
        if with_app:
            empty_caches(copy)
            app_cold = app(copy, env)

        empty_caches(copy)
        warm_up_cold = warm_up(copy, env)
        warm_up_again = warm_up(copy, env)
        import_after = child(_IMPORT, copy, env)["seconds"]
        import_warm = min(child(_IMPORT, copy, env)["seconds"] for _ in range(3))
        after = fits(copy, env, cold=False)
        app_after = app(copy, env) if with_app else None
        paints, references = [], []
        for _ in range(args.repeat if with_app else 0):  # interleaved: both see the same load
            paints.append(paint_only(copy, env))
            references.append(paint_only(one_widget_page(scratch), env))
    load_end = os.getloadavg()[0]

    print(f"Cold start, {date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; load average {load:.1f} at the start, {load_end:.1f} at the end\n")
    print("| first call in a fresh process | empty compile cache | after the warm-up | warm |")
    print("| --- | --- | --- | --- |")
    print(f"| `import nmfcore` | {import_cold * 1e3:.0f} ms | {import_after * 1e3:.0f} ms | "
          f"{import_warm * 1e3:.0f} ms |")
    for name, what, _ in SAMPLES:
        print(f"| `nmf` on the {name} sample ({what}) | {cold[name]['first']:.2f} s | "
              f"{after[name]['first']:.2f} s | {after[name]['warm']:.2f} s |")
    print(f"| `python -m nmfcore.warmup` | {warm_up_cold:.1f} s | {warm_up_again:.1f} s (all loaded) | – |")
    if with_app:
        print(f"| app: server up → the Data page's upload box | {_paint_cell(app_cold['paint'])} | "
              f"{_paint_cell(_median(paints))} | – |")
        print(f"| app: Run → result (faces, defaults) | {app_cold['run_first']:.2f} s | "
              f"{app_after['run_first']:.2f} s | {app_after['run_warm']:.2f} s |")
        print(f"| reference: a one-widget Streamlit page, server up → upload box | – | "
              f"{_paint_cell(_median(references))} | – |")
        print(f"\nPaints after the warm-up: median of {args.repeat} fresh servers, each followed by the reference's "
              f"(app: {', '.join(f'{t:.2f}' for t, _ in paints)} s; reference: "
              f"{', '.join(f'{t:.2f}' for t, _ in references)} s); server CPU: the server process's CPU time "
              "from navigation to the upload box.")
    else:
        print("\n(app rows left out: no chromium/chromedriver, or --no-app)")
    print("\nLoading the samples in those processes: "
          + ", ".join(f"{name} {after[name]['load']:.2f} s" for name, _, _ in SAMPLES) + ".")


if __name__ == "__main__":
    main()
