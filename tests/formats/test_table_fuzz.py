"""Damaged object catalogues and label tables in every table format (truncated, bytes
flipped, a header or schema value set to junk, another format under the name, a junk value
in a column): ingesting one beside a good file loads the good one and either loads the
damaged one whole or refuses it with an error naming the file (and the row, where one row
is at fault), never raises, and never keeps any of a refused file."""

from __future__ import annotations

import io
import itertools
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from astropy.table import MaskedColumn, Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from galcat.catalog.db import Database
from galcat.catalog.formats.tables import read_table, write_table
from galcat.catalog.ingest.labels import ingest_labels
from galcat.catalog.ingest.tables import ingest_catalog
from galcat.catalog.schema import Galaxy, Label, Sightline, Survey

N = 20
CASES = itertools.count()
SUFFIXES = (".fits", ".vot", ".parquet", ".csv", ".ecsv")
FITS_KEYS = [b"NAXIS1", b"NAXIS2", b"TFIELDS", b"PCOUNT", b"THEAP", b"TFORM1", b"TFORM2",
             b"TFORM3", b"TTYPE1", b"TTYPE2", b"TNULL2", b"TSCAL2", b"TZERO2", b"TDIM2",
             b"BITPIX", b"XTENSION", b"END"]
FITS_JUNK = [b"-1", b"0", b"99999999999", b"'x", b"T", b"1.5", b"NaN", b"", b"'D'", b"'2A'",
             b"'K'", b"'1PE(5)'", b"'RA'", b"'(2,3)'", b"'BINTABLE'"]
VOT_DATATYPES = [b"int", b"char", b"boolean", b"unsignedByte", b"floatComplex", b"bit",
                 b"junk", b"", b"short", b"double"]
ECSV_DATATYPES = [b"int64", b"string", b"bool", b"float16", b"complex128", b"junk", b"uint8"]
CSV_HEADERS = [b"", b"ID", b"id;ra;dec", b"ID,RA,RA,Dec", b"\xff\xfe,RA", b"a,b,c,d,e,f,g,h,i,j"]
Spec = tuple[str, Any]


class Damaged:
    """A damaged file's bytes, the row at fault (1-based) if it is one row, and whether
    the catalogue must refuse it; shown in failure reports by how it was damaged."""

    def __init__(self, data: bytes, how: str, row: int | None = None,
                 refuse: bool = False) -> None:
        self.data, self.how, self.row, self.refuse = data, how, row, refuse

    def __repr__(self) -> str:
        return f"<{self.how}: {len(self.data)} bytes>"


class Files(dict[str, bytes]):
    """Good files by name, shown in failure reports by their names only."""

    def __repr__(self) -> str:
        return f"<files {', '.join(self)}>"


def catalogue(prefix: str, seed: int) -> Table:
    """A galaxy and sightline table: ids, positions, redshift, mass, plate/mjd/fiber."""
    rng = np.random.default_rng(seed)
    return Table({
        "ID": [f"{prefix}-{i:03d}" for i in range(N)],
        "RA": rng.uniform(0, 360, N), "Dec": rng.uniform(-89, 89, N),
        "z": rng.uniform(0, 3, N), "LogMstar": rng.uniform(8, 12, N),
        "plate": np.full(N, 3655 + seed), "mjd": np.full(N, 55240), "fiber": np.arange(1, N + 1),
    })


def votes(prefix: str, seed: int) -> Table:
    """A CANDELS-style vote table for the galaxies of ``catalogue(prefix, ...)``."""
    rng = np.random.default_rng(seed).dirichlet(np.ones(3), N)
    return Table({"ID": [f"{prefix}-{i:03d}" for i in range(N)], "f_spheroid": rng[:, 0],
                  "f_disk": rng[:, 1], "f_irr": rng[:, 2]})


def _write(table: Table, path: Path) -> bytes:
    write_table(table, path)
    return path.read_bytes()


