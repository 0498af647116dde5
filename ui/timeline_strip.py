"""The Compare page's timeline strip: every dated image of the site on one time axis, clicked to choose
"before" and "after" (or the slider's image in the Time slider view).

Each layer the page offers becomes the timeline contract's entry (imagery.timeline.TimelineEntry, the
rows `facilities imagery timeline` prints), so the strip shows what the CLI and scripts read: one row
per source, shape and colour by source, Sentinel-2 scenes fainter the cloudier they are inside the
outline, view-only images (Esri Wayback: the licence lets the browser show them, not the server
analyse them) as hollow marks. A click goes through `apply_pick` (pure) into the same session keys the
page's "Before"/"After" boxes and slider use, in the chart's callback, before those widgets are drawn.

Titles and attributions travel only as tooltip data, which the bundled Vega tooltip handler escapes
(see ui/timeline.py); nothing here is rendered as HTML or markdown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from imagery.base import DateCertainty
from imagery.catalogue import DatedLayer
from imagery.timeline import TimelineEntry, entry_from_capture

from . import state

BEFORE, AFTER = "Before", "After"
ROWS = ("Wayback", "Sentinel-2 cloudless", "Sentinel-2 scene", "Local image")  # top to bottom
COLOURS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd")
SHAPES = ("square", "diamond", "circle", "triangle-up")
CERTAINTY = {DateCertainty.CAPTURED: "captured", DateCertainty.RELEASED: "release date (pictures older)",
             DateCertainty.COMPOSITE: "yearly composite", DateCertainty.STATED: "stated by the importer"}
COLUMNS = ["key", "date", "day", "row", "title", "dated", "cloud", "clear", "use", "analysable", "mark"]
LEGEND = ("Click a mark to set the date named above the strip; filled marks can be analysed, hollow marks are "
          "view only (Esri Wayback: shown by your browser, never read by the server); Sentinel-2 scenes are "
          "fainter the cloudier they are inside the outline.")


def entry_for(layer: DatedLayer) -> TimelineEntry:
    """The layer as the timeline contract's entry; its date and analysability are the page's."""
    entry = entry_from_capture(layer.capture, layer.source, analysable=layer.readable) if layer.capture else None
    return TimelineEntry(
        key=layer.image, date=layer.date, certainty=layer.certainty, source=layer.source,
        release_date=entry.release_date if entry else None, other_dates=entry.other_dates if entry else (),
        resolution_m=entry.resolution_m if entry else None, cloud_fraction=entry.cloud_fraction if entry else None,
        licence=layer.licence, attribution=layer.attribution_text, analysable=layer.readable)


def strip_frame(layers: Sequence[DatedLayer], marks: Mapping[str, str]) -> pd.DataFrame:
    """One row per layer, oldest first; `marks` names the chosen ones (key -> "Before", "After", "Showing")."""
    rows = []
    for layer in layers:
        e = entry_for(layer)
        cloud = e.cloud_fraction
        rows.append({
            "key": str(e.key), "date": pd.Timestamp(e.date), "day": e.date.isoformat(),
            "row": layer.source if layer.source in ROWS else ROWS[-1], "title": layer.title,
            "dated": CERTAINTY[e.certainty],
            "cloud": "not measured" if cloud is None else f"{cloud:.0%} inside the outline",
            "clear": 1.0 if cloud is None else 1.0 - cloud,
            "use": "analysable" if e.analysable else "view only (licence)", "analysable": e.analysable,
            "mark": marks.get(str(e.key), ""),
        })
    return pd.DataFrame(rows, columns=COLUMNS).astype({"date": "datetime64[ns]", "clear": float})


def strip_chart(frame: pd.DataFrame):
    """Marks on one time axis, a row per source; rules and labels at the chosen images; a click selects a key."""
    import altair as alt

    rows = [r for r in ROWS if r in set(frame["row"])]
    colour = alt.Color("row:N", legend=None, scale=alt.Scale(domain=list(ROWS), range=list(COLOURS)))
    x = alt.X("date:T", title=None, axis=alt.Axis(format="%Y", labelAngle=0, tickCount="year", grid=True),
              scale=alt.Scale(padding=14))
    y = alt.Y("row:N", title=None, sort=rows, scale=alt.Scale(domain=rows), axis=alt.Axis(labelLimit=160))
    tips = [alt.Tooltip("day:N", title="Date"), alt.Tooltip("title:N", title="Image"),
            alt.Tooltip("dated:N", title="Dated by"), alt.Tooltip("cloud:N", title="Cloud"),
            alt.Tooltip("use:N", title="Use")]
    pick = alt.selection_point(name="pick", fields=["key"], on="click", toggle=False, clear=False)
    points = alt.Chart(frame).mark_point(size=170, strokeWidth=2, filled=True, cursor="pointer").encode(
        x=x, y=y, stroke=colour,
        fill=alt.condition("datum.analysable", colour, alt.value("white")),
        fillOpacity=alt.FillOpacity("clear:Q", legend=None, scale=alt.Scale(domain=[0, 1], range=[0.2, 1])),
        shape=alt.Shape("row:N", legend=None, scale=alt.Scale(domain=list(ROWS), range=list(SHAPES))),
        tooltip=tips,
    ).add_params(pick)
    chosen = alt.Chart(frame).transform_filter("datum.mark != ''")
    rules = chosen.mark_rule(color="#d62728", strokeWidth=2, strokeDash=[4, 3]).encode(x=x)
    labels = chosen.mark_text(color="#d62728", fontWeight="bold", align="left", baseline="top", dx=4).encode(
        x=x, y=alt.value(-16), text="mark:N")
    return (rules + points + labels).properties(height=strip_height(frame), padding={"top": 22, "left": 5,
                                                                                      "right": 15, "bottom": 5})


def strip_height(frame: pd.DataFrame) -> int:
    """The plot's height: a row of marks per source shown."""
    return 36 * max(1, frame["row"].nunique()) + 8


