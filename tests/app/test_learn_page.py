"""AppTest of the Learn and Rank & compare pages: each lesson renders, and its widgets change its output."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

PAGES = Path(__file__).resolve().parents[2] / "pages"
LESSONS = (
    "1 · What NMF is",
    "2 · Geometry",
    "3 · Losses and noise",
    "4 · Algorithms",
    "5 · Deep NMF",
    "6 · Persistent homology and pNMF",
)
# (lesson, widget kind, key, new value, metric label whose value must change)
CHANGES = [
    (0, "slider", "l1_rank", 3, "relative error ‖X − WH‖ / ‖X‖"),
    (0, "slider", "l1_faces_rank", 4, "negative pixels in the PCA components"),
    (1, "radio", "l2_method", "SPA", "true vertices found by SPA"),
    (1, "slider", "l2_seeds", 4, "mean angle to the first run's factors"),
    (2, "radio", "l3_noise", "gamma", "log-log slope of variance vs mean"),
    (3, "slider", "l4_iter", 40, "final loss, MU / HALS"),
    (3, "slider", "l4_zero_iter", 5, "entry after the last iteration, MU / HALS"),
    (4, "slider", "l5_r2", 2, "layer-2 error, deep / multilayer"),
    (5, "slider", "l6_eps", 0.0, "connected components at ε"),
]


def _lesson(index):
    at = AppTest.from_file(str(PAGES / "learn.py"), default_timeout=60)
    at.run()
    at.radio(key="lesson").set_value(LESSONS[index]).run()
    return at


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def _charts(at):
    return [element.proto.spec for element in at.get("plotly_chart")]


@pytest.mark.parametrize("index", range(len(LESSONS)))
def test_each_lesson_renders(index):
    at = _lesson(index)
    assert not at.exception
    assert at.metric, "every lesson shows at least one number"
    assert at.get("plotly_chart")


@pytest.mark.parametrize("index, kind, key, value, label", CHANGES)
def test_widgets_change_the_lesson_output(index, kind, key, value, label):
    at = _lesson(index)
    before_metrics, before_charts = _metrics(at), _charts(at)
    getattr(at, kind)(key=key).set_value(value).run()
    assert not at.exception
    after = _metrics(at)
    assert label in after
    changed_label = label.replace("SPA", "SNPA") if label not in before_metrics else label
    assert after[label] != before_metrics[changed_label] or _charts(at) != before_charts


def test_filtration_slider_moves_the_components_count():
    at = _lesson(5)
    many = _metrics(at)["connected components at ε"]
    at.slider(key="l6_eps").set_value(at.slider(key="l6_eps").max).run()
    assert _metrics(at)["connected components at ε"] == "1" != many


def _rank_page():
    at = AppTest.from_file(str(PAGES / "rank.py"), default_timeout=60)
    at.run()
    return at


def _run_scan(at):
    """Click "Run rank scan", wait for the queued scan job, and rerun to show it."""
    at.button(key="rank_run").click().run()
    assert not at.exception
    job = at.session_state["scan_job"]
    assert job.wait(120) is not None, job.progress().error
    at.run()


def test_rank_page_scans_the_planted_example_and_marks_rank_4():
    at = _rank_page()
    assert not at.exception
    assert not at.metric  # nothing until the scan runs
    at.slider(key="rank_runs").set_value(4).run()
    assert any("24 fits, estimated before running" in c.value for c in at.caption)
    _run_scan(at)
    assert not at.exception
    metrics = _metrics(at)
    assert metrics["suggested rank"] == "4"
    assert metrics["by cophenetic correlation"] == "4" and metrics["by silhouette"] == "4"
    at.button(key="rank_keep_button").click().run()
    assert list(at.session_state["results"]) == ["nmf · r=4 · rank scan of planted rank-4 example"]


def test_rank_page_scan_is_queued_refuses_a_second_and_stops_keeping_the_ranks_done():
    at = _rank_page()
    at.slider(key="rank_runs").set_value(20).run()
    at.slider(key="rank_iter").set_value(500).run()
    at.button(key="rank_run").click().run()
    job = at.session_state["scan_job"]
    assert job.max_iter == 6 * 20 and not at.error
    at.button(key="rank_run").click().run()  # the session's one fit is this scan
    assert any("one fit per session" in e.value for e in at.error)
    assert at.session_state["scan_job"] is job
    keys = {b.key for b in at.button}
    if "cancel_scan" in keys:  # another test's fits hold the server's slots: the scan waits
        at.button(key="cancel_scan").click().run()
        job.wait(120)
        at.run()
        assert "Cancelled the rank scan before it started." in [i.value for i in at.info]
        return
    at.button(key="stop_scan").click().run()
    assert job.wait(120) is not None
    at.run()
    assert not at.exception
    scan = job.result
    assert scan.stopped and job.progress().iteration < job.max_iter
    shown = [i.value for i in at.info]
    if scan.ranks.size:
        assert any(text.startswith("Stopped: the scan shows the ranks it finished") for text in shown)
        assert "suggested rank" in _metrics(at)
    else:
        assert "Stopped before the first rank had two runs: nothing to show." in shown


def test_rank_page_compares_kept_results():
    from nmfcore import nmf

    rng = np.random.default_rng(0)
    X = rng.random((20, 30))
    at = _rank_page()
    first = nmf(X, 3, random_state=0, max_iter=50)
    at.session_state["results"] = {
        "first": first,
        "shuffled": nmf(X, 3, init=(first.W[:, [2, 0, 1]] * 2, first.H[[2, 0, 1]] / 2), max_iter=1),
        "other": nmf(X, 4, init="random", random_state=5, max_iter=50),
    }
    at.run()
    assert not at.exception
    assert float(_metrics(at)["mean angle between matched factors"].rstrip("°")) < 5
    at.selectbox(key="cmp_b").set_value("other").run()
    assert not at.exception
    assert float(_metrics(at)["mean angle between matched factors"].rstrip("°")) > 5


def test_rank_page_uses_the_session_data_set_and_its_ground_truth():
    from nmfcore import load_sample

    at = AppTest.from_file(str(PAGES / "rank.py"), default_timeout=60)
    at.session_state["dataset"] = load_sample("hyperspectral")
    at.session_state["dataset_label"] = "hyperspectral sample"
    at.run()
    assert at.radio(key="rank_data").value == "hyperspectral sample"
    at.slider(key="rank_range").set_value((4, 5)).run()  # at least the 4 true endmembers
    at.slider(key="rank_runs").set_value(3).run()
    _run_scan(at)
    assert not at.exception
    assert _metrics(at)["suggested rank"] in {"4", "5"}
    scores = at.dataframe[-1].value
    assert scores["sad_mean_deg"].iloc[0] < 20


def test_rank_page_offers_only_the_planted_example_for_data_read_lazily():
    import dataclasses

    import dask.array as da

    from nmfcore import load_sample

    ds = load_sample("hyperspectral")
    lazy = dataclasses.replace(ds, X=da.from_array(np.asarray(ds.X), chunks=(ds.X.shape[0], 100)))
    at = AppTest.from_file(str(PAGES / "rank.py"), default_timeout=60)
    at.session_state["dataset"], at.session_state["dataset_label"] = lazy, "lazy scene"
    at.run()
    assert not at.exception
    assert at.radio(key="rank_data").options == ["planted rank-4 example"]
    assert any("read lazily from disk" in c.value for c in at.caption)
