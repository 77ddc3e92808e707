"""End-to-end: the real app in headless Chromium.

Starts ``streamlit run app.py`` on a free localhost port, uploads a hyperspectral
``.mat`` scene (a 30 x 30 crop of Samson), runs deep KL-NMF, checks the abundance
maps of both layers, downloads the ``.npz`` and checks its arrays, uploads a bad file
and reads the message. Screenshots go to ``tests/e2e_artifacts/`` (git-ignored).

Needs Debian's ``chromium`` and ``chromium-driver``. Without them the test skips,
or fails when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from _shared import shared_path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "e2e_artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CROP = 30

pytestmark = pytest.mark.e2e


def _require_browser() -> None:
    if CHROMIUM and CHROMEDRIVER:
        return
    message = (
        "headless Chromium not found (need the 'chromium' and 'chromedriver' executables); "
        "install them with: apt-get install -y chromium chromium-driver"
    )
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this is an error)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as reply:
                if reply.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@pytest.fixture
def app_url():
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def browser(tmp_path):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--window-size=1500,1700"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _samson_crop(path: Path) -> tuple[Path, np.ndarray]:
    """A CROP x CROP corner of Samson in the file's own layout (bands x pixels, column-major)."""
    data = scipy.io.loadmat(shared_path("samson.mat"))
    bands = int(data["nBand"].ravel()[0])
    rows, cols = int(data["nRow"].ravel()[0]), int(data["nCol"].ravel()[0])
    cube = data["V"].reshape(bands, rows, cols, order="F")[:, :CROP, :CROP]
    V = cube.reshape(bands, CROP * CROP, order="F")
    scipy.io.savemat(path, {"V": V, "nRow": CROP, "nCol": CROP, "nBand": bands})
    return path, V


def _wait_text(driver, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in driver.find_element("tag name", "body").text:
            return
        time.sleep(0.3)
    _shot(driver, "failure")
    raise AssertionError(f"text {text!r} did not appear within {timeout} s")


def _wait_element(driver, css: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = driver.find_elements("css selector", css)
        if found:
            return found[0]
        time.sleep(0.3)
    _shot(driver, "failure")
    raise AssertionError(f"no element {css!r} within {timeout} s")


def _upload(driver, path: Path, timeout: float = 30) -> None:
    """Send a file to the page's file input, retrying while a rerun replaces the element."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            _wait_element(driver, 'input[type="file"]').send_keys(str(path))
            return
        except StaleElementReferenceException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _shot(driver, name: str, scroll_to: str | None = None) -> None:
    if scroll_to is not None:
        target = driver.find_element("xpath", f"//*[contains(text(), '{scroll_to}')]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", target)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    time.sleep(1.0)  # let plotly finish drawing
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _nav(driver, title: str) -> None:
    for link in driver.find_elements("css selector", '[data-testid="stSidebarNavLink"]'):
        if link.text.strip().endswith(title):
            link.click()
            return
    raise AssertionError(f"no navigation link {title!r}")


def _set_number(driver, label: str, value: int) -> None:
    from selenium.webdriver.common.keys import Keys

    # the page draws its widgets one after another: a label above may show before this field does
    field = _wait_element(driver, f'input[aria-label="{label}"]')
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(value), Keys.ENTER)
    time.sleep(0.5)


def _click_button(driver, text: str) -> None:
    for button in driver.find_elements("css selector", "button"):
        if button.text.strip().endswith(text) and button.is_enabled():
            button.click()
            return
    raise AssertionError(f"no enabled button {text!r}")


def test_upload_deep_kl_abundances_download_and_bad_file(app_url, browser, tmp_path):
    mat_path, V = _samson_crop(tmp_path / "samson_crop.mat")
    browser.get(app_url)
    _wait_text(browser, "Bundled samples")

    # 1. upload a hyperspectral .mat through the file input
    _upload(browser, mat_path)
    _wait_text(browser, "Current data: upload samson_crop.mat")
    _wait_text(browser, "hyperspectral")
    _wait_text(browser, f"{V.shape[0]} × {CROP * CROP}")
    _shot(browser, "01_data_hyperspectral")

    # 2. run deep KL-NMF (few iterations: the browser path is under test, not the solver)
    _nav(browser, "Model")
    _wait_text(browser, "Model family")
    browser.find_element("xpath", "//label[.//p[text()='Deep β-NMF']]").click()
    _wait_text(browser, "Ranks per layer")
    _set_number(browser, "Multilayer iterations per layer", 20)
    _set_number(browser, "Deep iterations", 20)
    _click_button(browser, "Run")
    _wait_text(browser, "Done:", timeout=120)
    _shot(browser, "02_model_deep_kl")

    # 3. abundance maps of both layers
    _nav(browser, "Layers")
    _wait_text(browser, "Abundance maps · layer 1")
    _wait_text(browser, "Abundance maps · layer 2")
    _wait_text(browser, "Merge tree between layers")
    _shot(browser, "03_layers_abundances", scroll_to="Result")

    # 4. download the .npz and check its arrays
    _nav(browser, "Export")
    _wait_text(browser, "Download .npz")
    _shot(browser, "04_export")
    _click_button(browser, "Download .npz")
    deadline = time.monotonic() + 30
    files: list[Path] = []
    while time.monotonic() < deadline and not files:
        files = [p for p in browser.downloads.glob("*.npz")]
        time.sleep(0.3)
    assert files, "the .npz download did not arrive"
    with np.load(files[0], allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    W1, H1, W2, H2 = (arrays[k] for k in ("W_0", "H_0", "W_1", "H_1"))
    bands, pixels = V.shape
    assert W1.shape == (bands, 4) and H1.shape == (4, pixels)
    assert W2.shape == (bands, 2) and H2.shape == (2, pixels)
    for A in (W1, H1, W2, H2):
        assert np.all(np.isfinite(A)) and A.min() >= 0
    X = V / V.max() if V.max() > 1 else V
    total = float(X.sum())
    assert abs(float((W1 @ H1).sum()) - total) < 0.1 * total
    assert abs(float((W2 @ H2).sum()) - total) < 0.2 * total

    # 5. a bad file gives a message, not a traceback
    _nav(browser, "Data")
    _wait_text(browser, "Bundled samples")
    bad = tmp_path / "broken.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file, truncated" + b"\x00" * 20)
    _upload(browser, bad)
    _wait_text(browser, "broken.mat")
    alerts = browser.find_elements("css selector", '[data-testid="stAlertContentError"]')
    deadline = time.monotonic() + 30
    while not alerts and time.monotonic() < deadline:
        time.sleep(0.3)
        alerts = browser.find_elements("css selector", '[data-testid="stAlertContentError"]')
    assert alerts and "broken.mat" in alerts[0].text
    assert not browser.find_elements("css selector", '[data-testid="stException"]')
    _shot(browser, "05_bad_file")
