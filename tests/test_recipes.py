"""Every ```sql block under "## SQL recipes" in README.md runs as ``galcat query sql``
would (read-only) on both backends and returns the rows it should, computed here
from the loaded values without SQL."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.fixtures.synthetic import Sample, sample_catalogue
from galcat.catalog.db import Database
from galcat.catalog.release import make_release
from galcat.catalog.sky import angular_distance_deg
from galcat.catalog.sql import Rows, run_sql

README = Path(__file__).resolve().parents[1] / "README.md"


def recipes() -> dict[str, str]:
    """Recipe name (its ``-- recipe: NAME`` line) -> SQL."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## SQL recipes\n", 1)[1].split("\n## ", 1)[0]
    found = {}
    for block in re.findall(r"```sql\n(.*?)```", section, flags=re.S):
        name = re.match(r"-- recipe: ([\w-]+)", block)
        assert name, f"a recipe must start with '-- recipe: NAME':\n{block}"
        found[name[1]] = block
    return found


@pytest.fixture
def catalogue(db: Database, tmp_path: Path) -> Sample:
    sample = sample_catalogue(db, n_galaxies=600, n_sightlines=300)
    make_release(db, "morphology", "DR1", tmp_path, formats="csv",
                 models=[sample.references["morphology-old"]])
    make_release(db, "morphology", "DR2", tmp_path, formats="csv")
    return sample


def strong_dlas(sample: Sample, rows: Rows) -> None:
    a = sample.absorbers
    keep = (a["type"] == "DLA") & (a["log_nhi"] > 21) & (a["z_dla"] > 3)
    snr = dict(zip(sample.sightlines.ids.tolist(), a["search_snr"].tolist(), strict=True))
    want = sorted(zip(a["log_nhi"][keep].tolist(), a["sightline_id"][keep].tolist(),
                      strict=True), key=lambda t: (-t[0], t[1]))
    got = [(r["log_nhi"], r["sightline_id"]) for r in _dicts(rows)]
    assert got == want and len(want) >= 5
    assert all(r["snr"] == snr[r["sightline_id"]] for r in _dicts(rows))


def bulges_in_a_cone(sample: Sample, rows: Rows) -> None:
    g = sample.galaxies
    predicted = sample.predictions["morphology-new"]
    distance = angular_distance_deg(150.1, 2.2, g.ra, g.dec)
    want = sorted((float(distance[i]), int(image))
                  for i in range(len(g.ids)) for image in g.image_ids[i]
                  if int(image) in predicted and predicted[int(image)]["p_bulge"] > 0.8
                  and distance[i] <= 0.5)
    got = [(r["distance_deg"], r["image_id"]) for r in _dicts(rows)]
    assert [i for _, i in got] == [i for _, i in want] and len(want) >= 3
    assert np.allclose([d for d, _ in got], [d for d, _ in want], atol=1e-9)


def two_model_versions(sample: Sample, rows: Rows) -> None:
    old, new = sample.predictions["morphology-old"], sample.predictions["morphology-new"]
    both = sorted(set(old) & set(new), key=lambda i: (-abs(new[i]["p_bulge"]
                                                           - old[i]["p_bulge"]), i))
    got = _dicts(rows)
    assert [r["image_id"] for r in got] == both and len(both) > 100
    assert all(r["delta_p_bulge"] == pytest.approx(new[r["image_id"]]["p_bulge"]
                                                   - old[r["image_id"]]["p_bulge"]) for r in got)


def changed_between_releases(sample: Sample, rows: Rows) -> None:
    old, new = sample.predictions["morphology-old"], sample.predictions["morphology-new"]
    galaxy_of = {int(i): int(g) for g, images in zip(sample.galaxies.ids, sample.galaxies.image_ids,
                                                     strict=True) for i in images}
    want = sorted((galaxy_of[i], i) for i in set(old) & set(new)
                  if abs(new[i]["p_bulge"] - old[i]["p_bulge"]) > 0.1
                  or abs(new[i]["f_spheroid"] - old[i]["f_spheroid"]) > 0.1)
    assert [(r["galaxy_id"], r["image_id"]) for r in _dicts(rows)] == want and want


def type_fractions(sample: Sample, rows: Rows) -> None:
    g, predicted = sample.galaxies, sample.predictions["morphology-new"]
    classes = ("f_spheroid", "f_disk", "f_irr", "f_ps", "f_unc")
    names = ("spheroid", "disk", "irregular", "other", "other")
    cells: dict[tuple[float, float], Counter[str]] = {}
    for i in range(len(g.ids)):
        images = sorted(int(x) for x in g.image_ids[i] if int(x) in predicted)
        if not images:
            continue
        values = predicted[images[0]]
        dominant = names[int(np.argmax([values[c] for c in classes]))]
        z = g.z_spec[i] if not np.isnan(g.z_spec[i]) else g.z_phot[i]
        cell = (np.floor(z / 0.5) * 0.5, np.floor(g.log_mstar[i] / 0.5) * 0.5)
        cells.setdefault(cell, Counter())[dominant] += 1
    got = _dicts(rows)
    assert [(r["z_lo"], r["log_mstar_lo"]) for r in got] == sorted(cells)
    for r in got:
        counts = cells[(r["z_lo"], r["log_mstar_lo"])]
        n = sum(counts.values())
        assert r["n_galaxies"] == n and r["z_hi"] == pytest.approx(r["z_lo"] + 0.5)
        for name in ("spheroid", "disk", "irregular"):
            assert r[f"frac_{name}"] == pytest.approx(counts[name] / n), (name, r)
    assert sum(r["n_galaxies"] for r in got) == int(0.8 * len(g.ids))


CHECKS: dict[str, Callable[[Sample, Rows], None]] = {
    "strong-dlas": strong_dlas,
    "bulges-in-a-cone": bulges_in_a_cone,
    "two-model-versions": two_model_versions,
    "changed-between-releases": changed_between_releases,
    "type-fractions": type_fractions,
}


SIMULATION_RECIPES = {"bulge-rise-after-merger"}
"""Recipes on simulated galaxies, checked by tests/test_simulation_figure.py."""


def test_every_recipe_is_checked() -> None:
    assert set(recipes()) == set(CHECKS) | SIMULATION_RECIPES and len(CHECKS) >= 5


def test_recipes_return_the_right_rows(db: Database, catalogue: Sample) -> None:
    for name, sql in recipes().items():
        if name not in SIMULATION_RECIPES:
            CHECKS[name](catalogue, run_sql(db, sql))


def _dicts(rows: Rows) -> list[dict[str, Any]]:
    return [dict(zip(rows.names, r, strict=True)) for r in rows.rows]
