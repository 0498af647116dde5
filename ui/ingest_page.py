"""Read articles: paste text or upload files (several at once: text, Markdown, HTML, RSS/Atom feed
exports), see what each article names, review the proposed observations.

Nothing enters the registry until the analyst ticks a proposal and presses the write button; the
kind, date and confidence of each can be edited first. A proposal the registry already holds is
shown as such and never written again. The ticked proposals are written as one unit of work: all
or none. User text appears only in dataframes, data editors and st.text (drawn as text), or
escaped by safe.markdown_text, never as HTML.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from facilities.errors import FacilitiesError
from facilities.model import Confidence, ObservationKind
from facilities.store import Store
from tracker.articles import ArticleResult
from tracker.articles.ingest import Accepted, read_files, recorded_notes, write_accepted
from tracker.settings import Settings
from tracker.upload_limits import ARTICLE_MB, articles_sentence

from . import state
from .safe import markdown_text

UPLOAD_MB = ARTICLE_MB  # one statement of the limit: tracker.upload_limits
UPLOAD_TYPES = ["txt", "md", "markdown", "html", "htm", "xml", "rss", "atom"]
ALL_OR_NOTHING = ("Accepting is all or nothing: the ticked proposals are written together as one change (one "
                  "undo takes them all back). If any of them cannot be written, none is, and the reason is shown.")


def mentions_frame(result: ArticleResult) -> pd.DataFrame:
    """A table of what reading an article found: kind, text, value, how it was found and the sentence."""
    rows = [(m.kind, m.text, m.value, m.via, m.sentence) for m in result.mentions]
    return pd.DataFrame(rows, columns=["kind", "text", "value", "found by", "sentence"])


def links_frame(result: ArticleResult) -> pd.DataFrame:
    """A table of the article's facility mentions and the registry facility (or proposed new one) each links to, with
    the score and why."""
    rows = []
    for lk in result.links:
        target = lk.facility_id or (f"new: {lk.new_facility.name} (city precision)" if lk.new_facility else "")
        rows.append((lk.mention.text, target, round(lk.score, 2), lk.reason))
    return pd.DataFrame(rows, columns=["mention", "registry facility", "score", "why"])


def source_line(name: str, result: ArticleResult) -> str:
    """The source as the article describes itself (what a written observation cites), as plain text."""
    a = result.article
    parts = [f"from {name}", a.publisher, f"published {a.published}" if a.published else "date not given", a.url]
    return " · ".join(p for p in parts if p)


COLUMNS = ["accept", "status", "facility", "kind", "date", "confidence", "evidence", "article", "why", "recorded as"]


def _status(note: str) -> tuple[str, str]:
    """recorded_notes' note as a short status and the observation it names: 'already recorded:
    obs-1 (2024-10)' -> ('already recorded', 'obs-1 (2024-10)'); '' -> ('new', '')."""
    if not note:
        return "new", ""
    head, _, detail = note.partition(": ")
    return head, detail


def proposals_frame(results: list[ArticleResult], notes: list[str] | None = None) -> pd.DataFrame:
    """One row per proposal; `status` (from recorded_notes) says when the registry already holds it."""
    rows = []
    proposals = [(n, p) for n, r in enumerate(results, 1) for p in r.proposals]
    notes = notes if notes is not None else [""] * len(proposals)
    for (n, p), note in zip(proposals, notes, strict=True):
        status, recorded_as = _status(note)
        rows.append({
            "accept": False, "status": status, "facility": p.facility_id or f"NEW {p.facility_name}",
            "kind": p.kind.value, "date": str(p.date or p.source.published or ""), "confidence": p.confidence.value,
            "evidence": p.evidence, "article": n, "why": p.reason, "recorded as": recorded_as,
        })
    return pd.DataFrame(rows, columns=COLUMNS)


def _write_accepted(store: Store, results: list[ArticleResult], edited: pd.DataFrame, actor: str) -> None:
    proposals = [p for r in results for p in r.proposals]
    rows = list(zip(edited.itertuples(index=False), proposals, strict=True))
    recorded = [row for row, _ in rows if row.accept and row.status != "new"]
    accepted = [Accepted(p, row.kind, row.confidence, row.date or "") for row, p in rows
                if row.accept and row.status == "new"]
    if recorded:
        st.info(f"{len(recorded)} ticked proposal(s) already recorded: not written again.")
    if not accepted:
        if not recorded:
            st.warning("Nothing is ticked: tick the proposals to keep in the accept column.")
        return
    written, problems = write_accepted(store, accepted, actor)
    if written:
        st.success(f"Wrote {written} observation(s) with their sources, as one change.")
    for problem in problems:
        st.error(markdown_text(f"Not written: {problem}"))


