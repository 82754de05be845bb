"""The reviewer console: `streamlit run` this file (`interlock console` does).

Settings come from the environment (`INTERLOCK_DATABASE_URL`, `INTERLOCK_REVIEWERS`,
`INTERLOCK_POLICY`). Before sign-in only the sign-in page exists; after it, the pages are
Inbox, Review, Audit, Controls and Policy.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from interlock.risk.errors import InterlockError
from interlock.ui._console_auth import (
    refresh_identity,
    sidebar_identity,
    sign_in_page,
    signed_in,
)
from interlock.ui._console_render import db_guard, esc

__all__ = ["PAGES", "main"]

HERE = Path(__file__).resolve().parent
PAGES: dict[str, tuple[str, str, str]] = {
    # url path: (file, title, icon)
    "inbox": ("_console_inbox.py", "Inbox", ":material/inbox:"),
    "review": ("_console_review.py", "Review", ":material/fact_check:"),
    "audit": ("_console_audit.py", "Audit", ":material/receipt_long:"),
    "controls": ("_console_controls.py", "Controls", ":material/block:"),
    "policy": ("_console_policy.py", "Policy", ":material/policy:"),
}


def _pages() -> list[st.Page]:
    return [
        st.Page(HERE / file, title=title, icon=icon, url_path=path, default=path == "inbox")
        for path, (file, title, icon) in PAGES.items()
    ]


def _app() -> None:
    refresh_identity()
    reviewer = signed_in()
    if reviewer is None:
        page = st.navigation(
            [st.Page(sign_in_page, title="Sign in", url_path="sign-in", default=True)],
            position="hidden",
        )
    else:
        page = st.navigation(_pages())
        sidebar_identity(reviewer)
    page.run()


def main() -> None:
    st.set_page_config(page_title="Interlock console", page_icon=":material/shield:", layout="wide")
    try:
        db_guard(_app)
    except InterlockError as exc:
        # Configuration problems (bad URL, unreadable reviewers or policy file): one clear line.
        st.error(f"**The console cannot start:** {esc(exc)}", icon=":material/warning:")


if __name__ == "__main__":
    main()
