"""The object page of a DLA absorber: its spectrum around Lyα and Lyβ with the Voigt
profile of the catalogued z_dla and log_nhi (:mod:`models.dla.absorber_profile`), the
network's confidence along its sightline, and its values with errors.

The catalogue keeps the network's confidence for each absorber it reported, not at
every pixel it searched, so the sightline figure shows the reported absorbers with
their confidences over the searched range, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from galcat.catalog.pixels import best_spectra, spectrum_arrays
from galcat.catalog.release.build import ReleaseRecord
from galcat.catalog.release.definitions import DLA_ABSORBERS
from galcat.catalog.service.objects import (
    Figure,
    Listing,
    ObjectPage,
    Row,
    new_figure,
    png_bytes,
    release_rows,
    values_with_errors,
)
from galcat.models.dla.absorber_profile import LineRegion, line_centre_aa, line_region
from galcat.models.dla.constants import LYA, LYB
from galcat.models.dla.refine import RefineConfig

FLUX_UNIT = "1e-17 erg s⁻¹ cm⁻² Å⁻¹"
SPECTRUM = "spectrum"
SIGHTLINE = "sightline"
GREEK = {LYA.name: "Lyα", LYB.name: "Lyβ"}


@dataclass(frozen=True)
class SightlineData:
    """What the figures of one absorber read: its sightline's row, the sightline's
    absorbers in the release, and the searched spectrum (None when none is stored)."""

    sightline: Row | None
    absorbers: list[Row]
    spectrum: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    spectrum_id: int | None


def sightline_data(connection: sa.Connection, record: ReleaseRecord, row: Row,
                   pixels: bool = True) -> SightlineData:
    """The absorber's sightline, its absorbers and (with ``pixels``) its best spectrum."""
    sightline_id = int(row["sightline_id"])
    found = release_rows(connection, record, "sightlines", positions=[sightline_id])
    absorbers = release_rows(connection, record, "absorbers", positions=[sightline_id])
    session = Session(bind=connection)
    spectrum_id = best_spectra(session, [sightline_id]).get(sightline_id)
    arrays = spectrum_arrays(session, spectrum_id) if pixels and spectrum_id else None
    return SightlineData(found[0] if found else None, absorbers, arrays, spectrum_id)


def absorber_regions(data: SightlineData, row: Row, config: RefineConfig = RefineConfig()
                     ) -> dict[str, LineRegion | None]:
    """The absorber's Lyα and Lyβ regions on its spectrum (None: no data there)."""
    if data.spectrum is None:
        return {LYA.name: None, LYB.name: None}
    others = [(float(a["z_dla"]), float(a["log_nhi"])) for a in data.absorbers
              if a["absorber_id"] != row["absorber_id"] and a["type"] != "LYB"]
    loglam, flux, ivar = data.spectrum
    z_qso = float(row["z_qso"] if row["z_qso"] is not None else np.inf)
    return {line.name: line_region(loglam, flux, ivar, z_qso, float(row["z_dla"]),
                                   float(row["log_nhi"]), _float(row["log_nhi_err"]),
                                   line, others, config) for line in (LYA, LYB)}


