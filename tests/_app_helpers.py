"""Helpers for the AppTest files: load a sample, run a fit from the Model page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120

# widget keys of the Model page that bound the work of each family, and small values for them
FAMILIES = {
    "NMF": ("nmf", {"nmf_iter": 30}),
    "Deep β-NMF": ("deep_nmf", {"deep_init_False": 10, "deep_iter_False": 10}),
    "Min-vol deep KL-NMF": ("deep_nmf", {"deep_init_True": 1, "deep_iter_True": 1}),
    "GNMF": ("gnmf", {"gnmf_iter": 20}),
    "pNMF": ("pnmf", {"pnmf_scales": 3, "pnmf_sweeps": 2}),
}
LAYER_MARKERS = {
    "images": None,
    "hyperspectral": "Abundance maps · ",
    "text": "Top words per factor · ",
    "scrna": "Top genes per factor · ",
}


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [s.value for s in at.subheader] + [c.value for c in at.caption]
    return "\n".join(map(str, parts))


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def load_sample_page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_exception(at)
    at.button(key=f"sample_{name}").click().run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    return at


def fit_from_model_page(at: AppTest, label: str, settings: dict) -> str:
    at.switch_page("pages/model.py").run()
    no_exception(at)
    at.radio(key="family").set_value(label).run()
    no_exception(at)
    for key, value in settings.items():
        at.number_input(key=key).set_value(value)
    at.run()
    assert any("Estimate before running" in i.value for i in at.info)
    before = set(at.session_state["results"])
    at.button(key="run_fit").click().run()
    no_exception(at)
    job = at.session_state["job"]
    assert job.wait(TIMEOUT) is not None, job.progress().error
    at.run()
    no_exception(at)
    new = set(at.session_state["results"]) - before
    assert len(new) == 1, [e.value for e in at.error]
    return new.pop()


