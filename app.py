"""NMF Explorer: a Streamlit app over the ``nmfcore`` engine.

Run with ``streamlit run app.py``. Each page gathers input, calls ``nmfcore`` and
draws the figures of ``nmfcore.plot``; per-session state lives in ``pages/_state.py``.
"""

from pathlib import Path

import streamlit as st

from nmfcore.app.text import literal
from nmfcore.warmup import preload_in_background, start_in_background
from pages import _scan, _server, _state

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="NMF Explorer", page_icon=":material/grid_view:", layout="wide")

PAGES = [
    ("pages/data.py", "Data", ":material/upload_file:"),
    ("pages/model.py", "Model", ":material/tune:"),
    ("pages/persistence.py", "Persistence", ":material/bubble_chart:"),
    ("pages/layers.py", "Layers", ":material/layers:"),
    ("pages/export.py", "Export", ":material/download:"),
    ("pages/learn.py", "Learn", ":material/school:"),
    ("pages/rank.py", "Rank & compare", ":material/compare:"),
]

navigation = st.navigation(
    [
        st.Page(path, title=title, icon=icon, default=(path == "pages/data.py"))
        for path, title, icon in PAGES
        if (HERE / path).exists()
    ]
)

# once per server: numba's kernels compile in a low-priority child process (none when the
# cache is complete), so that the first Run loads them instead of compiling for seconds
start_in_background()
_state.harvest_job()
status = st.sidebar.empty()


def show_status() -> None:
    """What is loaded and kept, in the sidebar of every page."""
    with status.container():
        ds = _state.dataset()
        st.caption(f"Data: {literal(_state.dataset_label())}" if ds is not None else "Data: none loaded")
        st.caption(f"Results kept: {len(_state.results())}")
        for job, what in ((_state.job(), "Fit"), (_scan.job(), "Rank scan")):
            if job is not None and not job.finished:
                waiting = job.progress().state == "pending"
                st.caption(f"{what} {'queued' if waiting else 'running'}: {literal(job.name)}")


show_status()  # before the page: a page that stops early (no data yet) still has it
try:
    navigation.run()
finally:
    show_status()  # again, after the page: what it loaded or kept shows without another rerun
    # once per server, after its first page is drawn (before, they would slow that page down):
    # the upload parser's process server starts, and a first fit's modules and kernels load
    _server.warm_parser()
    preload_in_background(delay=_server.AFTER_FIRST_PAGE)
