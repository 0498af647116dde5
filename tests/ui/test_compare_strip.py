"""The Compare page's strip, progress and cancel, without a browser: what a click on the strip changes
(apply_pick, picked_key), the strip's rows (entries in the timeline contract's terms), the progress hook
that turns an interrupted Streamlit call into cancelled(), the catalogue memo, and the page after Cancel."""

from __future__ import annotations

import datetime as dt

import pytest

from imagery.base import Capture, DateCertainty
from imagery.catalogue import capture_layers, mosaic_layers, wayback_layers
from imagery.wayback import Release
from ui import state
from ui.memo import Memo
from ui.scan_progress import ScanProgress
from ui.timeline_strip import AFTER, BEFORE, apply_pick, picked_key, strip_frame

D = {"a": dt.date(2018, 1, 1), "b": dt.date(2020, 1, 1), "c": dt.date(2022, 1, 1)}


def test_two_clicks_choose_before_then_after_and_out_of_order_is_swapped() -> None:
    values: dict[str, object] = {state.COMPARE_BEFORE: "a", state.COMPARE_AFTER: "c"}
    apply_pick(values, "b", D, slider=False)
    assert values[state.COMPARE_BEFORE] == "b" and values[state.STRIP_TARGET] == AFTER
    apply_pick(values, "a", D, slider=False)  # "after" earlier than "before": the pair is swapped
    assert (values[state.COMPARE_BEFORE], values[state.COMPARE_AFTER]) == ("a", "b")
    assert values[state.STRIP_TARGET] == BEFORE


def test_slider_view_moves_the_slider_only_and_unknown_keys_change_nothing() -> None:
    values: dict[str, object] = {state.COMPARE_SLIDER: "a"}
    apply_pick(values, "c", D, slider=True)
    assert values == {state.COMPARE_SLIDER: "c"}
    apply_pick(values, "zz", D, slider=True)
    apply_pick(values, "zz", D, slider=False)
    assert values == {state.COMPARE_SLIDER: "c"}


@pytest.mark.parametrize("event,key", [
    ({"selection": {"pick": [{"key": "esri-wayback:10"}]}}, "esri-wayback:10"),
    ({"selection": {"pick": []}}, None), ({"selection": {}}, None), (None, None), ("text", None),
    ({"selection": {"pick": [{"key": 5}]}}, None),
])
def test_picked_key_reads_only_a_key(event, key) -> None:
    assert picked_key(event) == key


def test_strip_rows_carry_cloudiness_and_view_only() -> None:
    rel = Release(10, dt.date(2020, 5, 1), "World Imagery (Wayback 2020-05-01)", "http://127.0.0.1/item/10",
                  "http://127.0.0.1/meta/10", "WB_2020_R05")
    cap = Capture(provider="sentinel-2-c1-l2a", capture_id="S2A_X", date=dt.date(2021, 6, 2),
                  certainty=DateCertainty.CAPTURED, cloud_fraction=0.25)
    layers = [*wayback_layers([rel], [10]), *mosaic_layers(), *capture_layers([cap], "Sentinel-2 scene")]
    frame = strip_frame(layers, {"esri-wayback:10": BEFORE}).set_index("key")
    assert frame.loc["esri-wayback:10", "use"] == "view only (licence)"
    assert frame.loc["esri-wayback:10", "mark"] == BEFORE
    assert frame.loc["sentinel-2-c1-l2a:S2A_X", "cloud"] == "25% inside the outline"
    assert frame.loc["sentinel-2-c1-l2a:S2A_X", "clear"] == pytest.approx(0.75)
    assert frame.loc["sentinel-2-c1-l2a:S2A_X", "use"] == "analysable"


class _Bar:
    def __init__(self, fail_at: int) -> None:
        self.calls: list[tuple[float, str | None]] = []
        self.fail_at = fail_at

    def progress(self, value: float, text: str | None = None) -> None:
        self.calls.append((value, text))
        if len(self.calls) == self.fail_at:
            raise KeyboardInterrupt  # stands for Streamlit's RerunException (a BaseException)


def test_an_interrupted_progress_call_cancels_the_scan() -> None:
    bar = _Bar(fail_at=2)
    hook = ScanProgress(bar)
    hook("Wayback change scan", 1, 4)
    assert not hook.cancelled() and bar.calls == [(0.25, "Wayback change scan: 1 of 4")]
    with pytest.raises(KeyboardInterrupt):
        hook("Wayback change scan", 2, 4)
    assert hook.cancelled()
    hook2 = ScanProgress(_Bar(fail_at=99))
    hook2("x", 0, 0)  # no total: an empty bar, not a division by zero
    assert hook2.bar.calls == [(0.0, "x: 0 of 0")]


def test_memo_expires_and_caps() -> None:
    now = [0.0]
    memo: Memo[str] = Memo(ttl=10, max_entries=2, clock=lambda: now[0])
    memo.put("a", "A")
    memo.put("b", "B")
    assert memo.get("a") == "A"
    memo.put("c", "C")  # "b" was used least recently
    assert memo.get("b") is None and memo.get("a") == "A"
    now[0] = 11
    assert memo.get("a") is None


# -- the page, headless (AppTest; the fixtures and runner of tests/ui/test_app_compare.py) -------------------

from tests.ui.test_app_compare import env, run, wayback  # noqa: E402,F401  (fixtures)


@pytest.mark.usefixtures("env")
def test_page_strip_status_ages_and_a_cancelled_scan():
    at = run()
    assert at.radio(key=state.STRIP_TARGET).value == BEFORE
    assert any("hollow marks are view only" in c.value for c in at.caption)
    assert any("UTC calendar date of Esri's SRC_DATE2" in c.value for c in at.caption)  # the capture-date rule
    panel = next(d.value for d in at.dataframe if "service" in d.value.columns).set_index("service")
    assert panel.loc["Esri Wayback", "cached"].startswith(tuple("123456789"))  # "N answers, fetched just now"
    assert "fetched just now" in panel.loc["Esri Wayback", "cached"]
    assert panel.loc["Local images", "cached"] == "kept until deleted"
    # Cancel pressed during the scan (its callback stores the area): Wayback is not listed, the others are
    from facilities.store import open_store
    from imagery.aoi import AreaOfInterest
    from tracker.settings import load_settings
    store = open_store(load_settings().database)
    at.session_state[state.SCAN_CANCELLED] = AreaOfInterest.of(store.get_facility("february-11-plant").geometry).key
    store.close()
    at.run()
    assert not at.exception
    assert any("Wayback scan was cancelled" in i.value for i in at.info)
    options = at.selectbox(key=state.COMPARE_BEFORE).options
    assert options and not [o for o in options if "Wayback release" in o]
    at.button(key="compare_rescan").click().run()
    assert not at.exception
    assert [o for o in at.selectbox(key=state.COMPARE_BEFORE).options if "Wayback release" in o]
