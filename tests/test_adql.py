"""ADQL translation: a query translated through its cached shape equals its translation
whole; refused tables are named; the cone pre-selection is found only where every row
must lie in the cone."""

from __future__ import annotations

import pytest

from galcat.catalog.tap.adql import AdqlError, _shape, _translated, translate

SAME = [
    "SELECT TOP 7 galaxy_id, ra FROM morphology.galaxies WHERE f_disk > 0.25 ORDER BY ra",
    "SELECT galaxy_id, DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 150.5, -2.75)) AS d "
    "FROM morphology.galaxies WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
    "CIRCLE('ICRS', 150.5, -2.75, 0.3))",
    "SELECT a.absorber_id, s.z_qso FROM dla.absorbers AS a JOIN dla.sightlines AS s "
    "ON a.sightline_id = s.sightline_id WHERE a.log_nhi BETWEEN 20.3 AND 21.75",
    "SELECT COUNT(*) FROM environment.galaxies WHERE cylinder_count >= 12 AND z_env < 0.8",
    "SELECT * FROM dla.absorbers WHERE survey = 'SDSS 12.5' AND z_dla > 2.5",
    "SELECT galaxy_id FROM morphology.galaxies WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
    "BOX('ICRS', 150, 2, 0.5, 0.25))",
]


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
@pytest.mark.parametrize("adql", SAME)
def test_the_shape_path_gives_the_whole_translation(adql: str, dialect: str) -> None:
    shaped = translate(adql, dialect).sql
    reference_sql, _, _ = _translated(adql, dialect)
    reference = translate(adql, dialect)  # cached shape, same answer twice
    assert reference.sql == shaped
    for t in reference.tables:
        reference_sql = reference_sql.replace(
            f"`{t.schema}`.`{t.name}`" if dialect == "sqlite" else t.qualified, t.cte)
    normalise = str.maketrans("", "", " ;")
    assert shaped.translate(normalise).replace(".0)", ")") == \
        reference_sql.translate(normalise).replace(".0)", ")")


def test_literals_in_strings_and_names_are_left_alone() -> None:
    shape, literals = _shape("SELECT f_1, 'a 12.5 b' FROM x.y2 WHERE z > 12.5 AND w = 3e-2")
    assert "'a 12.5 b'" in shape and "f_1" in shape and "y2" in shape
    assert [literal for _, literal in literals] == ["12.5", "3e-2"]


CONES = [
    ("SELECT galaxy_id FROM morphology.galaxies WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
     "CIRCLE('ICRS', 10, -20.5, 1e-2)) AND f_disk > 0.5 ORDER BY galaxy_id", (10, -20.5, 0.01)),
    ("SELECT galaxy_id FROM morphology.galaxies WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
     "CIRCLE('ICRS', 150, 2, 0.1)) OR f_disk > 0.5", None),
    ("SELECT galaxy_id FROM morphology.galaxies WHERE NOT 1 = CONTAINS(POINT('ICRS', ra, dec),"
     " CIRCLE('ICRS', 150, 2, 0.1))", None),
    ("SELECT g.galaxy_id FROM morphology.galaxies AS g, morphology.galaxies AS h WHERE "
     "1 = CONTAINS(POINT('ICRS', g.ra, g.dec), CIRCLE('ICRS', 150, 2, 0.1))", None),
    ("SELECT galaxy_id FROM morphology.galaxies WHERE galaxy_id IN (SELECT galaxy_id FROM "
     "morphology.galaxies WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), "
     "CIRCLE('ICRS', 150, 2, 0.1)))", None),
]


@pytest.mark.parametrize(("adql", "cone"), CONES)
def test_the_cone_preselection_only_where_every_row_is_in_the_cone(adql: str, cone) -> None:
    assert translate(adql, "sqlite").cone == cone


def test_tables_tap_does_not_show_are_refused() -> None:
    with pytest.raises(AdqlError, match=r"no table public\.job"):
        translate("SELECT * FROM public.job WHERE id > 12", "postgresql")
    with pytest.raises(AdqlError, match="syntax error at line 1"):
        translate("SELEC * FROM dla.absorbers", "sqlite")