def _damage_header(draw: st.DrawFn, data: bytearray, suffix: str) -> tuple[bytes, str]:
    if suffix == ".fits":
        cards = [i for i in range(0, len(data) - 80, 80)
                 if re.fullmatch(rb"[A-Z0-9_ -]{8}= ", bytes(data[i:i + 10]))]
        edits = []
        for _ in range(draw(st.integers(1, 3))):
            card = draw(st.sampled_from(cards))
            value = draw(st.sampled_from(FITS_JUNK))
            if draw(st.booleans()):
                data[card:card + 80] = (draw(st.sampled_from(FITS_KEYS)).ljust(8) + b"= "
                                        + value).ljust(80)[:80]
            else:
                data[card + 10:card + 80] = value.ljust(70)[:70]
            edits.append(f"{bytes(data[card:card + 8]).decode().strip()}={value!r} at {card}")
        return bytes(data), f"FITS header cards set to junk: {', '.join(edits)}"
    if suffix == ".vot":
        spots = [m.span(1) for m in re.finditer(rb'datatype="([^"]*)"', data)]
        start, stop = draw(st.sampled_from(spots))
        junk = draw(st.sampled_from(VOT_DATATYPES))
        return bytes(data[:start] + junk + data[stop:]), f"a VOTable datatype set to {junk!r}"
    if suffix == ".ecsv":
        spots = [m.span(1) for m in re.finditer(rb"datatype: (\w+)", data)]
        start, stop = draw(st.sampled_from(spots))
        junk = draw(st.sampled_from(ECSV_DATATYPES))
        return bytes(data[:start] + junk + data[stop:]), f"an ECSV datatype set to {junk!r}"
    if suffix == ".csv":
        end = data.index(b"\n")
        junk = draw(st.sampled_from(CSV_HEADERS))
        return junk + bytes(data[end:]), f"the CSV header set to {junk!r}"
    start = max(0, len(data) - 400)
    flips = draw(st.lists(st.integers(start, len(data) - 1), min_size=1, max_size=8))
    for position in flips:
        data[position] ^= 0xFF
    return bytes(data), f"Parquet footer bytes {flips} inverted"


JUNK: list[Spec] = [("text", "abc"), ("text", ""), ("text", "1e999"), ("text", " 12:30:00"),
                    ("text", "nan"), ("text", "x" * 70), ("value", np.nan), ("value", np.inf),
                    ("value", -np.inf), ("value", 400.0), ("value", -10.0), ("value", 1e300),
                    ("value", 90.5), ("value", -91.0), ("value", 2.0**40), ("masked", None),
                    ("duplicate", "same object"), ("duplicate", "other object")]
POSITION = ("RA", "Dec")
INTEGER = ("plate", "mjd", "fiber")
USED = {"galaxy": {"ID", *POSITION, "z", "LogMstar"},
        "sightline": {*POSITION, "z", *INTEGER},
        "labels": {"f_spheroid", "f_disk", "f_irr"}}
NOT_NUMBERS = {"abc", " 12:30:00", "x" * 70}


def _must_refuse(kind: str, column: str, spec: Spec) -> bool:
    """Whether ingest must refuse ``kind`` of file (naming the row) for this junk value."""
    what, value = spec
    if what == "duplicate":
        return value == "other object" and kind != "labels"
    if column not in USED[kind]:
        return False
    if column == "ID":
        return what == "masked" or (what == "text" and (value == "" or len(value) > 64))
    if what == "masked":
        return column in (*POSITION, *INTEGER)
    if what == "text":
        if column in POSITION:
            return value != " 12:30:00"
        if kind == "labels":
            return value in (*NOT_NUMBERS, "1e999")
        return column in INTEGER or value in NOT_NUMBERS
    if kind == "labels":
        return not 0 <= value <= 1 and not np.isnan(value)
    if column in POSITION:
        return not np.isfinite(value) or (column == "Dec" and abs(value) > 90)
    return column in INTEGER and (not np.isfinite(value) or value != round(value)
                                  or abs(value) >= 2.0**63)


def _with_junk(table: Table, column: str, row: int, spec: Spec, other: int) -> Table:
    out = table.copy()
    what, value = spec
    if what == "duplicate":
        names = out.colnames if value == "same object" else \
            [n for n in ("ID", *INTEGER) if n in out.colnames]
        for name in names:
            out[name][row] = out[name][other]
    elif what == "masked":
        out[column] = MaskedColumn(out[column], mask=np.arange(len(out)) == row)
    elif what == "text" or out[column].dtype.kind == "U":
        texts = [str(v) for v in out[column]]
        texts[row] = str(value)
        out[column] = np.array(texts, dtype=str)
    else:
        values = np.asarray(out[column], dtype=float)
        values[row] = value
        out[column] = values
    return out


