"""End-to-end: the app as a first-time user finds it, in headless Chromium.

With no data loaded, the sidebar states it on every page, also on the pages that
stop early (Model, Persistence, Layers). Then a sample is loaded and the pages with
charts are visited (Data, Persistence, lessons 1, 4 and 5, a rank scan); for every plotly chart, its title, subplot titles, legend and
axis titles must lie inside the figure and clear of plotly's toolbar (the modebar)
and of Streamlit's element toolbar. Screenshots go to ``tests/e2e_artifacts/``.

Shares the server and browser fixtures of ``test_e2e_browser.py``; skips without
Chromium like it.
"""

from __future__ import annotations

import time

import pytest

from test_e2e_browser import _nav, _shot, _wait_text, app_url, browser  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

# the boxes of a chart that must be visible, by the CSS selector plotly gives them
LABELS = {"title": ".gtitle", "subplot title": ".annotation-text", "legend": ".legend",
          "x title": ".xtitle", "y title": ".ytitle"}
_BOXES = """
const chart = arguments[0], selectors = arguments[1];
const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const plot = chart.querySelector('.js-plotly-plot') || chart;
const out = {figure: box(plot), modebar: [], labels: []};
const bar = chart.querySelector('.modebar');
if (bar) out.modebar.push(box(bar));
for (const [name, css] of Object.entries(selectors))
  for (const el of chart.querySelectorAll(css)) {
    const b = box(el);
    if (b[2] - b[0] > 0 && b[3] - b[1] > 0) out.labels.push([name, (el.textContent || '').slice(0, 60), b]);
  }
return out;
"""


def _overlap(a, b, slack: float = 1.0) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def _inside(inner, outer, slack: float = 2.0) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def _wait_idle(driver, timeout: float = 180) -> None:
    """Wait until the script has stopped running (no status widget) for a second."""
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        busy = driver.find_elements("css selector", '[data-testid="stStatusWidget"]')
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.2)
    _shot(driver, "polish_failure")
    raise AssertionError(f"the app was still running after {timeout} s")


def _chart_problems(driver, where: str) -> tuple[list[str], int]:
    from selenium.webdriver.common.action_chains import ActionChains

    problems = []
    charts = [c for c in driver.find_elements("css selector", '[data-testid="stPlotlyChart"]')
              if c.find_elements("css selector", ".main-svg")]
    for chart in charts:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", chart)
        ActionChains(driver).move_to_element(chart).perform()
        time.sleep(0.4)
        boxes = driver.execute_script(_BOXES, chart, LABELS)
        toolbars = list(boxes["modebar"])
        for tool in driver.find_elements("css selector", '[data-testid="stElementToolbar"]'):
            rect = driver.execute_script(
                "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];", tool)
            if rect[2] - rect[0] > 0 and _overlap(rect, boxes["figure"], slack=0):
                toolbars.append(rect)
        for name, text, box in boxes["labels"]:
            if not _inside(box, boxes["figure"]):
                problems.append(f"{where}: {name} {text!r} leaves the figure {box} / {boxes['figure']}")
            for bar in toolbars:
                if _overlap(box, bar):
                    problems.append(f"{where}: {name} {text!r} is under a toolbar {box} / {bar}")
    return problems, len(charts)


def _check_charts(driver, where: str) -> int:
    """Hover every chart (its toolbars show) and check that no label is hidden; returns how many."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(3):  # a late rerun can replace a chart while it is measured
        _wait_idle(driver)
        time.sleep(1.5)  # let plotly finish its layout
        try:
            problems, count = _chart_problems(driver, where)
        except StaleElementReferenceException:
            continue
        assert count, f"{where}: no chart drawn"
        assert not problems, "\n".join(problems)
        return count
    raise AssertionError(f"{where}: the charts kept changing while measured")


def _rank_thumbs(driver) -> list[str]:
    slider = driver.find_elements("css selector", '[data-testid="stSlider"]')[0]
    return [t.text for t in slider.find_elements("css selector", '[data-testid="stSliderThumbValue"]')]


def _sidebar(driver) -> str:
    return "\n".join(e.text for e in driver.find_elements("css selector", '[data-testid="stSidebar"]'))


def test_sidebar_status_without_data_and_no_hidden_chart_labels(app_url, browser):  # noqa: F811
    browser.get(app_url)
    _wait_text(browser, "Bundled samples")
    assert not [b for b in browser.find_elements("css selector", "button") if b.text.strip() == "Deploy"]

    # 1. no data: every page, also those that stop early, states it in the sidebar
    for page in ("Model", "Persistence", "Layers", "Export", "Rank & compare"):
        _nav(browser, page)
        deadline = time.monotonic() + 30
        while "Data: none loaded" not in _sidebar(browser) and time.monotonic() < deadline:
            time.sleep(0.3)
        sidebar = _sidebar(browser)
        assert "Data: none loaded" in sidebar and "Results kept: 0" in sidebar, (page, sidebar)
    _shot(browser, "polish_01_layers_without_data")

    # 2. a sample, named as a person would name it
    _nav(browser, "Data")
    _wait_text(browser, "Bundled samples")
    title = "Faces (LFW, 100 images of 25 × 25 pixels)"
    _wait_text(browser, "LFW, 100 images of 25 × 25 pixels")  # the size, under the sample's button
    next(b for b in browser.find_elements("css selector", "button") if b.text.strip() == "Faces").click()
    _wait_text(browser, f"Current data: {title}")
    _wait_text(browser, f"Data: {title}")
    checked = _check_charts(browser, "Data")
    _shot(browser, "polish_02_data")

    # 3. persistence: barcode, diagram and the graph at a scale that has edges
    _nav(browser, "Persistence")
    _wait_text(browser, "Graph at ε", timeout=120)
    assert "no edges yet" not in browser.find_element("tag name", "body").text
    checked += _check_charts(browser, "Persistence")
    _shot(browser, "polish_03_persistence")

    # 4. the lessons with the charts the issue names (1: W H panels; 4 and 5: legends, axis titles)
    _nav(browser, "Learn")
    _wait_text(browser, "What NMF is")
    checked += _check_charts(browser, "Learn 1")
    _shot(browser, "polish_04_lesson1")
    for lesson, marker in (("4 · Algorithms", "The effect of the initialisation"), ("5 · Deep NMF", "deep iterations")):
        option = browser.find_element("xpath", f"//label[.//p[text()='{lesson}']]")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", option)
        _wait_text(browser, marker, timeout=180)
        checked += _check_charts(browser, lesson)
        _shot(browser, f"polish_05_lesson{lesson[0]}")

    # 5. a rank scan of the planted example: three panels, a horizontal legend
    _nav(browser, "Rank & compare")
    _wait_text(browser, "Choose a rank")
    _wait_idle(browser)
    assert _rank_thumbs(browser) == ["13", "19"]  # around the Model page's rank 16 for images
    planted = browser.find_element("xpath", "//label[.//p[text()='planted rank-4 example']]")
    browser.execute_script("arguments[0].click();", planted)
    _wait_idle(browser)
    assert _rank_thumbs(browser) == ["2", "7"]  # around its 4 planted parts, also in the browser
    button = next(b for b in browser.find_elements("css selector", "button") if b.text.strip() == "Run rank scan")
    browser.execute_script("arguments[0].click();", button)
    # the scan runs in the server's queue: wait for its result (the page's intro already says "suggested rank")
    _wait_text(browser, "by cophenetic correlation", timeout=180)
    checked += _check_charts(browser, "Rank & compare")
    _shot(browser, "polish_06_rank_scan")
    assert checked >= 11