class DlaObjectView:
    """Object pages of the DLA catalogue's absorbers."""

    catalogue = "dla"
    noun = "absorber"
    preview_columns: tuple[str, ...] = (
        "absorber_id", "object_id", "ra", "dec", "z_qso", "z_dla", "log_nhi", "log_nhi_err",
        "type", "confidence")

    def page(self, connection: sa.Connection, record: ReleaseRecord, row: Row) -> ObjectPage:
        data = sightline_data(connection, record, row, pixels=False)
        z, n_hi = float(row["z_dla"]), float(row["log_nhi"])
        error = _float(row["log_nhi_err"])
        nhi_text = f"log N_HI = {n_hi:.2f}" + (f" ± {error:.2f}" if error else "")
        title = f"{row['type']} absorber {row['absorber_id']} at z = {z:.4f}"
        summary = (f"{nhi_text} cm⁻² at z = {z:.5f} on sightline {row['sightline_id']} "
                   f"({row['survey']} {row['object_id']}, z_qso = {_text(row['z_qso'])}); "
                   f"the network's confidence that it is real is {float(row['confidence']):.3f}."
                   f" Release {record.tag}.")
        no_spectrum = ("" if data.spectrum_id else
                       f"no spectrum of sightline {row['sightline_id']} is stored in this "
                       "catalogue (its pixels were not ingested)")
        lya, lyb = line_centre_aa(LYA, z), line_centre_aa(LYB, z)
        figures = [
            Figure(SPECTRUM, f"The searched spectrum (black: flux, {FLUX_UNIT}; grey: 1σ error) "
                   f"around the absorber's Lyα at {lya:.1f} Å and its Lyβ at {lyb:.1f} Å. "
                   "Red: the Voigt profile of the catalogued z_dla and log_nhi (all Lyman "
                   f"lines, b = {RefineConfig().b_kms:g} km/s, the sightline's other absorbers "
                   "included) on a local continuum times the forest's mean transmission "
                   "(blue, dashed), solved by weighted least squares; shaded: log_nhi ± 1σ. "
                   "Orange dots: pixels left out of the continuum solution (forest "
                   "absorption, no data, the quasar's Lyα emission).", no_spectrum),
            Figure(SIGHTLINE, "The whole search: the spectrum (top) and the network's "
                   "confidence for each absorber it reported on this sightline (bottom, this "
                   "one in red), at each absorber's Lyα wavelength; shaded: the Lyα range "
                   "searched. The catalogue stores one confidence per reported absorber, "
                   "not the network's confidence at every pixel, so none is drawn between "
                   "them."),
        ]
        searched = data.sightline
        note = ("The network's confidence is stored for each absorber it reported; this is "
                "every absorber it reported on this sightline")
        if searched is not None:
            note += (f", searched over z = {float(searched['z_min']):.3f}–"
                     f"{float(searched['z_max']):.3f} (median S/N "
                     f"{_text(searched['snr'])}).")
        listing = Listing(
            "Absorbers on this sightline",
            ("absorber_id", "absorber_index", "z_dla", "log_nhi", "log_nhi_err", "type",
             "confidence"),
            tuple((a["absorber_id"], a["absorber_index"], a["z_dla"], a["log_nhi"],
                   a["log_nhi_err"], a["type"], a["confidence"]) for a in data.absorbers),
            tuple(int(a["absorber_id"]) for a in data.absorbers), note)
        notes = [f"Spectrum drawn: galcat spectrum {data.spectrum_id}, the observation of "
                 "this quasar with the highest median S/N (the one the network searched)."
                 ] if data.spectrum_id else []
        return ObjectPage(title, summary, figures, values_with_errors(DLA_ABSORBERS, row),
                          [listing], notes)

    def figure(self, connection: sa.Connection, record: ReleaseRecord, row: Row,
               name: str) -> bytes | None:
        if name not in (SPECTRUM, SIGHTLINE):
            return None
        data = sightline_data(connection, record, row)
        if name == SIGHTLINE:
            return sightline_png(data, row)
        if data.spectrum is None:
            return None
        return spectrum_png(absorber_regions(data, row), row, data.spectrum)


