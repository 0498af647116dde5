"""`facilities export --format` / `import` of every table format, and the spatial questions, on the command line."""

from __future__ import annotations

import json
import os

import geopandas as gpd
import pytest
import shapely

from tests.support.cli import cli_in


@pytest.fixture
def cli(tmp_path):
    return cli_in(tmp_path, init=True)


def test_geojson_stays_the_default_and_unchanged(cli, tmp_path):
    cli("export", "a.geojson")
    cli("export", "b.out")  # no extension we know: GeoJSON, as before
    cli("export", "c.json", "--format", "geojson")
    a = (tmp_path / "a.geojson").read_text()
    assert json.loads(a)["type"] == "FeatureCollection"
    assert (tmp_path / "b.out").read_text() == a == (tmp_path / "c.json").read_text()
    assert cli("export", "-").stdout == a


@pytest.mark.parametrize("name,fmt", [("x.gpkg", None), ("x.fgb", None), ("x.parquet", None), ("x.csv", None),
                                      ("x.shp", None), ("x.data", "fgb")])
def test_export_then_import_each_format(cli, tmp_path, name, fmt):
    res = cli("export", name, *(["--format", fmt] if fmt else []))
    assert f"wrote {name} ({fmt or name.rsplit('.', 1)[1]}" in res.stdout
    if name.endswith(".shp"):
        assert "x.fields.json maps them back" in res.stderr and "were cut" in res.stderr
    target = tmp_path / "copy.gpkg"
    if fmt:
        os.replace(tmp_path / name, tmp_path / "x.fgb")
        name = "x.fgb"
    res = cli("--db", str(target), "import", name)
    assert "added 4 source, 2 facility, 2 structure, 13 observation" in res.stdout


def test_table_formats_need_a_file(cli):
    res = cli("export", "-", "--format", "csv", ok=False)
    assert "only GeoJSON goes to stdout" in res.stderr


def test_import_of_a_broken_table_names_the_rows_and_writes_nothing(cli, tmp_path):
    gpd.GeoDataFrame({"name": ["Good", None]}, geometry=[shapely.box(127, 39, 127.1, 39.1)] * 2,
                     crs="EPSG:4326").to_file(tmp_path / "mine.gpkg", driver="GPKG")
    res = cli("import", "mine.gpkg", ok=False)
    assert "1 of 2 rows are invalid" in res.stderr and "feature 1" in res.stderr
    assert "2 facilities" in cli("validate").stdout


def test_spatial_questions(cli, tmp_path):
    res = cli("near", "--point", "127.536,39.918", "--km", "20", "--json")
    rows = json.loads(res.stdout)["rows"]
    assert [r["id"] for r in rows] == ["february-8-vinalon-complex", "february-11-plant"]
    assert 5 < rows[1]["distance_km"] < 15
    assert "february-8-vinalon-complex" in cli("near", "--site", "february-11-plant", "--km", "10").stdout
    assert "february-11-plant" not in cli("near", "--site", "february-11-plant", "--km", "10").stdout.split(":", 1)[1]
    res = cli("inside", "POLYGON((127.6 39.8,127.7 39.8,127.7 40,127.6 40,127.6 39.8))", "--json")
    assert [r["id"] for r in json.loads(res.stdout)["rows"]] == ["february-11-plant"]
    gpd.GeoDataFrame({"label": ["mine"]}, geometry=[shapely.Point(333_000, 4_418_000)],
                     crs="EPSG:32652").to_file(tmp_path / "mine.shp")
    rows = json.loads(cli("nearest", "mine.shp", "--json").stdout)["rows"]
    assert rows[0]["site_id"] and rows[0]["distance_km"] > 0
    assert "either --point" in cli("near", "--km", "3", ok=False).stderr
