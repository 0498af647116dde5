"""The facility timeline as a chart: dated observations and the built-up footprint area.

`timeline_chart_data` is pure (observations and structures in, two DataFrames out);
`show_timeline_chart` draws them with Altair. User text (summaries, image ids, names) travels only
as data fields shown in tooltips; the Vega tooltip handler bundled with Streamlit escapes `&` and
`<` in every key and value before it writes the tooltip's HTML (vega-tooltip's default
`sanitize`, which Streamlit leaves in place). Two tooltip keys are special to vega-tooltip:
`title` becomes a heading and `image` an <img src=...>; no tooltip field here is titled either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from facilities.dates import DatePrecision
from facilities.geometry import ground_area_m2
from facilities.model import Observation, Structure

EVENT_COLUMNS = ["id", "start", "end", "date", "precision", "kind", "summary", "confidence", "seen_on",
                 "structure"]
AREA_COLUMNS = ["date", "area_m2", "footprints", "points"]
AREA_CAPTION = ("Built-up footprint: the summed ground area of the facility's structures between their built "
                "and removed dates (each counted from the first day its date may mean). Structures located only "
                "by a point count 0 until someone digitises their footprint; structures without a built date "
                "count from the start of the chart.")


def image_label(o: Observation) -> str:
    """'provider · image id · acquired', or '' when the observation names no image."""
    if o.image is None:
        return ""
    return " · ".join(str(x) for x in (o.image.provider, o.image.image_id, o.image.acquired) if x)


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def events_frame(observations: Sequence[Observation], structures: Sequence[Structure] = ()) -> pd.DataFrame:
    """One row per observation, oldest first: `start` is the first day its date may mean; `end`
    the last for month, year and approximate dates (equal to `start` for a day)."""
    names = {s.id: s.name for s in structures}
    rows = []
    for o in sorted(observations, key=lambda o: (o.date.start, o.date.end, o.id)):
        end = o.date.start if o.date.precision is DatePrecision.DAY else o.date.end
        rows.append({
            "id": o.id, "start": _ts(o.date.start), "end": _ts(end), "date": str(o.date),
            "precision": o.date.precision.value, "kind": o.kind.value, "summary": o.summary,
            "confidence": o.confidence.value, "seen_on": image_label(o),
            "structure": names.get(o.structure_id, o.structure_id or ""),
        })
    return pd.DataFrame(rows, columns=EVENT_COLUMNS).astype({"start": "datetime64[ns]", "end": "datetime64[ns]"})


def area_frame(structures: Sequence[Structure], span: Sequence[dt.date] = ()) -> pd.DataFrame:
    """Built-up footprint area as a step series: one row at every date where it changes, plus the
    first and last dates of `span` (e.g. the observations' dates) so the line covers the chart.

    A structure counts its ground area from `built.start` (or from the beginning, when its built
    date is unknown) up to the day before `removed.start`. Points and lines count 0 (`points`
    says how many such structures stood at each date).
    """
    if not structures:
        return pd.DataFrame(columns=AREA_COLUMNS).astype({"date": "datetime64[ns]", "area_m2": float})
    lives = [(s.built.start if s.built else None, s.removed.start if s.removed else None,
              ground_area_m2(s.geometry)) for s in structures]
    dates = {d for b, r, _a in lives for d in (b, r) if d is not None} | set(span)
    if not dates:
        dates = {dt.date.today()}
    rows = []
    for day in sorted(dates):
        standing = [a for b, r, a in lives if (b is None or b <= day) and (r is None or day < r)]
        rows.append({"date": _ts(day), "area_m2": round(float(sum(standing)), 1),
                     "footprints": sum(1 for a in standing if a > 0), "points": sum(1 for a in standing if a <= 0)})
    return pd.DataFrame(rows, columns=AREA_COLUMNS).astype({"date": "datetime64[ns]"})


def timeline_chart_data(observations: Sequence[Observation],
                        structures: Sequence[Structure]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events, area) for one facility: see `events_frame` and `area_frame`. The area series spans
    the observations' dates as well as the structures' own."""
    events = events_frame(observations, structures)
    span = [o.date.start for o in observations] + [o.date.end for o in observations]
    span = [min(span), max(span)] if span else []
    return events, area_frame(structures, span)


def timeline_chart(events: pd.DataFrame, area: pd.DataFrame):
    """Two panels on one time axis: events by kind (a rule spans an imprecise date), and the
    built-up footprint area as a step line."""
    import altair as alt

    x = alt.X("start:T", title=None)
    tips = [alt.Tooltip("date:N", title="Date"), alt.Tooltip("kind:N", title="Kind"),
            alt.Tooltip("summary:N", title="Summary"), alt.Tooltip("seen_on:N", title="Seen on (image)"),
            alt.Tooltip("confidence:N", title="Confidence"), alt.Tooltip("structure:N", title="Structure")]
    base = alt.Chart(events).encode(x=x, y=alt.Y("kind:N", title=None), color=alt.Color("kind:N", legend=None))
    spans = base.transform_filter("datum.end > datum.start").mark_rule(strokeWidth=3, opacity=0.4).encode(
        x2="end:T", tooltip=tips)
    points = base.mark_point(filled=True, size=70).encode(tooltip=tips)
    panels = [(spans + points).properties(height=max(60, 24 * events["kind"].nunique()), title="Observations")]
    if not area.empty:
        line = alt.Chart(area).mark_line(interpolate="step-after", point=True).encode(
            x=alt.X("date:T", title=None), y=alt.Y("area_m2:Q", title="Footprint (m²)"),
            tooltip=[alt.Tooltip("date:T", title="From"), alt.Tooltip("area_m2:Q", title="Area (m²)", format=",.0f"),
                     alt.Tooltip("footprints:Q", title="Footprints"), alt.Tooltip("points:Q", title="Points (0 m²)")])
        panels.append(line.properties(height=140, title="Built-up footprint"))
    return alt.vconcat(*panels).resolve_scale(x="shared")


def show_timeline_chart(observations: Sequence[Observation], structures: Sequence[Structure]) -> None:
    import streamlit as st

    if not observations and not structures:
        return
    events, area = timeline_chart_data(observations, structures)
    st.altair_chart(timeline_chart(events, area), width="stretch")
    if not area.empty:
        st.caption(AREA_CAPTION)