@st.composite
def junk(draw: st.DrawFn, good: Table, suffix: str, workdir: Path, kind: str) -> Damaged:
    """``good`` written as ``suffix`` with one junk value in a column that ``kind`` reads."""
    column, spec = draw(st.sampled_from([(c, j) for c in sorted(USED[kind]) for j in JUNK]))
    row, other = draw(st.permutations(range(len(good))))[:2]
    data = _write(_with_junk(good, column, row, spec, other), workdir / f"original{suffix}")
    return Damaged(data, f"{spec} in column {column} row {row + 1}", row + 1,
                   _must_refuse(kind, column, spec))


@st.composite
def damaged(draw: st.DrawFn, good: Table, suffix: str, wrong: Files, workdir: Path,
            kind: str) -> Damaged:
    """``good`` written as ``suffix`` and then damaged: truncated, bytes flipped, a header
    value set to junk, replaced by another format, or with one junk value in a column."""
    how = draw(st.sampled_from(["truncate", "flip", "header", "wrong type", "junk value"]))
    if how == "wrong type":
        name = draw(st.sampled_from(sorted(wrong)))
        return Damaged(wrong[name], f"{name} instead")
    if how == "junk value":
        return draw(junk(good, suffix, workdir, kind))
    data = bytearray(_write(good, workdir / f"original{suffix}"))
    if how == "truncate":
        size = draw(st.integers(0, len(data) - 1))
        return Damaged(bytes(data[:size]), f"truncated to {size}")
    if how == "flip":
        flips = draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)),
                              min_size=1, max_size=16))
        for position, mask in flips:
            data[position] ^= mask or 1
        return Damaged(bytes(data), f"bytes flipped at {flips}")
    return Damaged(*_damage_header(draw, data, suffix))


def _image_fits() -> bytes:
    buffer = io.BytesIO()
    fits.PrimaryHDU(np.zeros((4, 4), np.float32)).writeto(buffer)
    return buffer.getvalue()


def _wrong_types(good: Table, workdir: Path) -> Files:
    """Files that are not a table, or not in the format their name says."""
    files = Files({f"good{s}": _write(good, workdir / f"wrong{s}") for s in SUFFIXES})
    files.update({"empty": b"", "text": b"just some text\n" * 50, "zeros": b"\0" * 5760,
                  "image FITS": _image_fits(),
                  "one column": b"ID\na\nb\n", "no rows": b"ID,RA,Dec\n"})
    return files


def _count(db: Database, model: type, *where: Any) -> int:
    with db.new_session() as session:
        query = sa.select(sa.func.count()).select_from(model)
        for clause in where:
            query = query.where(clause)
        return int(session.execute(query).scalar_one())


def _check_refusal(errors: list[str], bad: Path, damage: Damaged) -> None:
    assert errors
    assert all(str(bad) in error for error in errors), errors
    if damage.row is not None and damage.refuse:
        assert any(re.search(rf"\brow {damage.row}\b", error) for error in errors), errors


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-tables")


@pytest.fixture(scope="module")
def wrong_catalogues(workdir: Path) -> Files:
    return _wrong_types(catalogue("bad", 2), workdir)


