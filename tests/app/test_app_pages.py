"""AppTest over every page, with every bundled sample and every model family.

Each fit runs with few iterations: these tests check that the pages call nmfcore
and draw what the data's kind needs, not the solvers (their own tests do that).
"""

from __future__ import annotations

import pytest

import nmfcore
from _app_helpers import FAMILIES, LAYER_MARKERS, charts, fit_from_model_page, load_sample_page, no_exception, texts


@pytest.mark.parametrize("sample", ["faces", "text", "hyperspectral", "scrna"])
def test_every_page_with_every_family(sample):
    assert sample in nmfcore.samples()
    at = load_sample_page(sample)
    kind = nmfcore.load_sample(sample).kind
    assert at.metric[0].value == kind
    assert charts(at), "the Data page shows a preview"

    for label, (model, settings) in FAMILIES.items():
        name = fit_from_model_page(at, label, settings)
        result = at.session_state["results"][name]
        assert result.params["model"] == model
        if label == "Min-vol deep KL-NMF":
            assert result.params.get("min_volume") is not None

        at.switch_page("pages/layers.py").run()
        no_exception(at)
        layers = result.layers()
        shown = 1 if model == "pnmf" else len(layers)
        assert len(charts(at)) >= shown + 1  # one view per layer shown, plus convergence
        marker = LAYER_MARKERS[kind]
        if marker is not None:
            text = texts(at)
            for layer in layers[:shown]:
                assert marker + layer.name in text
        if kind == "hyperspectral" and layers[0].W.shape[1] == 4:  # the sample has 4 true endmembers
            assert any(m.label == "Mean spectral angle to the true endmembers" for m in at.metric)
        if model == "deep_nmf" and len(layers) > 1:
            assert any(s.value in ("Merge tree between layers", "Topic hierarchy") for s in at.subheader)

        if model == "pnmf":
            at.switch_page("pages/persistence.py").run()
            no_exception(at)
            assert len(charts(at)) >= 4  # barcode, diagram, graph, embedding

    at.switch_page("pages/export.py").run()
    no_exception(at)
    downloads = at.get("download_button")
    assert len(downloads) == 5  # npz, CSV ZIP, h5ad, PNG and recipe, for every kind
    assert "nmfcore." in at.code[0].value


