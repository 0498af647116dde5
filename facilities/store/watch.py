"""The watchlist, its findings and scan checkpoints in the registry (tables WATCHLIST, FINDINGS, WATCH_RUNS of
store/tables.py, migration 6), over either dialect through the one SqlStore.

Every change to the watchlist and every decision on a finding is one transaction with its history entries
(entity "watch" for a watched facility, "finding" for a finding), so who watched what and who reviewed which
finding when is never lost. Accepting a finding writes its observation in the same transaction (the
observation's create entry in a history group of its own, so `facilities undo` can still take it back).
A scan's results for one site (findings and its checkpoint) are written together: a resumed scan finds
either both or neither.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..dates import format_timestamp, parse_timestamp, utcnow
from ..errors import InputError, NotFound, StoreError
from ..model import Observation
from ..watchlist import Finding, FindingKind, FindingStatus, WatchEntry
from .sql import SqlStore
from .tables import FINDINGS, WATCH_RUNS, WATCHLIST, read_ts

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
OPEN_RUN = "watch:open_run"  # tracker_meta: the scan run that has not finished (resumed by the next scan)
LAST_RUN = "watch:last_run"  # tracker_meta: the last scan run that finished


def _ts(value: dt.datetime | None) -> str | None:
    return None if value is None else format_timestamp(value)


def _day(text: str | None) -> dt.date | None:
    return None if not text else dt.date.fromisoformat(text)


def _insert(table_names: Sequence[str], table: str) -> str:
    return f"INSERT INTO {table} ({', '.join(table_names)}) VALUES ({', '.join('?' * len(table_names))})"


_FINDING_COLS = tuple(c.name for c in FINDINGS.columns)
_WATCH_COLS = tuple(c.name for c in WATCHLIST.columns)


def _entry(row: Sequence) -> WatchEntry:
    f, added_at, added_by, reviewed_at, reviewed_by, keys = row
    return WatchEntry(f, parse_timestamp(added_at), added_by, read_ts(reviewed_at), reviewed_by,
                      tuple(json.loads(keys or "[]")))


def _entry_state(e: WatchEntry) -> dict:
    return {"facility_id": e.facility_id, "added_at": _ts(e.added_at), "added_by": e.added_by,
            "reviewed_at": _ts(e.reviewed_at), "reviewed_by": e.reviewed_by, "reviewed_keys": list(e.reviewed_keys)}


def finding_row(f: Finding) -> tuple:
    """A finding as a row of FINDINGS, in its column order."""
    low, high = f.changed_m2_range or (None, None)
    return (f.id, f.facility_id, f.kind.value, f.after_key, f.after_date and f.after_date.isoformat(), f.before_key,
            f.before_date and f.before_date.isoformat(), None if f.significant is None else int(f.significant),
            f.significance, f.changed_m2, low, high, _dumps(f.polygons) if f.polygons else "{}", f.note, f.run_id,
            _ts(f.created_at or utcnow()), f.status.value, _ts(f.decided_at), f.decided_by, f.observation_id)


def _finding(row: Sequence) -> Finding:
    (ident, fac, kind, after_key, after_date, before_key, before_date, significant, significance, changed, low,
     high, polygons, note, run_id, created_at, status, decided_at, decided_by, obs) = row
    return Finding(
        id=ident, facility_id=fac, kind=FindingKind(kind), after_key=after_key, after_date=_day(after_date),
        before_key=before_key, before_date=_day(before_date),
        significant=None if significant is None else bool(significant), significance=significance,
        changed_m2=changed, changed_m2_range=None if low is None else (low, high),
        polygons=json.loads(polygons) if polygons and polygons != "{}" else {}, note=note, run_id=run_id,
        created_at=read_ts(created_at), status=FindingStatus(status), decided_at=read_ts(decided_at),
        decided_by=decided_by, observation_id=obs)


def finding_state(f: Finding) -> dict:
    """A finding as the history keeps it (polygons left out: they are in the row and the observation)."""
    return {"facility_id": f.facility_id, "kind": f.kind.value, "after": f.after_key, "before": f.before_key,
            "status": f.status.value, "changed_m2": f.changed_m2, "observation_id": f.observation_id}


class WatchTables:
    """The watch tables of one registry. Every method is one transaction."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.dialect = store.dialect

    # ------------------------------------------------------------------ the watchlist

    def watched(self, facility_ids: Iterable[str] | None = None) -> list[WatchEntry]:
        """Watched facilities (all, or those of `facility_ids`), by facility id."""
        rows = self.dialect.query(f"SELECT {', '.join(_WATCH_COLS)} FROM watchlist "
                                  f"ORDER BY {self.dialect.text_order('facility_id')}")
        wanted = None if facility_ids is None else set(facility_ids)
        return [_entry(r) for r in rows if wanted is None or r[0] in wanted]

    def add(self, facility_ids: Sequence[str], *, actor: str) -> list[str]:
        """Watch these facilities (those already watched are kept as they are); returns the ids newly added.
        NotFound naming the first id that is no facility, and nothing is added."""
        added: list[str] = []
        group = uuid.uuid4().hex[:16]
        now = utcnow()
        with self.dialect.write() as tx:
            for fid in dict.fromkeys(facility_ids):
                if tx.execute("SELECT 1 FROM facilities WHERE id = ?", (fid,)).fetchone() is None:
                    raise NotFound(f"no facility with id {fid!r} in {self.store.location}; nothing was watched")
                if tx.execute("SELECT 1 FROM watchlist WHERE facility_id = ?", (fid,)).fetchone():
                    continue
                entry = WatchEntry(fid, now, actor)
                tx.execute(_insert(_WATCH_COLS, "watchlist"),
                           (fid, _ts(now), actor, None, None, "[]"))
                SqlStore._record(tx, "watch", fid, "watch-add", actor, None, _entry_state(entry), group)
                added.append(fid)
        return added

    def remove(self, facility_ids: Sequence[str], *, actor: str) -> list[str]:
        """Stop watching these facilities (their unreviewed findings go with them); returns the ids removed."""
        removed: list[str] = []
        group = uuid.uuid4().hex[:16]
        with self.dialect.write() as tx:
            for fid in dict.fromkeys(facility_ids):
                row = tx.execute(f"SELECT {', '.join(_WATCH_COLS)} FROM watchlist WHERE facility_id = ?"
                                 + self.dialect.lock("update"), (fid,)).fetchone()
                if row is None:
                    continue
                tx.execute("DELETE FROM watch_findings WHERE facility_id = ? AND status = ?",
                           (fid, FindingStatus.UNREVIEWED.value))
                tx.execute("DELETE FROM watchlist WHERE facility_id = ?", (fid,))
                SqlStore._record(tx, "watch", fid, "watch-remove", actor, _entry_state(_entry(row)), None, group)
                removed.append(fid)
        return removed

    # ------------------------------------------------------------------ findings

    def findings(self, *, status: FindingStatus | None = FindingStatus.UNREVIEWED,
                 facility_id: str | None = None) -> list[Finding]:
        """Findings (unreviewed unless told), oldest first."""
        clauses, params = [], []
        if status is not None:
            clauses.append("status = ?")
            params.append(status.value)
        if facility_id is not None:
            clauses.append("facility_id = ?")
            params.append(facility_id)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self.dialect.query(f"SELECT {', '.join(_FINDING_COLS)} FROM watch_findings {where} ORDER BY fid",
                                  params)
        return [_finding(r) for r in rows]

    def finding(self, finding_id: str) -> Finding:
        """The finding of this id; NotFound if there is none."""
        rows = self.dialect.query(f"SELECT {', '.join(_FINDING_COLS)} FROM watch_findings WHERE id = ?",
                                  (finding_id,))
        if not rows:
            raise NotFound(f"no finding with id {finding_id!r} in {self.store.location} (`facilities watch list "
                           "--findings` lists them)")
        return _finding(rows[0])

    def known_keys(self) -> dict[str, set[tuple[str, str]]]:
        """Per facility, the (kind, after image key) of every finding stored, whatever its status: what a scan
        must not report again."""
        out: dict[str, set[tuple[str, str]]] = {}
        for fac, kind, key in self.dialect.query("SELECT facility_id, kind, after_key FROM watch_findings"):
            out.setdefault(fac, set()).add((kind, key))
        return out

    def _decide(self, finding_id: str, status: FindingStatus, *, actor: str,
                observation: Observation | None = None) -> tuple[Finding, Observation | None]:
        now = utcnow()
        with self.dialect.write() as tx:
            row = tx.execute(f"SELECT {', '.join(_FINDING_COLS)} FROM watch_findings WHERE id = ?"
                             + self.dialect.lock("update"), (finding_id,)).fetchone()
            if row is None:
                raise NotFound(f"no finding with id {finding_id!r} in {self.store.location}")
            found = _finding(row)
            if found.status is not FindingStatus.UNREVIEWED:
                raise InputError(f"finding {finding_id!r} was already {found.status.value} by {found.decided_by} "
                                 f"on {_ts(found.decided_at)}; nothing was changed")
            stored = None
            if observation is not None:
                touched: set[str] = set()
                stored = self.store._add(tx, observation, actor, uuid.uuid4().hex[:16], touched)
                self.dialect.after_write(tx, sorted(touched))
            group = uuid.uuid4().hex[:16]
            tx.execute("UPDATE watch_findings SET status = ?, decided_at = ?, decided_by = ?, observation_id = ? "
                       "WHERE id = ?", (status.value, _ts(now), actor, stored.id if stored else None, finding_id))
            decided = replace(found, status=status, decided_at=now, decided_by=actor,
                              observation_id=stored.id if stored else None)
            SqlStore._record(tx, "finding", finding_id, status.value, actor, finding_state(found),
                             finding_state(decided), group)
            self._reviewed(tx, found, actor, now, group)
        return decided, stored

    def _reviewed(self, tx, found: Finding, actor: str, now: dt.datetime, group: str) -> None:
        """Move the site's review date to now and its reviewed images to the finding's new image."""
        row = tx.execute(f"SELECT {', '.join(_WATCH_COLS)} FROM watchlist WHERE facility_id = ?"
                         + self.dialect.lock("update"), (found.facility_id,)).fetchone()
        if row is None:
            raise StoreError(f"facility {found.facility_id!r} is no longer watched; its finding {found.id!r} "
                             "cannot be reviewed (`facilities watch add` it again)")
        before = _entry(row)
        keys = tuple(dict.fromkeys([found.after_key, *([found.before_key] if found.before_key else [])]))
        after = WatchEntry(before.facility_id, before.added_at, before.added_by, now, actor, keys)
        tx.execute("UPDATE watchlist SET reviewed_at = ?, reviewed_by = ?, reviewed_keys = ? WHERE facility_id = ?",
                   (_ts(now), actor, _dumps(list(keys)), found.facility_id))
        SqlStore._record(tx, "watch", found.facility_id, "review", actor, _entry_state(before), _entry_state(after),
                         group)

    def accept(self, finding_id: str, observation: Observation, *, actor: str) -> tuple[Finding, Observation]:
        """Record `observation` (made from the finding by the caller), mark the finding accepted with it, and move
        the site's review date: one transaction. InputError for a finding already decided."""
        decided, stored = self._decide(finding_id, FindingStatus.ACCEPTED, actor=actor, observation=observation)
        assert stored is not None
        return decided, stored

    def dismiss(self, finding_id: str, *, actor: str) -> Finding:
        """Mark the finding dismissed and move the site's review date: one transaction."""
        return self._decide(finding_id, FindingStatus.DISMISSED, actor=actor)[0]

    # ------------------------------------------------------------------ scan runs and checkpoints

    def open_run(self) -> str | None:
        """The scan run that started and did not finish, or None."""
        return self.store.get_meta(OPEN_RUN) or None

    def last_run(self) -> str | None:
        """The last scan run that finished, or None."""
        return self.store.get_meta(LAST_RUN) or None

    def start_run(self, run_id: str) -> None:
        """Remember `run_id` as the open run (a crash leaves it open for the next scan to resume)."""
        self.store.set_meta(OPEN_RUN, run_id)

    def finish_run(self, run_id: str) -> None:
        """Close the open run: it becomes the last run."""
        with self.dialect.write() as tx:
            for key, value in ((OPEN_RUN, ""), (LAST_RUN, run_id)):
                tx.execute("INSERT INTO tracker_meta (key, value) VALUES (?, ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def done_sites(self, run_id: str) -> set[str]:
        """Facilities whose results `run_id` has written (news, nothing or failed)."""
        return {r[0] for r in self.dialect.query("SELECT facility_id FROM watch_runs WHERE run_id = ?", (run_id,))}

    def run_outcomes(self, run_id: str) -> list[tuple[str, str, int, str | None, dt.datetime]]:
        """(facility id, outcome, findings, error, when) of each site a run has done, in the order done."""
        rows = self.dialect.query("SELECT facility_id, outcome, findings, error, at FROM watch_runs WHERE run_id = ? "
                                  "ORDER BY fid", (run_id,))
        return [(r[0], r[1], int(r[2]), r[3], parse_timestamp(r[4])) for r in rows]

    def record_site(self, run_id: str, facility_id: str, findings: Sequence[Finding], error: str | None,
                    *, actor: str) -> list[Finding]:
        """One site's scan result: its new findings (those whose kind and image are already stored are left out)
        and the run's checkpoint, in one transaction. Returns the findings written. A site the run has done
        already is left as it is (a resumed run never writes it twice)."""
        written: list[Finding] = []
        now = utcnow()
        group = uuid.uuid4().hex[:16]
        with self.dialect.write() as tx:
            if tx.execute("SELECT 1 FROM watch_runs WHERE run_id = ? AND facility_id = ?",
                          (run_id, facility_id)).fetchone():
                return []
            for f in findings:
                if tx.execute("SELECT 1 FROM watch_findings WHERE facility_id = ? AND kind = ? AND after_key = ?",
                              (f.facility_id, f.kind.value, f.after_key)).fetchone():
                    continue
                f = replace(f, run_id=run_id, created_at=now)
                tx.execute(_insert(_FINDING_COLS, "watch_findings"), finding_row(f))
                SqlStore._record(tx, "finding", f.id, "found", actor, None, finding_state(f), group)
                written.append(f)
            outcome = "failed" if error else ("news" if written else "nothing")
            tx.execute(_insert(tuple(c.name for c in WATCH_RUNS.columns), "watch_runs"),
                       (run_id, facility_id, outcome, len(written), error, _ts(now)))
        return written
