"""What every session of one server process shares: the queue of fits and the limits.

Made once per process by ``st.cache_resource``: :func:`limits` reads the ``NMFCORE_*``
variables (:mod:`nmfcore.app.limits`) and :func:`fit_queue` is the one
:class:`~nmfcore.app.queue.FitQueue`. Streamlit has no hook for a session that ends, so
the queue asks Streamlit's runtime whether the session that submitted a fit is still
connected (:func:`session_alive`, through ``streamlit.runtime``'s
``is_active_session``); a session gone for ``NMFCORE_SESSION_GRACE`` seconds (default
120, as long as Streamlit keeps a disconnected session for its browser to reconnect)
has its fit cancelled by the queue's reaper thread. :func:`warm_parser` starts the
process server that parses uploads, once, in the background (``app.py`` calls it after
the first page is drawn). Session state stays in :mod:`pages._state`.
"""

from __future__ import annotations

import logging
import threading
import time

import streamlit as st
from streamlit import runtime

from nmfcore.app.limits import Limits
from nmfcore.app.queue import FitQueue
from nmfcore.app.sources import load_source

_LOG = logging.getLogger(__name__)

AFTER_FIRST_PAGE = 1.0
"""Seconds the background warm-ups wait after the first page's script has run: its last
messages are still on their way to the browser, which draws them on the same cores."""

LOCAL = "local:"
"""Prefix of the keys of sessions the runtime cannot vouch for (AppTest, bare mode): never reaped."""


@st.cache_resource(show_spinner=False)
def limits() -> Limits:
    """The server's limits, read once from the ``NMFCORE_*`` environment variables."""
    return Limits.from_env()


def session_alive(session_key: str) -> bool | None:
    """Whether the session is still connected; None when the runtime cannot tell."""
    if session_key.startswith(LOCAL) or not runtime.exists():
        return None
    alive = runtime.get_instance().is_active_session(session_key)
    return alive if isinstance(alive, bool) else None  # AppTest's stand-in runtime answers a mock


@st.cache_resource(show_spinner=False)
def fit_queue() -> FitQueue:
    """The one queue of fits of this server process, shared by every session."""
    return FitQueue.from_limits(limits(), liveness=session_alive)


def _parse_tiny_upload() -> None:
    time.sleep(AFTER_FIRST_PAGE)
    try:
        load_source({"files": [("warm-up.csv", b"1,2\n3,4\n")], "kind": None})
    except Exception:  # the first real upload will say what is wrong
        _LOG.exception("warming up the upload parser failed")


@st.cache_resource(show_spinner=False)
def warm_parser() -> threading.Thread:
    """Parse a tiny upload in the background once (:data:`AFTER_FIRST_PAGE` seconds from now), so
    that the first user's upload does not wait for the parser's process server to start (it
    imports the readers: seconds)."""
    thread = threading.Thread(target=_parse_tiny_upload, name="nmfcore-parser-warm-up", daemon=True)
    thread.start()
    return thread
