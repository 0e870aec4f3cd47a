"""Plots a person would rather see than read: a spectrum with its DLAs marked, and the
demo's DLA completeness against log N_HI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from galcat.catalog.db import Database
from galcat.catalog.pixels import best_spectra, spectrum_arrays
from galcat.catalog.schema import DlaAbsorber, Sightline

LYA_AA = 1215.6701
LYB_AA = 1025.7223


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _truth(spectra_dir: Path) -> Any:
    from astropy.table import Table

    return Table.read(spectra_dir / "truth.ecsv")


def spectrum_plot(db: Database, spectra_dir: Path, out: Path) -> Path:
    """The mock sightline with the most confident DLA: flux, detections, truth."""
    truth = _truth(spectra_dir)
    with db.new_session() as session:
        best = session.execute(
            sa.select(DlaAbsorber.sightline_id, Sightline.thing_id, Sightline.z_qso)
            .join(Sightline).where(DlaAbsorber.type == "DLA",
                                   Sightline.thing_id.in_([int(t) for t in truth["thing_id"]]))
            .order_by(DlaAbsorber.confidence.desc(), DlaAbsorber.log_nhi.desc()).limit(1)
        ).first()
        if best is None:
            best = session.execute(sa.select(Sightline.id, Sightline.thing_id, Sightline.z_qso)
                                   .order_by(Sightline.id).limit(1)).one()
        sightline_id, thing_id, z_qso = best[0], best[1], float(best[2] or 0.0)
        chosen = best_spectra(session, [sightline_id])[sightline_id]
        loglam, flux, ivar = spectrum_arrays(session, chosen)
        found = session.execute(sa.select(DlaAbsorber.z_dla, DlaAbsorber.log_nhi, DlaAbsorber.type)
                                .where(DlaAbsorber.sightline_id == sightline_id)).all()
    wave = 10.0**loglam
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    kernel = np.ones(5) / 5
    ax.plot(wave, np.convolve(np.where(ivar > 0, flux, np.nan), kernel, "same"), lw=0.6,
            color="0.2", label="flux (5-pixel mean)")
    for z, nhi, kind in found:
        ax.axvline((1 + z) * LYA_AA, color="tab:red", lw=1.2, alpha=0.8)
        ax.text((1 + z) * LYA_AA, 0.95, f" {kind} {nhi:.2f}", color="tab:red", fontsize=8,
                transform=ax.get_xaxis_transform(), va="top")
    mine = truth[truth["thing_id"] == thing_id]
    for row in mine:
        ax.axvline((1 + row["z_abs"]) * LYA_AA, color="tab:blue", ls="--", lw=1)
    ax.set(xlim=(3600, (1 + z_qso) * 1300), xlabel="observed wavelength [Å]",
           ylabel="flux [1e-17 erg/s/cm²/Å]",
           title=f"THING_ID {thing_id}, z_qso = {z_qso:.3f}: detected (red) and true (blue dashed) "
                 "absorbers")
    finite = np.isfinite(flux) & (ivar > 0) & (wave < (1 + z_qso) * 1300)
    if finite.any():
        ax.set_ylim(min(-0.5, np.percentile(flux[finite], 1)), np.percentile(flux[finite], 99.5))
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def dla_completeness_plot(db: Database, spectra_dir: Path, out: Path) -> Path:
    """Fraction of the demo's true DLAs found as DLAs (|Δz| < 0.015) per log N_HI bin."""
    from galcat.models.dla.evaluation import binned_fraction, match_nearest

    truth = _truth(spectra_dir)
    truth = truth[truth["log_nhi"] >= 20.3]
    with db.new_session() as session:
        rows = session.execute(
            sa.select(Sightline.thing_id, DlaAbsorber.z_dla).join(Sightline)
            .where(DlaAbsorber.type == "DLA", Sightline.thing_id.is_not(None))).all()
    pred_t = np.array([r[0] for r in rows], dtype=np.int64)
    pred_z = np.array([r[1] for r in rows], dtype=np.float64)
    found = match_nearest(np.asarray(truth["thing_id"], np.int64), np.asarray(truth["z_abs"]),
                          pred_t, pred_z) >= 0
    edges = np.array([20.3, 20.6, 20.9, 21.2, 21.6, 22.6])
    binned = binned_fraction(np.asarray(truth["log_nhi"]), found, edges)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.errorbar(centres, binned.fraction, yerr=binned.error, fmt="o-", capsize=3)
    for x, n in zip(centres, binned.n, strict=True):
        ax.text(x, 0.05, f"n={n}", ha="center", fontsize=8)
    ax.set(xlabel="true log N_HI [cm$^{-2}$]", ylabel="completeness (found as DLA)",
           ylim=(0, 1.05), title="Demo mock survey: DLAs recovered by the shipped model")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def sersic_vs_truth_plot(db: Database, galaxies_dir: Path, out: Path) -> Path:
    """Emulated Sérsic parameters of the demo galaxies against their mock truth."""
    from galcat.catalog.schema import Image, SersicFit

    truth = _truth(galaxies_dir)
    by_file = {str(name): i for i, name in enumerate(truth["file"])}
    with db.new_session() as session:
        rows = session.execute(sa.select(Image.source_path, SersicFit.mag, SersicFit.r_eff_arcsec,
                                         SersicFit.sersic_n, SersicFit.axis_ratio)
                               .join(SersicFit, SersicFit.image_id == Image.id)).all()
    pairs = [(by_file[Path(r[0]).name], r) for r in rows if r[0] and Path(r[0]).name in by_file]
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    for ax, (column, k, label) in zip(axes, (("mag", 1, "mag"), ("r_eff_arcsec", 2, "r_eff [″]"),
                                            ("sersic_n", 3, "Sérsic n"),
                                            ("axis_ratio", 4, "axis ratio b/a")), strict=True):
        t = np.asarray(truth[column], dtype=float)[[i for i, _ in pairs]]
        p = np.array([r[k] for _, r in pairs], dtype=float)
        ok = np.isfinite(t) & np.isfinite(p)
        ax.scatter(t[ok], p[ok], s=3, alpha=0.5)
        if ok.any():
            lo, hi = np.percentile(np.concatenate([t[ok], p[ok]]), [0.5, 99.5])
            ax.plot([lo, hi], [lo, hi], color="tab:red", lw=1)
        ax.set(xlabel=f"true {label}", ylabel=f"emulated {label}")
    fig.suptitle(f"Sérsic emulator vs truth on {len(pairs)} demo galaxies")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
