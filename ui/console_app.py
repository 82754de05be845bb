"""The reviewer console: `streamlit run` this file (`interlock console` does).

Settings come from the environment (`INTERLOCK_DATABASE_URL`, `INTERLOCK_REVIEWERS`,
`INTERLOCK_POLICY`). Before sign-in every address shows the sign-in form; after it, the
pages are Inbox, Review, Audit, Controls and Policy. A link such as
`/review?review=<id>` (the shape notifications send) keeps its address and query through
sign-in, so it opens that review once the reviewer is in; a session cookie
(`_console_session`) keeps them in across reloads and new tabs.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from interlock.risk.errors import InterlockError
from interlock.ui._console_auth import (
    refresh_identity,
    session_cookie,
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


def _sign_in_pages() -> list[st.Page]:
    # The sign-in form answers at every page's address (instead of "Page not found" and a
    # rewritten URL), so a shared link's path and `?review=` survive the sign-in rerun.
    pages = [st.Page(sign_in_page, title="Sign in", url_path="sign-in", default=True)]
    pages += [st.Page(sign_in_page, title="Sign in", url_path=path) for path in PAGES]
    return pages


def _app() -> None:
    refresh_identity()
    reviewer = signed_in()
    # The cookie's script goes out first: a page that already says "Signed in as" has
    # stored the session, so a new tab or a deep link opened right after stays signed in.
    session_cookie()
    if reviewer is None:
        rid = st.query_params.get("review")
        if rid:  # a deep link: open it after sign-in even if the URL loses its query
            st.session_state["review_id"] = rid
        page = st.navigation(_sign_in_pages(), position="hidden")
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
