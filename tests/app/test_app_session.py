"""AppTest of the app's behaviour: caching, stopping, bad uploads, results going both ways."""

from __future__ import annotations

import io
import threading
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import nmfcore
from nmfcore.app.jobs import FitJob
from _app_helpers import APP, TIMEOUT, charts, fit_from_model_page, load_sample_page, no_exception


def test_cached_refit_is_reused_and_views_do_not_refit():
    at = load_sample_page("faces")
    name = fit_from_model_page(at, "NMF", {"nmf_iter": 20})
    job = at.session_state["job"]
    at.button(key="run_fit").click().run()
    no_exception(at)
    assert at.session_state["job"] is job, "a second Run with the same data and parameters must not refit"
    assert list(at.session_state["results"]) == [name]
    assert any("reused it, no refit" in i.value for i in at.info)
    at.switch_page("pages/layers.py").run()
    at.switch_page("pages/model.py").run()
    assert at.session_state["job"] is job and list(at.session_state["results"]) == [name]


def test_each_session_sees_only_its_own_data_and_results():
    first = load_sample_page("faces")
    fit_from_model_page(first, "NMF", {"nmf_iter": 10})
    second = load_sample_page("text")
    assert "results" not in second.session_state or not second.session_state["results"]
    second.switch_page("pages/layers.py").run()
    no_exception(second)
    assert len(first.session_state["results"]) == 1
    assert first.session_state["dataset"].kind == "images"
    assert second.session_state["dataset"].kind == "text"


def test_stop_keeps_a_partial_result():
    at = load_sample_page("faces")
    at.switch_page("pages/model.py").run()
    at.number_input(key="nmf_iter").set_value(100_000)
    at.number_input(key="nmf_tol").set_value(0.0)
    at.run()
    at.button(key="run_fit").click().run()
    job = at.session_state["job"]
    assert not job.finished
    at.button(key="stop_fit").click().run()
    result = job.wait(60)
    at.run()
    no_exception(at)
    assert result.stopped and result.n_iter < 100_000
    name = at.session_state["selected_result"]
    assert name.endswith("(stopped)") and at.session_state["results"][name] is result


def test_bad_upload_shows_a_message_and_the_fix_works(tmp_path):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="data_upload_False").set_value(("empty.csv", b"", "text/csv")).run()
    no_exception(at)
    assert at.error and "empty.csv" in at.error[0].value
    X = np.abs(np.random.default_rng(0).random((6, 5)))
    X[1, 2] = -0.5
    text = "\n".join(",".join(f"{v:g}" for v in row) for row in X)
    at.file_uploader(key="data_upload_False").set_value(("negative.csv", text.encode(), "text/csv")).run()
    no_exception(at)
    assert at.error and "negative" in at.error[0].value
    fix = [b for b in at.button if b.label == "Clip negative entries to 0"]
    assert fix, "the page offers the loader's fix"
    fix[0].click().run()
    no_exception(at)
    assert not at.error
    assert at.session_state["dataset"].X.min() == 0


def test_uploaded_result_is_shown_and_starts_a_new_fit():
    ds = nmfcore.load_sample("faces")
    first = nmfcore.nmf(ds.X, 5, max_iter=30, random_state=0)
    payload = nmfcore.export.to_npz(first, ds)

    at = load_sample_page("faces")
    at.switch_page("pages/export.py").run()
    at.file_uploader(key="result_upload").set_value(("earlier.npz", payload, "application/octet-stream")).run()
    no_exception(at)
    assert at.success, [e.value for e in at.error]
    (name,) = list(at.session_state["results"])
    np.testing.assert_allclose(at.session_state["results"][name].layers()[0].W, first.W)
    assert at.session_state["job"] is None  # shown without refitting

    at.switch_page("pages/layers.py").run()
    no_exception(at)
    assert len(charts(at)) >= 2

    at.switch_page("pages/model.py").run()
    at.selectbox(key="nmf_init").set_value("uploaded factors").run()
    at.number_input(key="nmf_iter").set_value(5).run()
    at.button(key="run_fit").click().run()
    refit = at.session_state["job"].wait(TIMEOUT)
    at.run()
    no_exception(at)
    assert refit.rank == 5
    start = nmfcore.beta_divergence(ds.X, first.W, first.H, 2)
    assert refit.loss[0] == pytest.approx(start, rel=1e-6)  # it started from the uploaded factors


