"""Uploads held in the server's memory: capped per session and in total, released once imported or refused.

The accountant (tracker.uploads.UploadBudget) is plain Python; the Import page goes through the
real widgets with streamlit.testing.v1, small limits set through the environment.
"""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.test_app_import import _geotiff
from tracker.uploads import MB, UploadBudget, UploadRefused


def test_budget_caps_a_session_and_the_server():
    budget = UploadBudget(per_session=300 * MB, total=600 * MB)
    budget.claim("s1", "a", "a.tif", 150 * MB)
    budget.claim("s1", "a", "a.tif", 150 * MB)  # the same upload on a rerun: counted once
    budget.claim("s1", "b", "b.tif", 150 * MB)
    with pytest.raises(UploadRefused, match=r"c.tif \(150.0 MB\) would make this session hold 450.0 MB.*"
                                            r"limit is 300 MB a session \(TRACKER_MAX_SESSION_UPLOAD_MB\)"):
        budget.claim("s1", "c", "c.tif", 150 * MB)
    budget.claim("s2", "a", "a.tif", 150 * MB)
    budget.claim("s3", "a", "a.tif", 150 * MB)
    with pytest.raises(UploadRefused,
                       match=r"server already holds 600.0 MB.*limit is 600 MB \(TRACKER_MAX_UPLOADS_MB\)"):
        budget.claim("s4", "a", "a.tif", 150 * MB)
    assert budget.held() == 600 * MB and budget.held("s1") == 300 * MB
    budget.release("s1", "a")
    budget.claim("s4", "a", "a.tif", 150 * MB)  # room again
    budget.release("s1")
    assert budget.held("s1") == 0
    budget.prune(lambda session, upload: session != "s2")  # s2 ended: Streamlit dropped its files
    assert budget.held() == 300 * MB


def test_six_150_mb_uploads_from_six_sessions_hold_at_most_the_total():
    """The reported case: six sessions uploading 150 MB each; the server keeps no more than the cap."""
    budget = UploadBudget(per_session=400 * MB, total=600 * MB)
    kept, refused = 0, 0
    lock = threading.Lock()

    def session(n: int) -> None:
        nonlocal kept, refused
        try:
            budget.claim(f"s{n}", "f", f"scene{n}.tif", 150 * MB)
        except UploadRefused:
            with lock:
                refused += 1
        else:
            with lock:
                kept += 1

    threads = [threading.Thread(target=session, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (kept, refused) == (4, 2) and budget.held() == 600 * MB


def _page(database: str) -> None:
    from facilities.store import open_store
    from tracker.settings import load_settings
    from ui import state
    from ui.import_page import import_page

    import_page(open_store(database), load_settings())
    import streamlit as st
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    st.text(f"held={state.upload_budget(load_settings()).held()}")
    ctx = get_script_run_ctx()  # what Streamlit itself still keeps in memory for this session
    files = getattr(getattr(ctx.uploaded_file_mgr, "file_storage", {}), "get", lambda _s, d: d)(ctx.session_id, {})
    st.text(f"stored={sum(len(f.data) for f in files.values())}")


def _app(tmp_path, monkeypatch, **env: str) -> AppTest:
    from ui import state
    state._upload_budget.clear()  # a fresh process-wide accountant per test
    monkeypatch.setenv("TRACKER_DATA_DIR", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_function(_page, kwargs={"database": str(tmp_path / "r.gpkg")}, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def _held(at: AppTest, what: str = "held") -> int:
    return int(next(t.value for t in at.text if t.value.startswith(f"{what}=")).split("=")[1])


def test_the_page_states_the_one_image_limit(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch, TRACKER_MAX_IMAGE_MB="50", TRACKER_MAX_SESSION_UPLOAD_MB="120")
    caption = at.caption[0].value
    assert "GeoTIFF or COG with a coordinate system, up to 50 MB a file" in caption
    assert "at most 120 MB at once in one browser session" in caption


def test_an_image_over_the_image_limit_is_refused_and_released(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch, TRACKER_MAX_IMAGE_MB="1")
    big = _geotiff() + b"\0" * (2 * MB)
    at.file_uploader(key="import_file").upload("big.tif", big, "image/tiff").run()
    assert not at.exception
    errors = "\n".join(e.value for e in at.error).replace("\\", "")
    assert "big.tif is 2." in errors and "the image limit is 1 MB (TRACKER_MAX_IMAGE_MB)" in errors
    assert _held(at) == 0
    at.run()
    assert at.file_uploader(key="import_file.1").value is None  # the widget starts again, empty


def test_an_upload_over_the_session_limit_is_refused_and_released(tmp_path, monkeypatch):
    at = _app(tmp_path, monkeypatch, TRACKER_MAX_SESSION_UPLOAD_MB="1")
    at.file_uploader(key="import_file").upload("big.tif", _geotiff() + b"\0" * (2 * MB), "image/tiff").run()
    assert not at.exception
    assert "TRACKER_MAX_SESSION_UPLOAD_MB" in "\n".join(e.value for e in at.error).replace("\\", "")
    assert _held(at) == 0


def test_an_imported_image_is_released(tmp_path, monkeypatch):
    import datetime as dt
    at = _app(tmp_path, monkeypatch)
    raw = _geotiff()
    at.file_uploader(key="import_file").upload("scene.tif", raw, "image/tiff").run()
    assert _held(at) == len(raw)  # held while the analyst fills in the date
    stored = _held(at, "stored")
    at.date_input(key="import_captured").set_value(dt.date(2024, 5, 1))
    at.button(key="import_image").click().run()
    assert not at.exception and "as an image of 2024-05-01" in at.success[0].value
    assert _held(at) == 0
    assert _held(at, "stored") == stored - len(raw)  # out of Streamlit's memory too
    at.run()
    assert at.file_uploader(key="import_file.1").value is None
