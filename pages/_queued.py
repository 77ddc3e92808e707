"""The notice of a job waiting in the server's queue, shared by the pages that submit jobs."""

from __future__ import annotations

import streamlit as st

from nmfcore.app.queue import QueueStatus


def queued_notice(place: tuple[int, QueueStatus], what: str, key: str) -> bool:
    """Show the job's place in the queue and a Cancel button; True when it was clicked.

    Parameters
    ----------
    place : (position, status)
        From the queue, while the job waits.
    what : str
        What waits, as the sentence's subject: ``"yours"``, ``"the scan"``.
    key : str
        The Cancel button's widget key.
    """
    position, status = place
    st.info(f"Queued: position {position} of {status.queued}. {status.running} of the server's "
            f"{status.max_running} fit slots are busy; {what} starts when one frees up.",
            icon=":material/hourglass_top:")
    return st.button("Cancel", key=key, icon=":material/cancel:",
                     help="Take it out of the queue; nothing is run or kept.")
