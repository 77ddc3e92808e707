"""Text from data is shown as text: feature, item and label names, file and ZIP member names.

Unit tests of the two escaping helpers (:func:`nmfcore.app.text.literal` for Markdown,
:func:`nmfcore.plot._style.plain` for plotly), AppTests that upload crafted files and
read what the pages send, and a headless-Chromium test that no image or link is made
from such a name.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from _app_helpers import APP, TIMEOUT, no_exception
from test_e2e_browser import _shot, _upload, _wait_text, app_url, browser  # noqa: F401 (fixtures)
from nmfcore import plot
from nmfcore.app.text import WORD_JOINER, literal
from nmfcore.plot._style import plain

PAGES = Path(__file__).resolve().parents[2] / "pages"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[x](javascript:alert(1))"
BOLD = "**bold**"
HOSTILE = [IMG, LINK, BOLD]
MORE = ["`code`", "$x^2$", ":red[red]", ":material/home:", "# heading", "1. item", "- item", "a_b_c",
        "~~gone~~", "https://example.com", "www.example.com", "me@example.com", "&lt;b&gt;", "a | b",
        "back\\slash", "two\nlines", "<a href='javascript:alert(1)'>x</a>"]
# what CommonMark and GFM would read as syntax in unescaped text
_UNESCAPED = re.compile(r"(?<!\\)[`*_\[\]<>#~$|&]")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text).replace(WORD_JOINER, "")


@pytest.mark.parametrize("text", HOSTILE + MORE)
def test_literal_escapes_every_markdown_opener_and_keeps_the_characters(text):
    out = literal(text)
    assert not _UNESCAPED.search(out.replace("\\\\", "")), out
    assert "\n" not in out
    assert _unescape(out) == text.replace("\n", " ")


def test_literal_breaks_urls_shortcodes_directives_and_leading_list_markers():
    # Streamlit finds these in the parsed text, where backslashes are gone: an invisible joiner breaks them
    assert literal("https://example.com") == f"https:{WORD_JOINER}//example.com"
    assert literal("www.example.com") == f"www{WORD_JOINER}.example.com"
    assert literal("me@example.com") == f"me{WORD_JOINER}@example.com"
    assert literal(":smile:") == f":{WORD_JOINER}smile:"
    assert literal(":material/home:").startswith(f":{WORD_JOINER}material")
    assert literal(":red[x]") == f":{WORD_JOINER}red\\[x\\]"
    assert literal("1. item") == "1\\. item" and literal("- item") == "\\- item"
    assert literal("a - b. c: d") == "a - b. c: d"  # ordinary punctuation stays readable
    assert literal("scale 1 (ε=0.123)") == "scale 1 (ε=0.123)"
    assert literal(None) == "None"


def test_plain_writes_html_as_entities_for_plotly():
    assert plain(IMG) == "&lt;img src=x onerror=alert(1)&gt;"
    assert plain("a & b") == "a &amp; b" and plain("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert plain(LINK) == LINK and plain(BOLD) == BOLD  # plotly reads no Markdown


def _spec_texts(fig) -> str:
    return json.dumps(fig.to_plotly_json()["data"]) + json.dumps(fig.to_plotly_json()["layout"])


def test_figures_escape_every_name_they_show():
    rng = np.random.default_rng(0)
    W, H = rng.random((3, 2)), rng.random((2, 3))
    figures = [
        plot.bar_chart([1.0, 2.0, 3.0], HOSTILE, title=IMG),
        plot.topic_table(W, HOSTILE, n_top=3, factor_names=[IMG, BOLD]),
        plot.topic_table(rng.random((3, 9)), HOSTILE, n_top=2),
        plot.heatmap(W, x=[IMG, LINK], y=HOSTILE),
        plot.spectra(W, names=[IMG, LINK]),
        plot.embedding(rng.random((3, 2)), color=np.array(HOSTILE), hover=HOSTILE, title=IMG),
        plot.convergence({IMG: np.array([3.0, 2.0, 1.0])}),
        plot.scale_curves({IMG: [1.0, 2.0]}),
        plot.merge_tree([H[:, :2].T @ np.ones((2, 2))], layer_names=[IMG, "b"],
                        factor_labels=[[IMG, LINK], [BOLD, IMG]]),
        plot.matched_bases(W, W, np.array([[0, 0], [1, 1]]), titles=(f"A: {IMG}", f"B: {IMG}")),
    ]
    for fig in figures:
        text = _spec_texts(fig)
        assert "<img" not in text, text[:400]
        assert "&lt;img src=x onerror=alert(1)&gt;" in text


# ----------------------------------------------------------------------------- crafted files


def _hostile_csv() -> bytes:
    """Terms (the header) named after the hostile strings, over integer counts (documents are rows)."""
    header = ",".join(HOSTILE + ["plain"])
    rows = [",".join(str((i + j) % 4 + 1) for j in range(4)) for i in range(6)]
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def _hostile_zip() -> bytes:
    """Two good images and one member, named after a hostile string, that is not an image."""
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k in range(2):
            image = io.BytesIO()
            Image.fromarray((np.random.default_rng(k).random((8, 8)) * 255).astype(np.uint8)).save(image, "PNG")
            archive.writestr(f"face{k}.png", image.getvalue())
        archive.writestr(f"{IMG} {LINK}.png", b"not a png at all")
    return buffer.getvalue()


def _hostile_h5ad(path: Path) -> Path:
    """Counts whose genes, cells, obs column and obs labels are named after the hostile strings."""
    import anndata as ad
    import pandas as pd

    X = np.random.default_rng(0).poisson(2.0, size=(30, 12)).astype(np.float32)
    var = pd.DataFrame(index=[f"{HOSTILE[i % 3]} g{i}" for i in range(12)])
    obs = pd.DataFrame({IMG: pd.Categorical([HOSTILE[i % 3] for i in range(30)])},
                       index=[f"{LINK} c{i}" for i in range(30)])
    ad.AnnData(X=X, obs=obs, var=var).write_h5ad(path)
    return path


def _markdown_values(at) -> list[str]:
    parts = [m.value for m in at.markdown] + [s.value for s in at.subheader] + [c.value for c in at.caption]
    for kind in ("error", "success", "info", "warning"):
        parts += [e.value for e in getattr(at, kind)]
    return parts


def _charts_text(at) -> str:
    # plotly's JSON writes "<" as \u003c: decode it to see the text the browser gets
    return "\n".join(json.dumps(json.loads(element.proto.spec), ensure_ascii=False)
                     for element in at.get("plotly_chart"))


def _assert_no_raw_markup(values: list[str]) -> None:
    for value in values:
        for text in HOSTILE:
            assert text not in value, f"{text!r} reached Markdown unescaped in {value!r}"


def test_data_page_shows_a_hostile_csv_file_and_its_terms_literally():
    name = f"{IMG}.csv"
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="data_upload_False").set_value((name, _hostile_csv(), "text/csv")).run()
    no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["dataset"].kind == "text"
    values = _markdown_values(at)
    assert f"Current data: upload {literal(name)}" in values
    _assert_no_raw_markup(values)
    charts = _charts_text(at)
    assert "&lt;img src=x onerror=alert(1)&gt;" in charts and "<img" not in charts
    assert LINK in charts and BOLD in charts  # plotly reads no Markdown: these stay as they are


def test_a_zip_member_with_a_hostile_name_is_quoted_literally_in_the_error():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="data_upload_False").set_value((f"{BOLD}.zip", _hostile_zip(), "application/zip")).run()
    no_exception(at)
    assert at.error, "a member that is not an image is refused with a message"
    message = at.error[0].value
    assert literal(f"{IMG} {LINK}.png") in message
    _assert_no_raw_markup(_markdown_values(at))


def test_hostile_h5ad_names_and_labels_stay_text_on_data_layers_and_export(tmp_path):
    import nmfcore

    payload = _hostile_h5ad(tmp_path / "cells.h5ad").read_bytes()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.file_uploader(key="data_upload_False").set_value((f"{LINK}.h5ad", payload, "application/octet-stream")).run()
    no_exception(at)
    ds = at.session_state["dataset"]
    assert ds.kind == "scrna" and ds.meta.get("labels") == IMG
    _assert_no_raw_markup(_markdown_values(at))

    # a fit, then the Layers page: top genes, cells coloured by their (hostile) labels
    result = nmfcore.nmf(ds.X, 3, max_iter=20, random_state=0)
    layers = AppTest.from_file(str(PAGES / "layers.py"), default_timeout=TIMEOUT)
    layers.session_state["dataset"] = ds
    layers.session_state["results"] = {"nmf · test": result}
    layers.run()
    no_exception(layers)
    layers.radio(key="cell_colour_0").set_value("label").run()
    no_exception(layers)
    _assert_no_raw_markup(_markdown_values(layers))
    charts = _charts_text(layers)
    assert "<img" not in charts and "&lt;img src=x onerror=alert(1)&gt;" in charts

    # an exported result uploaded back under a hostile file name
    export = AppTest.from_file(str(PAGES / "export.py"), default_timeout=TIMEOUT).run()
    npz = nmfcore.export.to_npz(result, ds)
    export.file_uploader(key="result_upload").set_value((f"{IMG}.npz", npz, "application/octet-stream")).run()
    no_exception(export)
    assert export.success, [e.value for e in export.error]
    assert literal(f"uploaded {IMG}.npz") in export.success[0].value
    _assert_no_raw_markup(_markdown_values(export))


# ----------------------------------------------------------------------------- the browser


def _visible(driver) -> str:
    return driver.find_element("tag name", "body").text.replace(WORD_JOINER, "")


@pytest.mark.e2e
def test_browser_makes_no_image_or_link_from_names_in_uploaded_files(app_url, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(app_url)
    _wait_text(browser, "Bundled samples")

    def assert_nothing_made() -> None:
        assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")
        assert not browser.find_elements(By.CSS_SELECTOR, "a[href^='javascript']")
        assert not [b for b in browser.find_elements(By.CSS_SELECTOR, "strong, b") if b.text.strip() == "bold"]

    # 1. a CSV file whose name and terms are HTML and Markdown
    csv = tmp_path / f"{IMG}.csv"
    csv.write_bytes(_hostile_csv())
    _upload(browser, csv)
    _wait_text(browser, f"Current data: upload {IMG}.csv", timeout=180)
    _wait_text(browser, f"Data: upload {IMG}.csv")
    time.sleep(2)  # the bar chart of terms
    body = browser.find_element(By.TAG_NAME, "body").text.replace(WORD_JOINER, "")
    assert f"Current data: upload {IMG}.csv" in body
    ticks = " ".join(t.text for t in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"] .ytick'))
    assert IMG in ticks and BOLD in ticks, ticks
    assert_nothing_made()
    _shot(browser, "text_safety_01_csv")

    # 2. an AnnData file: its obs column is offered as labels, named literally
    h5ad = _hostile_h5ad(tmp_path / f"{BOLD}.h5ad")
    _upload(browser, h5ad)
    _wait_text(browser, f"Current data: upload {BOLD}.h5ad", timeout=180)
    deadline = time.monotonic() + 60  # the selected label column, shown in the selectbox
    while time.monotonic() < deadline and not any(
            IMG in (box.text + " " + " ".join(i.get_attribute("value") or "" for i in
                                              box.find_elements(By.TAG_NAME, "input")))
            for box in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSelectbox"]')):
        time.sleep(0.3)
    labels = [box.text for box in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSelectbox"]')]
    assert any(IMG in text for text in labels) or IMG in browser.page_source.replace("&lt;", "<").replace(
        "&gt;", ">"), labels
    assert_nothing_made()
    _shot(browser, "text_safety_02_h5ad")

    # 3. a ZIP with a member named after the strings: the error quotes it literally
    archive = tmp_path / "members.zip"
    archive.write_bytes(_hostile_zip())
    _upload(browser, archive)
    _wait_text(browser, "members.zip", timeout=180)
    deadline = time.monotonic() + 60  # the member's name, as it is (the word joiners are invisible)
    while time.monotonic() < deadline and f"{IMG} {LINK}.png" not in _visible(browser):
        time.sleep(0.3)
    assert f"{IMG} {LINK}.png" in _visible(browser)
    assert_nothing_made()
    _shot(browser, "text_safety_03_zip")
