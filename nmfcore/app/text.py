"""Text from data shown as text on the app's pages.

Feature and item names, ``obs`` labels, file names, ZIP member names and the messages
that quote them can hold Markdown or HTML (``<img src=x onerror=...>``,
``[x](javascript:...)``, ``**``). Streamlit renders Markdown in ``st.markdown``,
``st.caption``, ``st.title``/``st.subheader``, ``st.info``/``st.error``/``st.warning``/
``st.success``, ``st.metric`` labels, ``st.radio`` options and widget ``help``; every
string that comes from data goes through :func:`literal` before it reaches one of
them. Figures escape their own text (:func:`nmfcore.plot._style.plain`), and
``st.dataframe`` cells and ``st.selectbox`` options are shown as typed.
"""

from __future__ import annotations

import re

# characters that open Markdown, HTML, LaTeX or Streamlit syntax anywhere in a line
_ALWAYS = frozenset("\\`*_[]<>#~$|&")
_LINE_BREAKS = re.compile(r"[\r\n]+")
WORD_JOINER = "\u2060"
"""Invisible, unbreakable: put where a pattern that escapes cannot stop would start."""
# Streamlit turns emoji shortcodes (":smile:"), icons (":material/home:") and GFM autolinks
# ("https://...", "www.x.org", "a@b.co") into pictures and links after parsing, in the text
# itself, where a backslash is already gone: a word joiner breaks each pattern instead
_COLON = re.compile(r":(?=\S)")
_AT = re.compile(r"@")
_WWW = re.compile(r"(?i)\b(www)(?=\.)")
# a bullet or a numbered item at the start of the text
_BULLET = re.compile(r"^(\s*)([-+])")
_NUMBERED = re.compile(r"^(\s*\d+)([.)])")


def literal(text: object) -> str:
    r"""``text`` as Markdown that shows exactly these characters.

    The characters that open Markdown, HTML, LaTeX or Streamlit syntax are
    backslash-escaped (CommonMark shows an escaped character as itself): ``\ ` * _
    [ ] < > # ~ $ | &`` and a leading list marker. Patterns that Streamlit finds in
    the text after parsing (emoji and icon shortcodes, bare URLs and e-mail
    addresses) are broken by an invisible :data:`WORD_JOINER` after a colon that a
    non-space follows, before ``@`` and inside ``www.``. So no emphasis, link,
    image, HTML tag, entity, formula, directive, icon or emoji can start, and line
    breaks become spaces so that the text stays inline. Other characters (letters,
    ``.``, ``(``, ``=``, ...) are left as they are.

    Parameters
    ----------
    text : object
        Anything; ``str(text)`` is escaped (``None`` gives ``"None"``).

    Returns
    -------
    str
        Safe to embed in a Markdown string, also inside ``**...**``; it reads the same
        as ``text`` (the word joiners are invisible).

    Examples
    --------
    >>> print(literal("**bold** <b>"))
    \*\*bold\*\* \<b\>
    >>> print(literal("a.csv"))
    a.csv
    """
    flat = _LINE_BREAKS.sub(" ", str(text))
    escaped = "".join("\\" + c if c in _ALWAYS else c for c in flat)
    escaped = _COLON.sub(":" + WORD_JOINER, escaped)
    escaped = _AT.sub(WORD_JOINER + "@", escaped)
    escaped = _WWW.sub(r"\1" + WORD_JOINER, escaped)
    escaped = _BULLET.sub(r"\1\\\2", escaped)
    return _NUMBERED.sub(r"\1\\\2", escaped)
