"""A minimal Streamlit client over the app's websocket, for load tests without browsers.

It speaks what the browser speaks: protobuf ``BackMsg`` frames (``rerun_script`` with
the widget states, ``file_urls_request``) over ``/_stcore/stream`` and ``ForwardMsg``
frames back, plus the HTTP ``PUT`` of ``st.file_uploader`` with the XSRF cookie. It
keeps the elements of the last run by delta path, so that a page's text (titles,
Markdown, alerts, captions, metrics, progress text, button labels) can be read, and it
finds widgets by their user key (Streamlit's widget ids end with ``-<key>``).

Only loopback servers are meant: the client sends nothing but what a page asks for.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.sync.client import connect

_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_FINAL = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)
_WIDGETS = ("button", "number_input", "radio", "file_uploader", "selectbox", "checkbox", "text_input",
            "slider")


def unescape(markdown: str) -> str:
    """Markdown source with backslash escapes of punctuation removed (as a browser shows it)."""
    return _ESCAPED.sub(r"\1", markdown)


@dataclass
class Page:
    """What the last complete run of a session drew."""

    elements: dict[tuple[int, ...], Any] = field(default_factory=dict)

    def texts(self) -> list[str]:
        """Readable strings of the page, in delta-path order, escapes removed."""
        out = []
        for _, element in sorted(self.elements.items()):
            kind = element.WhichOneof("type")
            if kind in ("markdown", "alert", "heading", "text"):
                body = getattr(element, kind).body
            elif kind == "metric":
                body = f"{element.metric.label}: {element.metric.body}"
            elif kind == "progress":
                body = element.progress.text
            elif kind == "exception":
                body = f"EXCEPTION {element.exception.type}: {element.exception.message}"
            elif kind in _WIDGETS:
                body = getattr(element, kind).label
            else:
                continue
            out.append(unescape(body))
        return out

    def text(self) -> str:
        return "\n".join(self.texts())

    def alerts(self, fmt: int | None = None) -> list[str]:
        """Bodies of ``st.error``/``st.warning``/``st.info``/``st.success`` (Alert.format 1-4)."""
        return [unescape(e.alert.body) for _, e in sorted(self.elements.items())
                if e.WhichOneof("type") == "alert" and (fmt is None or e.alert.format == fmt)]

    def widget(self, kind: str, key: str) -> Any | None:
        """The proto of the widget of ``kind`` with user key ``key``, or None."""
        for element in self.elements.values():
            if element.WhichOneof("type") == kind and getattr(element, kind).id.endswith("-" + key):
                return getattr(element, kind)
        return None

    def exceptions(self) -> list[str]:
        return [t for t in self.texts() if t.startswith("EXCEPTION")]


class StreamlitClient:
    """One browser session of a Streamlit app, driven over its websocket.

    Parameters
    ----------
    url : str
        ``http://127.0.0.1:<port>`` of the app.
    timeout : float
        Seconds one script run may take before :meth:`rerun` raises.
    """

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.http.get(self.url + "/_stcore/health", timeout=timeout).raise_for_status()
        ws_url = "ws" + self.url[len("http"):] + "/_stcore/stream"
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(
            ws_url, subprotocols=["streamlit"], open_timeout=timeout, max_size=None,
            additional_headers={"Origin": self.url, "Cookie": cookie}))
        self.session_id: str | None = None
        self.pages: dict[str, str] = {}  # page title ("Data", "Model", ...) -> page_script_hash
        self.page_hash = ""
        self.widgets: dict[str, WidgetState] = {}
        self.page = Page()
        self.run_seconds: list[float] = []

    # ------------------------------------------------------------------ protocol

    def _send(self, msg: BackMsg) -> None:
        self.ws.send(msg.SerializeToString())

    def _receive(self, deadline: float) -> ForwardMsg:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer from {self.url} in time")
        msg = ForwardMsg()
        msg.ParseFromString(self.ws.recv(timeout=left))
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id or self.session_id
        elif kind == "navigation":
            self.pages = {p.page_name: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        return msg

    def rerun(self, *, triggers: dict[str, WidgetState] | None = None, page: str | None = None) -> Page:
        """Run the script as a browser would (widget states sent), wait until it ends, return the page."""
        state = BackMsg()
        client = state.rerun_script
        client.query_string = ""
        if page is not None:
            client.page_script_hash = self.pages[page]
        elif self.page_hash:
            client.page_script_hash = self.page_hash
        for widget in [*self.widgets.values(), *(triggers or {}).values()]:
            client.widget_states.widgets.append(widget)
        start = time.monotonic()
        deadline = start + self.timeout
        self._send(state)
        elements: dict[tuple[int, ...], Any] = {}
        while True:
            msg = self._receive(deadline)
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                elements[tuple(msg.metadata.delta_path)] = msg.delta.new_element
            elif kind == "script_finished":
                if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    elements = {}  # st.rerun(): the server starts the next run by itself
                elif msg.script_finished in _FINAL:
                    break
        self.run_seconds.append(time.monotonic() - start)
        self.page = Page(elements)
        return self.page

    # ------------------------------------------------------------------ actions

    def open(self, page: str | None = None) -> Page:
        """The first run (the default page), or a switch to ``page`` (its title in the navigation)."""
        if page is not None and page not in self.pages:
            self.rerun()
        return self.rerun(page=page)

    def _widget_id(self, kind: str, key: str) -> str:
        widget = self.page.widget(kind, key)
        if widget is None:
            raise LookupError(f"no {kind} with key {key!r} on the page; it shows: {self.page.texts()[:12]}")
        return widget.id

    def click(self, key: str) -> Page:
        """Click the button with user key ``key``."""
        widget_id = self._widget_id("button", key)
        return self.rerun(triggers={widget_id: WidgetState(id=widget_id, trigger_value=True)})

    def set_number(self, key: str, value: float) -> None:
        """Set a number input (sent with the next run)."""
        proto = self.page.widget("number_input", key)
        if proto is None:
            raise LookupError(f"no number input with key {key!r}")
        state = WidgetState(id=proto.id)
        if proto.data_type == proto.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
        self.widgets[proto.id] = state

    def upload(self, key: str, name: str, payload: bytes) -> Page:
        """Upload one file to the ``st.file_uploader`` with user key ``key``, as the browser does."""
        widget_id = self._widget_id("file_uploader", key)
        request = BackMsg()
        request_id = uuid.uuid4().hex
        request.file_urls_request.request_id = request_id
        request.file_urls_request.file_names.append(name)
        request.file_urls_request.session_id = self.session_id or ""
        self._send(request)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._receive(deadline)
            if msg.WhichOneof("type") == "file_urls_response" and msg.file_urls_response.response_id == request_id:
                break
        if msg.file_urls_response.error_msg:
            raise RuntimeError(msg.file_urls_response.error_msg)
        urls = msg.file_urls_response.file_urls[0]
        token = self.http.cookies.get("_streamlit_xsrf", "")
        reply = self.http.put(urllib.parse.urljoin(self.url + "/", urls.upload_url.lstrip("/")),
                              files={"file": (name, payload)}, headers={"X-Xsrftoken": token},
                              timeout=self.timeout)
        reply.raise_for_status()
        info = UploadedFileInfo(name=name, size=len(payload), file_id=urls.file_id, file_urls=urls)
        state = WidgetState(id=widget_id, file_uploader_state_value=FileUploaderState(uploaded_file_info=[info]))
        self.widgets[widget_id] = state
        return self.rerun()

    def close(self) -> None:
        """Close the websocket, as a browser tab that goes away does."""
        self._stack.close()
