"""Read articles: paste or upload text, see what it names, review the proposed observations.

Nothing enters the registry until the analyst ticks a proposal and presses the write button; the
kind, date and confidence of each can be edited first. User text appears only in dataframes and
data editors (drawn as text), never as HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from facilities.errors import FacilitiesError
from facilities.model import Confidence, ObservationKind
from facilities.store import Store
from tracker.articles import ArticleResult
from tracker.articles.ingest import Accepted, read_text, write_accepted
from tracker.settings import Settings

from . import state
from .safe import markdown_text

UPLOAD_MB = 10


def mentions_frame(result: ArticleResult) -> pd.DataFrame:
    rows = [(m.kind, m.text, m.value, m.via, m.sentence) for m in result.mentions]
    return pd.DataFrame(rows, columns=["kind", "text", "value", "found by", "sentence"])


def links_frame(result: ArticleResult) -> pd.DataFrame:
    rows = []
    for lk in result.links:
        target = lk.facility_id or (f"new: {lk.new_facility.name} (city precision)" if lk.new_facility else "")
        rows.append((lk.mention.text, target, round(lk.score, 2), lk.reason))
    return pd.DataFrame(rows, columns=["mention", "registry facility", "score", "why"])


def proposals_frame(results: list[ArticleResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        for p in r.proposals:
            rows.append({
                "accept": False, "kind": p.kind.value, "date": str(p.date or p.source.published or ""),
                "confidence": p.confidence.value,
                "facility": p.facility_id or f"NEW {p.facility_name}", "evidence": p.evidence,
                "why": p.reason,
            })
    return pd.DataFrame(rows, columns=["accept", "kind", "date", "confidence", "facility", "evidence", "why"])


def _write_accepted(store: Store, results: list[ArticleResult], edited: pd.DataFrame, actor: str) -> None:
    proposals = [p for r in results for p in r.proposals]
    accepted = [Accepted(p, row.kind, row.confidence, row.date or "")
                for row, p in zip(edited.itertuples(index=False), proposals, strict=True) if row.accept]
    written, problems = write_accepted(store, accepted, actor)
    if written:
        st.success(f"Wrote {written} observation(s) with their source.")
    for problem in problems:
        st.error(markdown_text(f"Not written: {problem}"))


def ingest_page(store: Store, settings: Settings) -> None:
    st.title("Read articles")
    st.caption("Paste an article or upload text, Markdown or HTML (several articles: separate them with a "
               f"line of ---). Uploads up to {UPLOAD_MB} MB. Nothing is written until you accept it below.")
    text = st.text_area("Article text", height=200, key="ingest_text")
    upload = st.file_uploader("…or a file", type=["txt", "md", "html", "htm"], key="ingest_file")
    published = st.text_input("Publication date, if the text does not say (YYYY[-MM[-DD]])", key="ingest_date")
    if st.button("Read", type="primary"):
        name = "pasted text"
        if upload is not None:
            if upload.size > UPLOAD_MB * 2**20:
                st.error(f"{upload.name} is {upload.size / 2**20:.1f} MB; the limit is {UPLOAD_MB} MB.")
                return
            text, name = upload.getvalue().decode("utf-8", errors="replace"), upload.name
        if not text.strip():
            st.warning("There is no text to read.")
            return
        try:
            state.put(state.INGEST_RESULTS, read_text(store, text, name, published.strip()))
        except FacilitiesError as err:
            st.error(markdown_text(str(err)))
            return
    results: list[ArticleResult] = state.get(state.INGEST_RESULTS, [])
    if not results:
        return
    for r in results:
        st.subheader(f"Article {r.article.index + 1} ({r.article.language})")
        st.text(r.article.title)
        st.dataframe(mentions_frame(r), hide_index=True)
        if r.links:
            st.markdown("**Facility mentions and the registry**")
            st.dataframe(links_frame(r), hide_index=True)
    frame = proposals_frame(results)
    st.markdown(f"**Proposed observations** ({len(frame)}): tick the ones to keep, edit kind, date or confidence")
    if frame.empty:
        st.info("No observations proposed.")
        return
    edited = st.data_editor(
        frame, hide_index=True, key="ingest_proposals", disabled=["facility", "evidence", "why"],
        column_config={
            "accept": st.column_config.CheckboxColumn("accept"),
            "kind": st.column_config.SelectboxColumn("kind", options=[k.value for k in ObservationKind]),
            "confidence": st.column_config.SelectboxColumn("confidence", options=[c.value for c in Confidence]),
            "evidence": st.column_config.TextColumn("evidence", width="large"),
        })
    if st.button("Write accepted observations"):
        _write_accepted(store, results, edited, settings.actor)
