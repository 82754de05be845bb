"""Load the review page's browser code while the inbox is on screen.

Streamlit's frontend loads the code of many elements only when one is first drawn (a
`React.lazy` chunk per element, shown as a grey skeleton until it arrives). The inbox draws
no code block and no radio, so a reviewer's first row click used to wait for three chunks
(`st.code`'s syntax highlighter is 1.5 MB and pulls a second one) on top of the page
itself: a quarter of a second of skeletons in a fresh browser. The inbox asks the browser to
import those chunks at once; the review page then finds them in the module cache.

Only files that exist in the installed Streamlit's own static folder are named, found by
their stable prefix (the hash in the name changes with each Streamlit release); with none
found, nothing is written. The browser test checks that a row click fetches no script after
the prefetch, so a Streamlit upgrade that renames a chunk shows up there, not as a slow page.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import streamlit as st

__all__ = ["REVIEW_CHUNKS", "prefetch_review_page", "review_chunk_files"]

#: The lazily loaded chunks the review page draws that the inbox does not: `st.code` (the
#: link box and the arguments) with its HTML helper, and `st.radio` (the decision).
REVIEW_CHUNKS = ("StreamlitSyntaxHighlighter", "hastscript", "Radio")

_FILE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.js$")


@functools.cache
def review_chunk_files() -> tuple[str, ...]:
    """File names of `REVIEW_CHUNKS` in this Streamlit's static folder (those found)."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    found: list[str] = []
    for prefix in REVIEW_CHUNKS:
        names = sorted(p.name for p in folder.glob(f"{prefix}.*.js") if _FILE.match(p.name))
        found.extend(names[:1])
    return tuple(found)


def prefetch_review_page() -> None:
    """Have the browser import the review page's chunks now (a no-op once cached)."""
    files = review_chunk_files()
    if not files:
        return
    # The chunks sit beside Streamlit's own entry script, whatever the server's base path.
    script = (
        "<script>(() => {"
        'const entry = document.querySelector(\'script[type="module"][src*="/static/js/"]\');'
        "if (!entry) return;"
        f"for (const f of {json.dumps(list(files))})"
        " import(new URL(f, entry.src).href).catch(() => {});"
        "})();</script>"
    )
    st.html(script, unsafe_allow_javascript=True, width="content")
