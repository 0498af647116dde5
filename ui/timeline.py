"""The facility timeline as a chart: dated observations and the built-up footprint area.

The figures are `tracker.site`'s (observation order, image labels, the built-up curve and when it
is drawn), shared with `facilities show` and the PDF report; this module only turns them into
DataFrames (`timeline_chart_data`, pure) and draws them with Altair (`show_timeline_chart`).

User text (summaries, image ids, names) travels only as data fields shown in tooltips; the Vega
tooltip handler bundled with Streamlit escapes `&` and `<` in every key and value before it writes
the tooltip's HTML (vega-tooltip's default `sanitize`, which Streamlit leaves in place). Two
tooltip keys are special to vega-tooltip: `title` becomes a heading and `image` an <img src=...>;
no tooltip field here is titled either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from facilities.dates import DatePrecision
from facilities.model import Observation, Structure
from tracker.images import image_label
from tracker.site import (
    BUILT_UP_COLUMNS,
    BUILT_UP_RULE,
    BuiltUp,
    SiteView,
    built_up_curve,
    observation_order,
    observation_span,
)

EVENT_COLUMNS = ["id", "start", "end", "date", "precision", "kind", "summary", "confidence", "seen_on",
                 "structure"]
AREA_COLUMNS = ["date", "area_m2", "footprints", "points"]
AREA_CAPTION = BUILT_UP_RULE
X_PADDING = 0.03  # of the time span, each side of the shared time axis
Y_AXIS_PX = 130  # both panels' y-axis width, so their time axes line up
PRINT_WIDTH_PX = 640  # the stacked chart's panels (timeline_chart), where no container sizes them


def _ts(day: dt.date) -> pd.Timestamp:
    return pd.Timestamp(day)


def events_frame(observations: Sequence[Observation], structures: Sequence[Structure] = ()) -> pd.DataFrame:
    """One row per observation, oldest first: `start` is the first day its date may mean; `end`
    the last for month, year and approximate dates (equal to `start` for a day)."""
    names = {s.id: s.name for s in structures}
    rows = []
    for o in sorted(observations, key=observation_order):
        end = o.date.start if o.date.precision is DatePrecision.DAY else o.date.end
        rows.append({
            "id": o.id, "start": _ts(o.date.start), "end": _ts(end), "date": str(o.date),
            "precision": o.date.precision.value, "kind": o.kind.value, "summary": o.summary,
            "confidence": o.confidence.value, "seen_on": image_label(o.image),
            "structure": names.get(o.structure_id, o.structure_id or ""),
        })
    return pd.DataFrame(rows, columns=EVENT_COLUMNS).astype({"start": "datetime64[ns]", "end": "datetime64[ns]"})


def curve_frame(curve: BuiltUp) -> pd.DataFrame:
    """The curve's steps, plus a last row at its `until` day so the step line reaches the chart's end."""
    rows = [{"date": _ts(st.day), "area_m2": st.area_m2, "footprints": st.footprints, "points": st.points}
            for st in curve.steps]
    if rows and curve.until is not None and curve.until > curve.steps[-1].day:
        rows.append({**rows[-1], "date": _ts(curve.until)})
    return pd.DataFrame(rows, columns=AREA_COLUMNS).astype({"date": "datetime64[ns]", "area_m2": float})


def area_frame(structures: Sequence[Structure], span: Sequence[dt.date] = (),
               observations: Sequence[Observation] = ()) -> pd.DataFrame:
    """Built-up footprint area as a step series over `span` and the structures' own dates
    (`tracker.site.built_up_curve`: one row where the figures change, plus the span's ends)."""
    return curve_frame(built_up_curve(structures, span, observations))


def timeline_chart_data(observations: Sequence[Observation],
                        structures: Sequence[Structure]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(events, area) for one facility: see `events_frame` and `area_frame`. The area series spans
    the observations' dates as well as the structures' own."""
    return events_frame(observations, structures), area_frame(structures, observation_span(observations),
                                                              observations)


def x_domain(events: pd.DataFrame, area: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The time axis both panels share: every event's span and the curve's dates, padded by
    X_PADDING of the span (at least a month) on each side so the newest and oldest marks sit
    inside the plot, not on its edge. None when there is nothing to draw."""
    days = [*events["start"], *events["end"], *area["date"]]
    if not days:
        return None
    first, last = min(days), max(days)
    pad = max((last - first) * X_PADDING, pd.Timedelta(days=31))
    return first - pad, last + pad


def _x(field: str, domain: tuple[pd.Timestamp, pd.Timestamp] | None):
    import altair as alt

    scale = alt.Scale(domain=[d.isoformat() for d in domain]) if domain else alt.Undefined
    return alt.X(field, title=None, scale=scale)


def timeline_panels(events: pd.DataFrame, area: pd.DataFrame) -> list:
    """The chart as separate panels on one time axis (the same domain, the same y-axis width, so
    their dates line up): events by kind (a rule spans an imprecise date), and the built-up
    footprint area as a step line. Each is its own chart, `width="container"`, so each fits the
    page at any width: Streamlit cannot stretch a vconcat, which ran past its container and cut
    off the newest events."""
    import altair as alt

    domain = x_domain(events, area)
    y_axis = alt.Axis(minExtent=Y_AXIS_PX, maxExtent=Y_AXIS_PX, labelLimit=Y_AXIS_PX - 8)
    tips = [alt.Tooltip("date:N", title="Date"), alt.Tooltip("kind:N", title="Kind"),
            alt.Tooltip("summary:N", title="Summary"), alt.Tooltip("seen_on:N", title="Seen on (image)"),
            alt.Tooltip("confidence:N", title="Confidence"), alt.Tooltip("structure:N", title="Structure")]
    panels = []
    if not events.empty:
        base = alt.Chart(events).encode(x=_x("start:T", domain), y=alt.Y("kind:N", title=None, axis=y_axis),
                                        color=alt.Color("kind:N", legend=None))
        spans = base.transform_filter("datum.end > datum.start").mark_rule(strokeWidth=3, opacity=0.4).encode(
            x2="end:T", tooltip=tips)
        points = base.mark_point(filled=True, size=70).encode(tooltip=tips)
        panels.append((spans + points).properties(width="container", title="Observations",
                                                  height=max(60, 24 * events["kind"].nunique())))
    if not area.empty:
        line = alt.Chart(area).mark_line(interpolate="step-after", point=True).encode(
            x=_x("date:T", domain), y=alt.Y("area_m2:Q", title="Footprint (m²)", axis=y_axis),
            tooltip=[alt.Tooltip("date:T", title="From"), alt.Tooltip("area_m2:Q", title="Area (m²)", format=",.0f"),
                     alt.Tooltip("footprints:Q", title="Footprints"), alt.Tooltip("points:Q", title="Points (0 m²)")])
        panels.append(line.properties(width="container", height=140, title="Built-up footprint"))
    return panels


def timeline_chart(events: pd.DataFrame, area: pd.DataFrame):
    """The panels of `timeline_panels` stacked in one chart (for a fixed-width export; the page
    draws the panels one by one so each fits its container)."""
    import altair as alt

    return alt.vconcat(*(p.properties(width=PRINT_WIDTH_PX) for p in timeline_panels(events, area))
                       ).resolve_scale(x="shared")


def show_timeline_chart(site: SiteView) -> None:
    """The chart; the built-up curve only when `site.built_up.shown`, with its figures as a table
    (the ones `facilities show` and the PDF print), otherwise a caption saying why not."""
    import streamlit as st

    if not site.observations and not site.structures:
        return
    curve = site.built_up
    events = events_frame(site.observations, site.structures)
    area = curve_frame(curve) if curve.shown else curve_frame(BuiltUp())
    for panel in timeline_panels(events, area):
        st.altair_chart(panel, width="stretch")
    st.caption(curve.note)
    if curve.shown:
        with st.expander(f"Built-up figures ({len(curve.steps)} steps, the last until {curve.until})"):
            st.dataframe(pd.DataFrame(curve.rows(), columns=list(BUILT_UP_COLUMNS)), hide_index=True)