def spectrum_png(regions: dict[str, LineRegion | None], row: Row,
                 spectrum: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bytes:
    """Lyα (left) and Lyβ (right) regions with the catalogued Voigt model."""
    figure = new_figure(11.0, 4.0)
    axes = figure.subplots(1, 2)
    z = float(row["z_dla"])
    covered = 10.0 ** spectrum[0][[0, -1]]
    for ax, line in zip(axes, (LYA, LYB), strict=True):
        region = regions[line.name]
        centre = line_centre_aa(line, z)
        ax.set_title(f"{GREEK[line.name]} at {centre:.1f} Å (z = {z:.4f})")
        ax.set_xlabel("observed wavelength (Å)")
        if region is None:
            ax.text(0.5, 0.5, f"too few pixels with data here\n(the spectrum covers "
                    f"{covered[0]:.0f}–{covered[1]:.0f} Å)", ha="center", va="center",
                    transform=ax.transAxes)
            ax.set_yticks([])
            continue
        lam = region.wavelength_aa
        ax.step(lam, region.flux, where="mid", color="k", lw=0.7, label="flux")
        ax.step(lam, region.error, where="mid", color="0.6", lw=0.7, label="1σ error")
        left_out = ~region.fitted & np.isfinite(region.flux)
        ax.plot(lam[left_out], region.flux[left_out], ".", color="tab:orange", ms=3,
                label="left out of the continuum")
        ax.plot(lam, region.continuum, "--", color="tab:blue", lw=1, label="continuum")
        if region.model_low is not None and region.model_high is not None:
            ax.fill_between(lam, region.model_low, region.model_high, color="tab:red",
                            alpha=0.25, lw=0, label="log_nhi ± 1σ")
        ax.plot(lam, region.model, color="tab:red", lw=1.4, label="Voigt model")
        ax.axvline(centre, color="tab:red", lw=0.6, ls=":")
        top = np.nanpercentile(np.r_[region.flux, region.continuum], 99)
        ax.set_ylim(-0.25 * top, 1.3 * top)
        ax.set_xlim(lam[0], lam[-1])
    axes[0].set_ylabel(f"flux ({FLUX_UNIT})")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[0].legend(handles, labels, fontsize=7, loc="upper left", ncols=2)
    return png_bytes(figure)


def sightline_png(data: SightlineData, row: Row) -> bytes:
    """The searched spectrum and the confidences of the sightline's absorbers."""
    figure = new_figure(11.0, 4.6)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    z_qso = _float(row["z_qso"])
    searched = data.sightline
    z_lo = float(searched["z_min"]) if searched else min(float(a["z_dla"])
                                                          for a in data.absorbers)
    z_hi = float(searched["z_max"]) if searched else (z_qso or max(float(a["z_dla"])
                                                                   for a in data.absorbers))
    lo, hi = LYA.wavelength_aa * (1 + z_lo), LYA.wavelength_aa * (1 + z_hi)
    span = (lo - 0.04 * (hi - lo), hi + 0.12 * (hi - lo))
    for ax in (top, bottom):
        ax.axvspan(lo, hi, color="tab:green", alpha=0.08, lw=0)
    if data.spectrum is not None:
        loglam, flux, ivar = data.spectrum
        lam = 10.0**loglam
        show = (lam >= span[0]) & (lam <= span[1]) & (ivar > 0)
        top.plot(lam[show], flux[show], color="k", lw=0.5)
        if show.any():
            top.set_ylim(-0.1 * np.percentile(flux[show], 99),
                         1.25 * np.percentile(flux[show], 99))
        top.set_ylabel(f"flux\n({FLUX_UNIT})", fontsize=8)
    else:
        top.text(0.5, 0.5, "no stored spectrum", ha="center", va="center",
                 transform=top.transAxes)
        top.set_yticks([])
    for a in data.absorbers:
        this = a["absorber_id"] == row["absorber_id"]
        at = LYA.wavelength_aa * (1 + float(a["z_dla"]))
        colour = "tab:red" if this else "tab:blue"
        top.axvline(at, color=colour, lw=1.0 if this else 0.6, ls="--")
        bottom.vlines(at, 0, float(a["confidence"]), color=colour, lw=2)
        bottom.plot(at, float(a["confidence"]), "o", color=colour)
        bottom.annotate(f"{a['type']} {float(a['log_nhi']):.2f}", (at, float(a["confidence"])),
                        textcoords="offset points", xytext=(4, 4), fontsize=7)
    if z_qso is not None:
        for ax in (top, bottom):
            ax.axvline(LYA.wavelength_aa * (1 + z_qso), color="0.5", lw=0.6)
        top.annotate("quasar Lyα", (LYA.wavelength_aa * (1 + z_qso), 1), xytext=(3, -12),
                     xycoords=("data", "axes fraction"), textcoords="offset points",
                     fontsize=7, color="0.4")
    bottom.set_ylim(0, 1.15)
    bottom.set_ylabel("confidence", fontsize=8)
    bottom.set_xlabel("observed wavelength (Å); absorbers at their Lyα")
    bottom.set_xlim(*span)
    top.set_title(f"sightline {row['sightline_id']}: Lyα searched over z = "
                  f"{z_lo:.3f}–{z_hi:.3f} (shaded)")
    return png_bytes(figure)


def _float(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def _text(value: Any) -> str:
    return "unknown" if value is None else f"{float(value):.4g}"
