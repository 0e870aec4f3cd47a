"""DLA refinement bench: what the Voigt refinement costs, end to end.

M mock BOSS spec files are written once; then, in each of ``--runs`` rounds, the same
files go three ways and are timed (median over rounds, interleaved so that the
machine's load falls on all three alike):

1. the dense network alone on the already prepared sightlines (``predict_dense``);
2. ``galcat scan dla``'s path, files in, absorber table written (``scan_dla``);
3. the same with ``refine`` (``--refine``).

Sightlines/s of each, and the ratios 2/1 and 3/2: the issue's budget is that the
refinement may cost at most half the end-to-end rate (3/2 ≥ 0.5).

Then what it buys: ``--eval-sightlines`` held-out mocks (seed ``--eval-seed``, S/N ≥ 5,
z_qso 2.2–5) scored with and without the refinement (``evaluate_on_mocks``):
σ(Δlog N_HI), completeness as DLA, false DLAs per 100 sightlines and the pull σ of
log N_HI, the network alone being the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import Report, load_average, machine_note, p50, positive_int, timed

DESCRIPTION = "DLA Voigt refinement: sightlines/s with and without it, against the network"
EPILOG = """\
Example: python -m bench dla-refine --quick

examples:
  python -m bench dla-refine                  # 300 mock sightlines, 3 rounds
  python -m bench dla-refine --sightlines 1000 --runs 5
"""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench dla-refine", description=DESCRIPTION,
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sightlines", type=positive_int, default=300, metavar="M",
                        help="mock spec files (default %(default)s)")
    parser.add_argument("--runs", type=positive_int, default=3, help="rounds (default 3)")
    parser.add_argument("--seed", type=int, default=20_240_601, help="mock seed")
    parser.add_argument("--eval-sightlines", type=positive_int, default=2000, metavar="E",
                        help="held-out mocks scored with and without it (default %(default)s)")
    parser.add_argument("--eval-seed", type=int, default=4243, help="their seed (default 4243)")
    parser.add_argument("--quick", action="store_true",
                        help="40 sightlines, 1 round, 100 held-out mocks")
    args = parser.parse_args(list(argv))
    if args.quick:
        args.sightlines, args.runs, args.eval_sightlines = 40, 1, 100
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    notes = [machine_note(), f"at the start: {load_average()}"]
    from galcat.catalog.formats.spectra import read_spectrum
    from galcat.catalog.settings import load_settings
    from galcat.models.dla.dense import predict_dense
    from galcat.models.dla.preprocess import prepare_sightlines
    from galcat.workers.dla.mock_files import write_mock_spectra
    from galcat.workers.dla.scan import default_refinement, open_dla, scan_dla

    model, network, _ = open_dla(load_settings())
    times: dict[str, list[float]] = {"network": [], "scan": [], "refined": []}
    found: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="galcat-bench-refine-") as folder:
        spectra = Path(folder) / "spectra"
        write_mock_spectra(args.sightlines, spectra, args.seed, show_progress=False)
        files = sorted(spectra.glob("spec-*.fits"))
        records = [read_spectrum(path) for path in files]
        prepared = prepare_sightlines([(r.loglam, r.flux, r.ivar, r.z_qso) for r in records],
                                      window_pixels=network.window_pixels)
        predict_dense(model, network, prepared)
        for round_ in range(args.runs):
            print(f"[round {round_ + 1}/{args.runs}] {len(files)} sightlines ...", flush=True)
            times["network"].append(timed(lambda: predict_dense(model, network, prepared))[0])
            for name, refine in (("scan", None), ("refined", default_refinement())):
                out = Path(folder) / f"{name}.csv"
                seconds, result = timed(partial(scan_dla, files, out, model, network,
                                                refine=refine))
                times[name].append(seconds)
                found[name] = result.n_absorbers
    n = len(files)
    rate = {name: n / p50(samples) for name, samples in times.items()}
    notes.append(f"{n} mock sightlines (seed {args.seed}), median of {args.runs} rounds; "
                 f"{found['scan']} absorbers found, {found['refined']} after refinement; "
                 f"at the end: {load_average()}")
    report = Report("DLA refinement: sightlines/s", notes)
    report.add("dense network alone (prepared sightlines)", "-", f"{rate['network']:.1f}/s")
    report.add("scan dla: files → absorber table", "-", f"{rate['scan']:.1f}/s",
               f"network {rate['network']:.1f}/s", rate["scan"] / rate["network"])
    report.add("scan dla --refine", "-", f"{rate['refined']:.1f}/s",
               f"scan dla {rate['scan']:.1f}/s", rate["refined"] / rate["scan"])
    print(f"[precision] {args.eval_sightlines} held-out mocks with and without ...", flush=True)
    scores = {name: _precision(model, network, args.eval_sightlines, args.eval_seed, refine)
              for name, refine in (("network", None), ("refined", default_refinement()))}
    for measure, key, better in (("σ(Δlog N_HI), true DLAs found as DLAs", "sigma", "low"),
                                 ("completeness as DLA", "completeness", "high"),
                                 ("false DLAs per 100 sightlines", "false", "low"),
                                 ("pull σ of log N_HI (1 is right)", "pull", "")):
        value, base = scores["refined"][key], scores["network"][key]
        ratio = None
        if better and value > 0 and base > 0:
            ratio = base / value if better == "low" else value / base
        report.add(f"with refinement: {measure}", "-", f"{value:.3f}",
                   f"network alone {base:.3f}", ratio)
    print()
    print(report.markdown())
    return 0


def _precision(model: Any, network: Any, n: int, seed: int,
               refine: Any | None) -> dict[str, float]:
    """σ(Δlog N_HI), completeness as DLA, false DLAs per 100 sightlines and pull σ on ``n``
    held-out mocks (S/N ≥ 5)."""
    from galcat.models.dla.recipe import evaluate_on_mocks
    from galcat.models.dla.uncertainty import uncertainty_report

    run = evaluate_on_mocks(model, network, n, seed, snr_min=5.0, refine=refine)
    summary = run.score.summary()
    pulls = uncertainty_report(run.truth, run.absorbers, run.prepared.snr)
    return {"sigma": summary["sigma_dlog_nhi"], "completeness": summary["completeness_dla"],
            "false": summary["false_dla_per_100_sightlines"],
            "pull": pulls["log_nhi_pull"]["sigma"]}