def apply_pick(values: MutableMapping[Any, Any], picked: str, dates: Mapping[str, dt.date], slider: bool) -> None:
    """Put a clicked key where the page reads it: the slider's key in the Time slider view, else the before or
    after key the target names (then the target flips, so two clicks choose a pair); a pair picked out of
    order is swapped so "before" is never after "after". Unknown keys change nothing."""
    if picked not in dates:
        return
    if slider:
        values[state.COMPARE_SLIDER] = picked
        return
    target = values.get(state.STRIP_TARGET, BEFORE)
    values[state.COMPARE_BEFORE if target == BEFORE else state.COMPARE_AFTER] = picked
    before, after = values.get(state.COMPARE_BEFORE), values.get(state.COMPARE_AFTER)
    if before in dates and after in dates and dates[str(before)] > dates[str(after)]:
        values[state.COMPARE_BEFORE], values[state.COMPARE_AFTER] = after, before
    values[state.STRIP_TARGET] = AFTER if target == BEFORE else BEFORE


def picked_key(selection: object) -> str | None:
    """The key a strip selection event carries ({"selection": {"pick": [{"key": ...}]}}), or None."""
    try:
        points = selection["selection"]["pick"]  # type: ignore[index]
        key = points[0]["key"] if points else None
    except (KeyError, IndexError, TypeError):
        return None
    return key if isinstance(key, str) else None


def show_strip(layers: Sequence[DatedLayer], slider: bool) -> None:
    """The strip over `layers`, marking the images the page shows; a click sets them (see `apply_pick`)."""
    dates = {layer.key: layer.date for layer in layers}
    if slider:
        marks = {str(state.get(state.COMPARE_SLIDER)): "Showing"}
    else:
        st.radio("A click on the strip sets", (BEFORE, AFTER), horizontal=True, key=state.STRIP_TARGET)
        before, after = state.get(state.COMPARE_BEFORE), state.get(state.COMPARE_AFTER)
        marks = {str(after): AFTER, str(before): BEFORE} if before != after else {str(before): "Before = after"}

    def clicked() -> None:
        key = picked_key(st.session_state.get(state.STRIP))
        if key is not None:
            apply_pick(st.session_state, key, dates, slider)

    frame = strip_frame(layers, marks)
    st.altair_chart(strip_chart(frame), width="stretch", height=strip_height(frame) + 60, key=state.STRIP,
                    on_select=clicked, selection_mode="pick")
    st.caption(LEGEND if not slider else LEGEND.replace("set the date named above the strip", "show that date"))
