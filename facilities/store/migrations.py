"""Named, ordered schema migrations, one list for both dialects.

A registry records its schema version in `tracker_meta`. Opening a registry at an older version
runs each later migration in order, inside the opening transaction, so a failing step leaves the
registry as it was. A new registry is created at the newest version from the table declarations
(store/tables.py) and runs none.

A step is either one function for every dialect (`"*"`) or one per dialect name ("gpkg",
"postgis") where their SQL differs. Add the next number at the end; never edit a released step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import StoreError
from .dialect import Dialect, Tx
from .tables import BY_NAME, RECORD_TABLES, WATCH_TABLES

Step = Callable[[Tx, Dialect], None]


@dataclass(frozen=True)
class Migration:
    """One numbered schema change, with a step per dialect (or '*' for all)."""

    number: int  # the schema version this step brings the registry to
    name: str
    steps: Mapping[str, Step]  # dialect name (or "*") -> step

    def apply(self, tx: Tx, dialect: Dialect) -> None:
        """Run this migration's step for the dialect; StoreError if it has none."""
        step = self.steps.get(dialect.name) or self.steps.get("*")
        if step is None:
            raise StoreError(f"migration {self.number} ({self.name}) has no step for {dialect.name}")
        step(tx, dialect)


def add_column(table: str, column: str) -> Mapping[str, Step]:
    """A step adding a column declared in store/tables.py, in each dialect's types."""
    return {"*": lambda tx, dialect: dialect.add_column(tx, BY_NAME[table], column)}


# An EOX yearly mosaic's image was stored as provider = id = "eox-s2cloudless-2020"; its image key is
# provider "eox-s2cloudless", id "2020" (imagery.keys), which is what the compare view's layer is called.
EOX_PROVIDER = "eox-s2cloudless"
_EOX_SET = "UPDATE observations SET image_provider = ?, image_id = substr(image_provider, ?) WHERE image_provider "


def _eox_gpkg(tx: Tx, dialect: Dialect) -> None:
    tx.execute(_EOX_SET + "GLOB ?", (EOX_PROVIDER, len(EOX_PROVIDER) + 2, f"{EOX_PROVIDER}-[0-9][0-9][0-9][0-9]"))


def _eox_postgis(tx: Tx, dialect: Dialect) -> None:
    tx.execute(_EOX_SET + "~ ?", (EOX_PROVIDER, len(EOX_PROVIDER) + 2, f"^{EOX_PROVIDER}-[0-9]{{4}}$"))


# Record-table columns a migration after 4 adds, by that migration's number: a checksum written before it covers
# the row without them (a registry at version 4 has no such columns; one re-migrated may have them).
ADDED_COLUMNS: Mapping[int, Mapping[str, tuple[str, ...]]] = {
    5: {"structures": ("traced_provider", "traced_image_id", "traced_acquired")},
}


def added_after(number: int) -> dict[str, tuple[str, ...]]:
    """The record columns that migrations after `number` add, by table name."""
    out: dict[str, tuple[str, ...]] = {}
    for n, tables in ADDED_COLUMNS.items():
        if n > number:
            for table, columns in tables.items():
                out[table] = out.get(table, ()) + columns
    return out


def _row_checksums(tx: Tx, dialect: Dialect) -> None:
    from . import outside  # the checksum's input is the row as written, which outside.py selects

    for table in RECORD_TABLES:
        dialect.add_column(tx, table, "row_hash")
    outside.fill(tx, dialect, added_after(4))
    remember = getattr(dialect, "remember_last_change", None)  # GeoPackage: the signal outside.py reads
    if remember is not None:
        remember(tx, [t.name for t in RECORD_TABLES])


def _traced_images(tx: Tx, dialect: Dialect) -> None:
    """Add the structure's traced-on image columns; rows whose checksum matched before (the app wrote them last)
    are checksummed again with the new, empty columns, so only rows edited outside the app still read as such."""
    from . import outside

    table = BY_NAME["structures"]
    ours = outside.matching_fids(tx, dialect, table, added_after(4)[table.name])
    for column in ADDED_COLUMNS[5][table.name]:
        dialect.add_column(tx, table, column)
    outside.rehash(tx, dialect, table, ours, added_after(5).get(table.name, ()))


def _watch_tables(tx: Tx, dialect: Dialect) -> None:
    """Create the watch tables (store/tables.py WATCH_TABLES) as attribute tables, as a new registry has them; a
    table already there is kept."""
    for table in WATCH_TABLES:
        if dialect.has_table(tx, table.name):
            continue
        tx.execute(dialect.table_ddl(table))
        if dialect.name == "gpkg":  # GDAL and QGIS list a GeoPackage's tables from gpkg_contents
            tx.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                       "VALUES (?, 'attributes', ?, ?)", (table.name, table.name, table.description))
        for stmt in dialect.index_ddl(table):
            tx.execute(stmt)


MIGRATIONS: tuple[Migration, ...] = (
    # 2: observations drawn on an EOX mosaic name it as its layer does, so their "open image" link
    # finds it. Only the two image columns change: no version bump and no history entry (not an edit).
    Migration(2, "eox image keys", {"gpkg": _eox_gpkg, "postgis": _eox_postgis}),
    # 3: history entries written by one unit of work share a group, which one undo reverts.
    Migration(3, "history change groups", add_column("history", "change_group")),
    # 4: every record row carries a checksum of itself as the store wrote it, so a row changed by QGIS, GDAL
    # or SQL is found (store/outside.py); rows already there are checksummed as they are at the upgrade.
    Migration(4, "row checksums", {"*": _row_checksums}),
    # 5: a structure's footprint remembers the image it was traced on (traced_provider, _image_id, _acquired).
    Migration(5, "structure traced-on image", {"*": _traced_images}),
    # 6: the watchlist, its findings and scan checkpoints (issue 20). New non-record tables: no row checksums, so
    # no ADDED_COLUMNS entry and no re-checksum (decision 0022 concerns record tables only).
    Migration(6, "watchlist and findings", {"*": _watch_tables}),
)


def schema_version() -> int:
    """The newest schema version: what a new registry is created at."""
    return max(m.number for m in MIGRATIONS)


def create_or_migrate(tx: Tx, dialect: Dialect, create: Callable[[Tx], None]) -> None:
    """Inside the opening transaction: a registry without tracker_meta is created; an older one is
    migrated step by step; a newer one is refused."""
    newest = schema_version()
    has_meta = _has_meta(tx, dialect)
    row = tx.execute("SELECT value FROM tracker_meta WHERE key = 'schema_version'").fetchone() if has_meta else None
    if row is None and has_meta:
        raise StoreError(f"{dialect.location} has a tracker_meta table without a schema version (damaged or edited "
                         "outside the app); nothing was changed")
    if row is None:
        create(tx)
        tx.execute("INSERT INTO tracker_meta (key, value) VALUES ('schema_version', ?)", (str(newest),))
        return
    version = int(row[0])
    if version > newest:
        raise StoreError(f"{dialect.location} has schema version {version}, newer than this software "
                         f"({newest}); upgrade facility-tracker")
    for m in sorted(MIGRATIONS, key=lambda m: m.number):
        if m.number > version:
            m.apply(tx, dialect)
            tx.execute("UPDATE tracker_meta SET value = ? WHERE key = 'schema_version'", (str(m.number),))


def _has_meta(tx: Tx, dialect: Dialect) -> bool:
    return dialect.has_table(tx, "tracker_meta")
