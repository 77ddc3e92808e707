"""Time from pressing Run (NMF, default parameters) to the result in the app, per bundled sample.

Drives the real pages with Streamlit's AppTest, and prints a markdown table with the
estimate the Model page showed beside the measured time. Run from the repository
root: ``python benchmarks/bench_app.py``.
"""

from __future__ import annotations

import platform
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

import nmfcore  # noqa: E402

APP = str(ROOT / "app.py")


def time_first_result(sample: str) -> tuple[str, float, str, tuple[int, int]]:
    """Load ``sample`` on the Data page, press Run on the Model page, wait for the result."""
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.button(key=f"sample_{sample}").click().run()
    at.switch_page("pages/model.py").run()
    estimate = next(i.value for i in at.info if "Estimate" in i.value)
    start = time.perf_counter()
    at.button(key="run_fit").click().run()
    while not at.session_state["results"]:
        time.sleep(0.05)
        at.run()
    elapsed = time.perf_counter() - start
    result = next(iter(at.session_state["results"].values()))
    return f"r={result.rank}, β={result.params['beta']:g}, {result.n_iter} it", elapsed, estimate, at.session_state["dataset"].shape


def main() -> None:
    print(f"App benchmark, {date.today()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}\n")
    print("| sample | shape (m x n) | fit | Run → result (s) | estimate shown |")
    print("| --- | --- | --- | --- | --- |")
    for sample in nmfcore.samples():
        fit, seconds, estimate, shape = time_first_result(sample)
        shown = estimate.split(": ", 1)[1]
        print(f"| {sample} | {shape[0]} x {shape[1]} | {fit} | {seconds:.2f} | {shown} |")


if __name__ == "__main__":
    main()
