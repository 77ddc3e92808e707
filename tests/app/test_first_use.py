"""The app as a first-time user finds it (issue 15): names, defaults and words that need no explaining.

The browser checks (sidebar status on pages that stop, figure titles clear of the
toolbars) are in ``test_e2e_polish.py``; these are the parts a browser is not needed for.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import nmfcore
from _app_helpers import APP, TIMEOUT, no_exception
from nmfcore.app import lessons as L
from nmfcore.app import views
from nmfcore.app.presets import default_params
from nmfcore.app.reproduce import python_snippet
from nmfcore.app.sources import source_title
from nmfcore.data.samples import SAMPLE_NAMES, sample_title

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "pages"


def test_streamlit_toolbar_is_in_viewer_mode():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["toolbarMode"] == "viewer"  # no "Deploy" button


# ----------------------------------------------------------------------------- samples


@pytest.mark.parametrize("name", nmfcore.samples())
def test_every_sample_is_named_as_a_person_would_with_its_true_size(name):
    what, details = SAMPLE_NAMES[name]
    assert sample_title(name) == f"{what} ({details})" == source_title({"sample": name})
    assert what[0].isupper() and what != name  # not the lowercase id
    ds = nmfcore.load_sample(name)
    m, n = ds.shape
    numbers = {int(k) for k in re.findall(r"\d+", details)}
    if ds.image_shape is not None:  # n images of h × w pixels
        assert n in numbers and "{} × {} pixels".format(*ds.image_shape) in details
    elif ds.spatial_shape is not None:  # a rows × cols scene of m bands
        rows, cols = ds.spatial_shape
        assert rows * cols == n and f"{rows} × {cols} pixels × {m} bands" in details
    else:  # n documents or cells, m terms or genes
        assert n in numbers and m in numbers
    with pytest.raises(ValueError, match="does not exist"):
        sample_title("nope")


def test_data_page_buttons_name_the_samples_and_the_loaded_one_is_named_in_full():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    labels = {b.key: b.label for b in at.button if b.key and b.key.startswith("sample_")}
    assert labels == {f"sample_{name}": SAMPLE_NAMES[name][0] for name in nmfcore.samples()}
    captions = [c.value for c in at.caption]
    assert all(details in captions for _, details in SAMPLE_NAMES.values())
    at.button(key="sample_faces").click().run()
    no_exception(at)
    assert at.session_state["dataset_label"] == sample_title("faces")
    assert f"Current data: {sample_title('faces')}" in [s.value for s in at.subheader]


# ----------------------------------------------------------------------------- rank & compare


def test_rank_range_surrounds_the_model_pages_rank():
    assert views.rank_range(16, 20) == (13, 19)
    assert views.rank_range(4, 20) == (2, 7)
    assert views.rank_range(2, 20) == (2, 5)
    assert views.rank_range(16, 10) == (7, 10)
    assert views.rank_range(5, 1) == (1, 1)


@pytest.mark.parametrize("sample", ["faces", "hyperspectral"])
def test_rank_page_starts_around_the_rank_of_the_model_page(sample):
    ds = nmfcore.load_sample(sample)
    truth = ds.meta.get("ground_truth")
    rank = default_params(ds.kind, ds.shape, "nmf", n_endmembers=None if truth is None else truth["W"].shape[1])["rank"]
    at = AppTest.from_file(str(PAGES / "rank.py"), default_timeout=TIMEOUT)
    at.session_state["dataset"] = ds
    at.session_state["dataset_label"] = sample_title(sample)
    at.run()
    no_exception(at)
    low, high = at.slider(key="rank_range").value
    assert low <= rank <= high and (low, high) == views.rank_range(rank, min(20, min(ds.shape)))
    at.radio(key="rank_data").set_value("planted rank-4 example").run()
    assert at.slider(key="rank_range").value == (2, 7)


# ----------------------------------------------------------------------------- persistence


def test_graph_title_says_how_many_edges_or_that_there_are_none():
    assert views.scale_graph_title(0.25, 120) == "Graph at ε = 0.25: 120 edges"
    assert views.scale_graph_title(0.25, 1) == "Graph at ε = 0.25: 1 edge"
    assert "no edges yet" in views.scale_graph_title(0.0, 0)


def test_persistence_page_starts_at_a_scale_with_edges():
    import json

    at = AppTest.from_file(str(PAGES / "persistence.py"), default_timeout=TIMEOUT)
    at.session_state["dataset"] = nmfcore.load_sample("faces")
    at.run()
    no_exception(at)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    graph = next(t for t in titles if t and t.startswith("Graph at ε"))
    assert re.search(r": [\d,]+ edges?$", graph), graph
    assert at.select_slider(key="scale_index").value > 0


# ----------------------------------------------------------------------------- learn, lesson 4


def test_init_table_writes_every_number_the_same_way():
    table = L.init_table({"random": np.array([1913.4958, 417.4]), "nndsvda": np.array([30278.76, 417.5]),
                          "nndsvdar": np.array([839.617, 0.000123456])})
    assert table["loss at start"] == ["1,913", "30,280", "839.6"]
    assert table["loss at the end"] == ["417.4", "417.5", "0.0001235"]
    assert not any("e" in v for v in table["loss at start"] + table["loss at the end"])


def test_init_remark_states_where_nndsvda_and_random_start_and_end():
    losses = {"random": np.array([1913.4, 966.0, 417.4]), "nndsvda": np.array([30278.8, 889.1, 417.5])}
    remark = L.init_remark(losses)
    assert "30,280" in remark and "1,913" in remark and "889.1" in remark and "417.5" in remark
    assert L.init_remark({"random": losses["random"]}) is None


def test_lesson_4_explains_the_high_start_of_nndsvda():
    at = AppTest.from_file(str(PAGES / "learn.py"), default_timeout=TIMEOUT).run()
    at.radio(key="lesson").set_value("4 · Algorithms").run()
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "begins close to a good solution" not in text
    assert "mean of X" in text and "first" in text
    table = at.dataframe[-1].value
    starts = dict(zip(table["init"], table["loss at start"]))
    assert float(starts["nndsvda"].replace(",", "")) > float(starts["random"].replace(",", ""))
    assert any("NNDSVDa starts at" in c.value for c in at.caption)


# ----------------------------------------------------------------------------- export


def test_snippet_says_in_words_that_no_mask_was_used_and_why_the_solver_is_hals():
    X = np.random.default_rng(0).random((12, 10))
    code = python_snippet(nmfcore.nmf(X, 3, max_iter=3).params, "data")
    assert "not arguments" not in code and "masked=" not in code
    assert "# mask: none was used" in code
    assert "# solver='hals' is what ran: the one solver='auto' (the default) chooses for β = 2 without a mask" in code
    chosen = python_snippet(nmfcore.nmf(X, 3, max_iter=3, solver="mu").params, "data")
    assert "solver='mu' is what ran, as asked (solver='auto' would choose 'hals'" in chosen


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("masked", [False, True])
def test_snippet_names_the_solver_auto_really_chooses(beta, masked):
    X = np.random.default_rng(1).random((12, 10)) + 0.1
    mask = None
    if masked:
        mask = np.ones_like(X, dtype=bool)
        mask[0, 0] = False
    result = nmfcore.nmf(X, 2, beta=beta, solver="auto", mask=mask, max_iter=2)
    code = python_snippet(result.params, "data")
    assert f"# solver={result.params['solver']!r} is what ran: the one solver='auto'" in code
    assert ("with a mask" in code) == masked