def _inputs(text: str, uploads: list) -> tuple[list[tuple[str, bytes]], list[str]]:
    files, problems = [], []
    for upload in uploads:
        if upload.size > UPLOAD_MB * 2**20:
            problems.append(f"{upload.name} is {upload.size / 2**20:.1f} MB, over the limit. "
                            + articles_sentence())
        else:
            files.append((upload.name, upload.getvalue()))
    if text.strip():
        files.append(("pasted text", text.encode("utf-8")))
    return files, problems


def _read(store: Store, text: str, uploads: list, published: str) -> None:
    files, problems = _inputs(text, uploads)
    for problem in problems:
        st.error(markdown_text(problem))
    if not files:
        if not problems:
            st.warning("There is no text to read: paste an article or upload files.")
        return
    bar = st.progress(0.0, text="Reading…")

    def progress(done: int, total: int, name: str) -> None:
        label = f"Reading {markdown_text(name)} ({done + 1} of {total})" if done < total else f"Read {total} input(s)"
        bar.progress(done / total, text=label)

    try:
        read, failed = read_files(store, files, published.strip(), progress)
    except FacilitiesError as err:  # the registry could not be listed, or the date is not a date
        bar.empty()
        st.error(markdown_text(str(err)))
        return
    bar.empty()
    for problem in failed:
        st.error(markdown_text(f"Not read: {problem}"))
    state.put(state.INGEST_RESULTS, read)


def ingest_page(store: Store, settings: Settings) -> None:
    """The read-articles page: paste or upload articles, review what was found, accept proposed observations into the
    registry."""
    st.title("Read articles")
    st.caption("Paste an article, or upload files: text, Markdown, HTML, or an RSS/Atom feed export (one article "
               f"per item), several at once. {articles_sentence()} In pasted text, separate articles with a "
               "line of ---. Nothing is written until you accept it below.")
    text = st.text_area("Article text", height=200, key="ingest_text")
    uploads = st.file_uploader("…or files", type=UPLOAD_TYPES, accept_multiple_files=True, key="ingest_files")
    published = st.text_input("Publication date, if the text does not say (YYYY[-MM[-DD]])", key="ingest_date")
    if st.button("Read", type="primary"):
        _read(store, text, list(uploads or []), published)
    read: list[tuple[str, ArticleResult]] = state.get(state.INGEST_RESULTS, [])
    if not read:
        return
    results = [r for _, r in read]
    st.subheader(f"{len(results)} article(s) read")
    for n, (name, r) in enumerate(read, 1):
        title = r.article.title or "(untitled)"
        with st.expander(markdown_text(f"Article {n}: {title} ({r.article.language})"), expanded=len(read) == 1):
            st.text(source_line(name, r))
            st.dataframe(mentions_frame(r), hide_index=True, width="stretch")
            if r.links:
                st.markdown("**Facility mentions and the registry**")
                st.dataframe(links_frame(r), hide_index=True, width="stretch")
    proposals = [p for r in results for p in r.proposals]
    frame = proposals_frame(results, recorded_notes(store, proposals))
    recorded = int((frame["status"] != "new").sum())
    st.markdown(f"**Proposed observations** ({len(frame)}, {recorded} already recorded): tick the ones to keep; "
                "edit kind, date or confidence first if needed")
    if frame.empty:
        st.info("No observations proposed.")
        return
    edited = st.data_editor(
        frame, hide_index=True, key="ingest_proposals", width="stretch",
        disabled=["status", "facility", "evidence", "article", "why", "recorded as"],
        column_config={
            "accept": st.column_config.CheckboxColumn("accept", width="small"),
            "status": st.column_config.TextColumn(
                "status", width=130, help="new, or already recorded (never written again, even if ticked)"),
            "kind": st.column_config.SelectboxColumn("kind", options=[k.value for k in ObservationKind]),
            "date": st.column_config.TextColumn("date", width="small", help="YYYY, YYYY-MM or YYYY-MM-DD"),
            "confidence": st.column_config.SelectboxColumn("confidence", width=100,
                                                           options=[c.value for c in Confidence]),
            "evidence": st.column_config.TextColumn("evidence", width="large"),
            "article": st.column_config.NumberColumn("article", help="the article's number above", width="small"),
            "recorded as": st.column_config.TextColumn("recorded as", help="the registry's observation"),
        })
    st.caption(ALL_OR_NOTHING)
    if st.button("Write accepted observations"):
        _write_accepted(store, results, edited, state.actor(settings))