def test_bad_parameters_and_failed_fits_end_in_a_message():
    at = load_sample_page("faces")
    at.switch_page("pages/model.py").run()
    at.radio(key="family").set_value("Deep β-NMF").run()
    at.text_input(key="deep_ranks_False").input("10, 20").run()
    no_exception(at)
    assert at.error and "ranks must be decreasing" in at.error[0].value
    at.text_input(key="deep_ranks_False").input("5000, 20").run()
    at.number_input(key="deep_init_False").set_value(1)
    at.number_input(key="deep_iter_False").set_value(1)
    at.run()
    at.button(key="run_fit").click().run()
    job = at.session_state["job"]
    assert job.wait(TIMEOUT) is None
    at.run()
    no_exception(at)
    assert at.error and at.error[0].value.startswith("The fit failed:")
    assert not at.session_state["results"]
    at.text_input(key="deep_ranks_False").input("6, 3").run()
    at.button(key="run_fit").click().run()  # the page is still usable after the failure
    assert at.session_state["job"].wait(TIMEOUT) is not None


def test_preprocessing_reloads_the_sample_with_the_options():
    at = load_sample_page("scrna")
    at.number_input(key="pre_n_top_genes").set_value(100)
    at.button(key="apply_pre").click().run()
    no_exception(at)
    ds = at.session_state["dataset"]
    assert ds.shape == (100, 700)
    assert any("highly variable" in str(step) for step in ds.meta["steps"])
    assert at.metric[1].value == "100 × 700"


def test_uploaded_images_are_resized_on_request():
    from PIL import Image

    payloads = []
    for k in range(3):
        buffer = io.BytesIO()
        Image.fromarray((np.random.default_rng(k).random((20, 16)) * 255).astype(np.uint8)).save(buffer, "PNG")
        payloads.append((f"face{k}.png", buffer.getvalue(), "image/png"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.checkbox(key="several").check().run()
    at.file_uploader(key="data_upload_True").set_value(payloads).run()
    no_exception(at)
    assert at.session_state["dataset"].image_shape == (20, 16)
    at.number_input(key="pre_h").set_value(10)
    at.number_input(key="pre_w").set_value(8)
    at.button(key="apply_pre").click().run()
    no_exception(at)
    ds = at.session_state["dataset"]
    assert ds.image_shape == (10, 8) and ds.shape == (80, 3)


def test_python_snippet_on_the_export_page_reruns_the_fit():
    at = load_sample_page("scrna")
    at.number_input(key="pre_n_top_genes").set_value(60)
    at.button(key="apply_pre").click().run()
    name = fit_from_model_page(at, "Deep β-NMF", {"deep_init_False": 3, "deep_iter_False": 3})
    at.switch_page("pages/export.py").run()
    no_exception(at)
    code = at.code[0].value
    assert "n_top_genes=60" in code and "data.X.toarray()" in code
    namespace: dict = {}
    exec(compile(code, "snippet", "exec"), namespace)
    original = at.session_state["results"][name]
    for mine, theirs in zip(namespace["result"].layers(), original.layers()):
        np.testing.assert_allclose(mine.W, theirs.W, rtol=1e-6, atol=1e-10)


def test_sidebar_says_whether_the_fit_and_the_rank_scan_are_queued_or_running():
    gate = threading.Event()

    def gated(X, rank, *, max_iter, callback):
        gate.wait(30)
        return SimpleNamespace(stopped=False)

    running = FitJob(gated, None, 2, max_iter=5, name="first fit").start()
    queued = FitJob(gated, None, 2, max_iter=5, name="the scan")  # the queue has not started it
    try:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.session_state["job"], at.session_state["scan_job"] = running, queued
        at.run()
        no_exception(at)
        captions = [c.value for c in at.sidebar.caption]
        assert "Fit running: first fit" in captions and "Rank scan queued: the scan" in captions
    finally:
        gate.set()
    assert running.wait(30) is not None