@pytest.fixture(scope="module")
def wrong_votes(workdir: Path) -> Files:
    return _wrong_types(votes("bad", 2), workdir)


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_catalogue_beside_a_good_one_loads_whole_or_not_at_all(
    data: st.DataObject, workdir: Path, wrong_catalogues: Files, sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("case")
    shutil.copy(sqlite_template, folder / "galcat.sqlite")
    kind = data.draw(st.sampled_from(["galaxy", "sightline"]), label="kind")
    good = folder / "good.fits"
    write_table(catalogue("good", 1), good)
    suffix = data.draw(st.sampled_from(SUFFIXES), label="format")
    damage = data.draw(damaged(catalogue("bad", 2), suffix, wrong_catalogues, workdir, kind))
    bad = folder / f"bad{suffix}"
    bad.write_bytes(damage.data)
    model = Galaxy if kind == "galaxy" else Sightline
    db = Database.for_url(f"sqlite:///{folder / 'galcat.sqlite'}")
    try:
        summary = ingest_catalog(db, [bad, good], kind)
        outcome, good_outcome = summary.files
        assert good_outcome.ok and good_outcome.rows_loaded == N, good_outcome.errors
        with db.new_session() as session:
            surveys = dict(session.execute(sa.select(Survey.name, Survey.id)).all())
        assert _count(db, model, model.survey_id == surveys["good"]) == N
        if outcome.ok:
            assert not damage.refuse, f"{damage} was loaded"
            rows = len(read_table(bad))
            assert outcome.rows_loaded + outcome.rows_merged == rows
            assert _count(db, model, model.survey_id == surveys["bad"]) == outcome.rows_loaded
        else:
            _check_refusal(outcome.errors, bad, damage)
            assert "bad" not in surveys, "nothing of a refused file is kept"
        assert _count(db, model) == summary.rows_loaded
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def shared_db(sqlite_template: Path, workdir: Path) -> Iterator[Database]:
    """One catalog database for many examples, each loading a file of its own survey."""
    shutil.copy(sqlite_template, workdir / "shared.sqlite")
    db = Database.for_url(f"sqlite:///{workdir / 'shared.sqlite'}")
    yield db
    db.dispose()


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_junk_value_refuses_the_file_naming_its_row_or_loads_whole(
    data: st.DataObject, workdir: Path, shared_db: Database
) -> None:
    kind = data.draw(st.sampled_from(["galaxy", "sightline"]), label="kind")
    suffix = data.draw(st.sampled_from(SUFFIXES), label="format")
    damage = data.draw(junk(catalogue("bad", 2), suffix, workdir, kind))
    survey = f"junk-{next(CASES)}"
    bad = workdir / f"{survey}{suffix}"
    bad.write_bytes(damage.data)
    model = Galaxy if kind == "galaxy" else Sightline
    outcome = ingest_catalog(shared_db, [bad], kind).files[0]
    kept = _count(shared_db, model, model.survey_id == Survey.id, Survey.name == survey)
    if outcome.ok:
        assert not damage.refuse, f"{damage} was loaded"
        assert outcome.rows_loaded + outcome.rows_merged == N
        assert kept == outcome.rows_loaded
    else:
        _check_refusal(outcome.errors, bad, damage)
        assert kept == 0, "nothing of a refused file is kept"


@pytest.fixture(scope="module")
def with_galaxies(sqlite_template: Path, workdir: Path) -> Path:
    """A catalog database holding the galaxies that both vote tables name."""
    path = workdir / "galaxies.sqlite"
    shutil.copy(sqlite_template, path)
    for prefix, seed in (("good", 1), ("bad", 2)):
        write_table(catalogue(prefix, seed), workdir / f"{prefix}.fits")
    db = Database.for_url(f"sqlite:///{path}")
    try:
        assert ingest_catalog(db, [workdir / "good.fits", workdir / "bad.fits"], "galaxy").ok
    finally:
        db.dispose()
    return path


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_label_table_beside_a_good_one_loads_whole_or_not_at_all(
    data: st.DataObject, workdir: Path, with_galaxies: Path, wrong_votes: Files,
    tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("case")
    shutil.copy(with_galaxies, folder / "galcat.sqlite")
    good = folder / "good.csv"
    write_table(votes("good", 1), good)
    suffix = data.draw(st.sampled_from(SUFFIXES), label="format")
    damage = data.draw(damaged(votes("bad", 2), suffix, wrong_votes, workdir, "labels"))
    bad = folder / f"bad{suffix}"
    bad.write_bytes(damage.data)
    db = Database.for_url(f"sqlite:///{folder / 'galcat.sqlite'}")
    try:
        summary = ingest_labels(db, [bad, good], "fuzz", "galaxy")
        outcome, good_outcome = summary.files
        assert good_outcome.ok and good_outcome.rows_loaded == N, good_outcome.errors
        assert _count(db, Label, Label.source == str(good)) == N
        kept = _count(db, Label, Label.source == str(bad))
        if outcome.ok:
            assert kept == outcome.rows_loaded
        else:
            _check_refusal(outcome.errors, bad, damage)
            assert kept == 0, "nothing of a refused file is kept"
    finally:
        db.dispose()
