"""Issue 14, part B, KML: nesting thousands deep and numbers Python reads but KML does not write are refused with
one clear error naming the placemark; never a RecursionError or a shape at infinity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facilities.errors import InputError
from facilities.safe_xml import MAX_DEPTH
from tracker.imports import read_vector_bytes

RING = "127.6,39.9 127.61,39.9 127.61,39.91 127.6,39.91 127.6,39.9"


def kml(placemark_geometry: str, name: str = "Site") -> bytes:
    return (f'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
            f"<name>{name}</name>{placemark_geometry}</Placemark></Document></kml>").encode()


def polygon(coords: str = RING) -> str:
    return f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates></LinearRing>" \
           "</outerBoundaryIs></Polygon>"


def read(raw: bytes):
    return read_vector_bytes(raw, "in.kml", max_bytes=10**8)


@pytest.mark.parametrize("depth", [9, 50, 99, 5000, 200_000])
def test_multigeometry_nested_deep_is_refused_with_the_limit(depth):
    raw = kml("<MultiGeometry>" * depth + polygon() + "</MultiGeometry>" * depth)
    with pytest.raises(InputError, match="levels deep") as info:
        read(raw)
    assert "in.kml" in str(info.value)


def test_multigeometry_nested_a_few_levels_is_read():
    raw = kml("<MultiGeometry>" * 3 + polygon() + "</MultiGeometry>" * 3)
    assert len(read(raw).registry.facilities) == 1


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 100_000])
def test_any_element_nested_past_the_limit_is_refused(depth):
    raw = b'<kml xmlns="http://www.opengis.net/kml/2.2">' + b"<Folder>" * depth + b"</Folder>" * depth + b"</kml>"
    with pytest.raises(InputError, match=f"more than {MAX_DEPTH} levels deep"):
        read(raw)


BAD_NUMBERS = ["inf", "-Infinity", "nan", "1e400", "1_27.6", "\u0661\u0662\u0667", "0x7f", "127.6f", "--1"]


@settings(max_examples=40, deadline=None)
@given(bad=st.sampled_from(BAD_NUMBERS), position=st.integers(0, 4), axis=st.integers(0, 1))
def test_a_coordinate_that_is_not_a_decimal_number_is_refused_naming_the_placemark(bad, position, axis):
    positions = [p.split(",") for p in RING.split()]
    positions[position][axis] = bad
    if position in (0, 4):
        positions[0][axis] = positions[4][axis] = bad
    raw = kml(polygon(" ".join(",".join(p) for p in positions)), name="Bad numbers")
    with pytest.raises(InputError) as info:
        read(raw)
    message = str(info.value)
    assert "placemark 1 ('Bad numbers')" in message
    assert "decimal numbers" in message or "finite" in message or "positions" in message, message


@pytest.mark.parametrize("coords", [RING, RING.replace("127.6,", "+127.6,"), RING.replace("39.9 ", "39.90e0 "),
                                    ".5,.5 .6,.5 .6,.6 .5,.6 .5,.5"])
def test_decimal_forms_kml_allows_are_read(coords):
    assert len(read(kml(polygon(coords))).registry.facilities) == 1
