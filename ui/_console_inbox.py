"""Inbox page (placeholder until the runtime inbox lands)."""

from __future__ import annotations

import streamlit as st

from interlock.ui._console_auth import require_reviewer

__all__ = ["render"]


def render() -> None:
    require_reviewer()
    st.title("Inbox")
    st.info("Waiting for the runtime inbox.")


if __name__ == "__main__":
    render()
