"""Plain words about imagery services (issue 18.1): error kinds become short reasons with no library text, the
services' status becomes one sentence, and the Compare page's opening dates are ones that can be shown."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from facilities.errors import NotFound
from imagery.base import DateCertainty
from imagery.catalogue import DatedLayer
from imagery.errors import NO_ADDRESS, OfflineError, ServiceTimeout, ServiceUnavailable, StacError, short_reason
from imagery.http import HttpClient, HttpConfig
from imagery.keys import ImageKey
from tracker.availability import UNREACHABLE_SENTENCE, Availability, availability, explain
from tracker.compare_defaults import default_sources, opening_layer, opening_pair
from tracker.errors import TrackerError

LEAKS = ("HTTPSConnectionPool", "HTTPConnectionPool", "Max retries", "Error(", "NameResolution", "Traceback")


class _Down(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path == "/close":  # a service that drops the connection without an answer
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def down() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Down)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _client(host: str) -> HttpClient:
    return HttpClient(HttpConfig(allow_hosts=frozenset({host}), retries=0, deadline=3.0, connect_timeout=1.0))


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


def test_real_failures_become_short_reasons_without_library_text(down: str):
    reasons = {}
    client = _client(down)
    for name, url in (("503", f"http://{down}/x"), ("closed", f"http://{down}/close")):
        with pytest.raises(ServiceUnavailable) as caught:
            client.get(url)
        reasons[name] = short_reason(caught.value)
    port = _refused_port()
    with pytest.raises(ServiceUnavailable) as caught:
        _client(f"127.0.0.1:{port}").get(f"http://127.0.0.1:{port}/x")
    reasons["refused"] = short_reason(caught.value)
    assert reasons == {"503": "service error, HTTP 503", "closed": reasons["closed"], "refused": "connection refused"}
    assert reasons["closed"] in ("connection closed without an answer", "connection reset", "could not connect")
    assert not [r for r in reasons.values() for leak in LEAKS if leak in r], reasons


def test_a_name_that_cannot_be_looked_up_says_so(monkeypatch: pytest.MonkeyPatch):
    def no_name(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_name)
    with pytest.raises(ServiceUnavailable) as caught:
        HttpClient(HttpConfig(retries=0, deadline=2.0)).get("https://tiles.example.org/0/0/0.png")
    assert short_reason(caught.value) == NO_ADDRESS


def test_each_kind_has_its_reason_and_wrappers_say_their_cause():
    assert short_reason(ServiceTimeout("h: read timed out")) == "timed out"
    assert short_reason(OfflineError("h: offline mode")) == "offline mode: not kept on this machine"
    try:
        try:
            raise ServiceTimeout("earth-search: no answer in time (ConnectTimeout(HTTPSConnectionPool(...)))")
        except ServiceTimeout as err:
            raise StacError(f"STAC catalogue unavailable: {err}") from err
    except StacError as wrapped:
        assert short_reason(wrapped) == "timed out"
    try:
        try:
            raise ValueError("HTTPSConnectionPool(host='x'): Max retries exceeded")
        except ValueError as err:
            raise StacError(f"STAC catalogue unavailable: {err}") from err
    except StacError as wrapped:
        assert short_reason(wrapped) == "the catalogue gave no usable answer"
    assert explain(NotFound("no facility with id 'x'"), "Not shown") == "Not shown: no facility with id 'x'"
    try:
        try:
            raise ServiceUnavailable("h: service error, HTTP 502", status=502)
        except ServiceUnavailable as err:
            raise TrackerError(f"the images could not be read: {err}") from err
    except TrackerError as wrapped:
        assert explain(wrapped, "No timelapse") == "No timelapse: service error, HTTP 502"


ROWS_DOWN = [{"service": "Esri Wayback", "status": "unreachable (timed out)"},
             {"service": "Sentinel-2 cloudless (EOX)", "status": "unreachable (service error, HTTP 503)"},
             {"service": "Local images", "status": "always available"}]


def test_one_sentence_says_what_is_down_and_what_still_works():
    assert availability(ROWS_DOWN, offline=False).sentence == UNREACHABLE_SENTENCE
    one = availability([ROWS_DOWN[1], {"service": "Esri Wayback", "status": "reachable"}], offline=False)
    assert one.sentence == ("Sentinel-2 cloudless (EOX) does not answer (service error, HTTP 503): its imagery will "
                            "not load; Esri Wayback and local imagery still work.")
    assert one.down_sources == {"Sentinel-2 cloudless"}
    assert availability([{"service": "Esri Wayback", "status": "reachable"}], offline=False).sentence is None
    offline = availability([], offline=True)
    assert offline.sentence is not None and "TRACKER_" not in offline.sentence
    assert "Wayback" in offline.down_sources and "Sentinel-2 scenes" in offline.down_sources


def _layer(source: str, provider: str, image_id: str, day: str, certainty: DateCertainty) -> DatedLayer:
    return DatedLayer(ImageKey(provider, image_id), source, dt.date.fromisoformat(day), certainty, f"{day} {source}",
                      "", "", tiles="https://t/{z}/{x}/{y}" if source in ("Wayback", "Sentinel-2 cloudless") else None,
                      readable=source != "Wayback")


LAYERS = [_layer("Wayback", "esri-wayback", "10", "2014-02-20", DateCertainty.RELEASED),
          _layer("Local image", "local", "a" * 64, "2018-05-01", DateCertainty.STATED),
          _layer("Sentinel-2 cloudless", "eox-s2cloudless", "2020", "2020-07-01", DateCertainty.COMPOSITE),
          _layer("Local image", "local", "b" * 64, "2021-06-01", DateCertainty.STATED),
          _layer("Wayback", "esri-wayback", "64001", "2026-02-26", DateCertainty.RELEASED)]


def test_the_opening_dates_are_ones_that_can_be_shown():
    everything_down = Availability(down={"Esri Wayback": "timed out", "Sentinel-2 cloudless (EOX)": "timed out"})
    pair = opening_pair(LAYERS, everything_down.down_sources)
    assert pair is not None and [p.image_id[:1] for p in pair] == ["a", "b"]  # the two local images
    first, last = opening_pair(LAYERS, frozenset()) or (None, None)
    assert (first.image_id, last.image_id) == ("10", "64001")  # all up: oldest and newest dated, as before
    assert opening_layer(LAYERS, everything_down.down_sources).image_id == "b" * 64
    assert opening_pair(LAYERS[:1] + LAYERS[4:], everything_down.down_sources) is None  # nothing showable
    assert default_sources(everything_down.down_sources) == ["Local images"]
    assert default_sources(frozenset({"Sentinel-2 cloudless"})) == ["Wayback", "Local images"]
