"""Environment bench: SORT and the neighbour redshift network on mock light-cones.

The network trains on one light-cone (seed 1) and is validated on another; SORT needs
no training. Both then run on T test light-cones of other seeds (the same geometry:
4°×4°, 0.4 < z < 0.8, σ_z = 0.03(1+z), 2 % outliers, 10 % spec-z). For every redshift
set — true z, photo-z (z_spec where there is one), the references alone, SORT's draw and
median, the network's draw and median — the bench measures ξ(s) (Landy–Szalay, TreeCorr,
2 randoms per galaxy with the set's own n(z)) and its ratio to the true one per bin,
averaged over the test cones with their spread; the rank correlation of each galaxy's
density (galaxies in a cylinder of 1 h⁻¹ Mpc, ±1000 km/s) with the one from true z; and
σ_NMAD of (z − z_true)/(1 + z_true) over galaxies without z_spec.

Speed: SORT's galaxies/s at N = 10⁵, 3·10⁵, 10⁶ against one ``argsort`` of the same
photo-z (the rank order SORT cannot avoid), in the same run; the network's galaxies/s
(features, posterior, median, draw); and end to end, rows to rows, in a scratch SQLite
catalogue: ``environment sort`` and ``infer environment`` (``--local``, one process)
against the same methods on the same galaxies in memory.

Runs on the CPU; nothing asserts on a timing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Report, load_average, machine_note, positive_int, repeat_p50

DESCRIPTION = "galaxy environments: SORT vs the learned redshift network, ξ(s)/ξ_true, galaxies/s"
DEFAULT = {"n": 100_000, "cones": 3, "epochs": 20, "scaling": "100000,300000,1000000",
           "e2e": 100_000}
QUICK = {"n": 20_000, "cones": 1, "epochs": 2, "scaling": "20000,60000", "e2e": 10_000}
TRAIN_SEED = 1
VALIDATION_SEED = 2
TEST_SEEDS = (1001, 1002, 1003, 1004, 1005)
XI_RANDOM_FACTOR = 2
XI_BIN_SLOP = 0.1
RANGES = ((2.0, 20.0), (4.0, 20.0))
EPILOG = """\
Example: python -m bench environment --quick

examples:
  python -m bench environment            # 100k galaxies, 3 test cones, 20 epochs (~30 min)
  python -m bench environment --quick    # 20k galaxies, 1 test cone, 2 epochs
  python -m bench environment --plot docs/environment_xi_ratio.png

ξ(s) ratios are summarised over 2 < s ≤ 20 and 4 < s ≤ 20 h⁻¹ Mpc: beyond 20 h⁻¹ Mpc
the true ξ(s) of a 4° field is within its noise of zero and a ratio means nothing.
"""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench environment", description=DESCRIPTION + ".", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=positive_int, default=None,
                        help=f"galaxies per light-cone (default {DEFAULT['n']})")
    parser.add_argument("--cones", type=positive_int, default=None,
                        help=f"test light-cones (default {DEFAULT['cones']}, at most "
                             f"{len(TEST_SEEDS)})")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"training epochs (default {DEFAULT['epochs']})")
    parser.add_argument("--scaling", default=None,
                        help=f"comma-separated N for SORT's timing (default {DEFAULT['scaling']})")
    parser.add_argument("--e2e", type=int, default=None,
                        help=f"galaxies end to end, 0 skips it (default {DEFAULT['e2e']})")
    parser.add_argument("--cell-arcmin", type=float, default=8.0, help="SORT sub-volume side")
    parser.add_argument("--overlap", type=float, default=0.5, help="SORT grid overlap")
    parser.add_argument("--kernel-dz", type=float, default=0.001, help="SORT dN/dz smoothing")
    parser.add_argument("--plot", type=Path, default=None, help="write the ξ ratio PNG here")
    parser.add_argument("--quick", action="store_true", help="a small run that checks the bench")
    args = parser.parse_args(list(argv))
    base = QUICK if args.quick else DEFAULT
    for key in ("n", "cones", "epochs", "scaling", "e2e"):
        if getattr(args, key) is None:
            setattr(args, key, base[key])
    args.cones = min(args.cones, len(TEST_SEEDS))
    return args


@dataclass
class SetScore:
    """One redshift set on one cone: ξ ratio per bin, density ρ, σ_NMAD."""

    ratio: np.ndarray
    rho: float
    nmad: float


def _cone(seed: int, n: int) -> Any:
    from galcat.models.environment.lightcone import LightconeSpec, make_lightcone

    return make_lightcone(LightconeSpec(n_galaxies=n, seed=seed))


def _nmad(z: np.ndarray, truth: np.ndarray, keep: np.ndarray) -> float:
    keep = keep & np.isfinite(z)
    d = (z[keep] - truth[keep]) / (1 + truth[keep])
    return float(1.4826 * np.median(np.abs(d - np.median(d))))


def _features(cone: Any) -> Any:
    from galcat.models.environment.neighbours import neighbour_features

    return neighbour_features(cone.ra_deg, cone.dec_deg, cone.z_phot, cone.z_phot_err,
                              cone.z_spec)


def train_network(n: int, epochs: int) -> tuple[Any, float, dict[str, float]]:
    from galcat.models.environment.network import fit_redshift_network

    train, validation = _cone(TRAIN_SEED, n), _cone(VALIDATION_SEED, n)
    start = time.perf_counter()
    model, fit = fit_redshift_network(_features(train), train.z_true, epochs=epochs,
                                      seed=TRAIN_SEED,
                                      validation=(_features(validation), validation.z_true))
    return model, time.perf_counter() - start, fit


def score_cone(cone: Any, model: Any, sort_params: Any, seed: int
               ) -> tuple[dict[str, SetScore], Any, dict[str, float]]:
    """Scores of every redshift set on one cone, the true ξ(s), and the methods' timings."""
    from galcat.models.environment.clustering import xi_ratio, xi_s
    from galcat.models.environment.measures import cylinder_counts, spearman
    from galcat.models.environment.network import predict_redshift_posterior
    from galcat.models.environment.sort import sort_redshifts

    timings: dict[str, float] = {}
    start = time.perf_counter()
    sorted_z = sort_redshifts(cone.ra_deg, cone.dec_deg, cone.z_phot, cone.z_spec, sort_params)
    timings["sort_s"] = time.perf_counter() - start
    start = time.perf_counter()
    posterior = predict_redshift_posterior(model, _features(cone))
    median = posterior.median()
    draw = posterior.sample(np.random.default_rng(seed))
    timings["learned_s"] = time.perf_counter() - start
    ref = np.isfinite(cone.z_spec)
    def best(z: np.ndarray) -> np.ndarray:
        """z_spec, else ``z``, else z_phot: what a catalogue user gets."""
        return np.where(ref, cone.z_spec, np.where(np.isfinite(z), z, cone.z_phot))

    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "true z": (cone.z_true, np.ones(len(ref), bool)),
        "photo-z": (best(cone.z_phot), np.ones(len(ref), bool)),
        "references alone": (cone.z_true, ref),
        "SORT draw": (best(sorted_z.z_draw), np.ones(len(ref), bool)),
        "SORT median": (best(sorted_z.z), np.ones(len(ref), bool)),
        "learned draw": (best(draw), np.ones(len(ref), bool)),
        "learned median": (best(median), np.ones(len(ref), bool)),
    }
    ra_range = (float(cone.ra_deg.min()), float(cone.ra_deg.max()))
    dec_range = (float(cone.dec_deg.min()), float(cone.dec_deg.max()))
    true_density = cylinder_counts(cone.ra_deg, cone.dec_deg, cone.z_true)
    true_xi = None
    scores: dict[str, SetScore] = {}
    for name, (z, keep) in sets.items():
        xi = xi_s(cone.ra_deg[keep], cone.dec_deg[keep], z[keep], ra_range_deg=ra_range,
                  dec_range_deg=dec_range, seed=seed,
                  random_factor=XI_RANDOM_FACTOR, bin_slop=XI_BIN_SLOP)
        true_xi = xi if true_xi is None else true_xi
        rho = float("nan")
        if keep.all():
            rho = spearman(cylinder_counts(cone.ra_deg, cone.dec_deg, z), true_density)
        scores[name] = SetScore(xi_ratio(xi, true_xi), rho, _nmad(z, cone.z_true, ~ref))
        print(f"    {name}: ρ {rho:.3f}, σ_NMAD {scores[name].nmad:.4f}", flush=True)
    return scores, true_xi, timings


def sort_scaling(sizes: Sequence[int], sort_params: Any, report: Report) -> None:
    from galcat.models.environment.sort import sort_redshifts

    for n in sizes:
        cone = _cone(77, n)
        runs = 3 if n <= 300_000 else 1
        def run_sort(c: Any = cone) -> object:
            return sort_redshifts(c.ra_deg, c.dec_deg, c.z_phot, c.z_spec, sort_params)

        def run_argsort(c: Any = cone) -> object:
            return np.argsort(c.z_phot)

        sort_s = repeat_p50(run_sort, runs, warmup=0)
        argsort_s = repeat_p50(run_argsort, 3)
        report.add(f"SORT, {len(cone)} galaxies", "numpy", f"{len(cone) / sort_s:,.0f} gal/s "
                   f"({sort_s:.2f} s)", f"argsort of z_phot {len(cone) / argsort_s:,.0f} gal/s",
                   (len(cone) / sort_s) / (len(cone) / argsort_s))
        print(f"  SORT on {len(cone)}: {sort_s:.2f} s", flush=True)


def end_to_end(n: int, model: Any, sort_params: Any, report: Report) -> None:
    """``environment sort`` and ``infer environment`` from galaxy rows to written rows in a
    scratch SQLite catalogue, against the same methods on the same galaxies in memory."""
    from galcat.catalog import migrate
    from galcat.catalog.db import forget_databases, get_database
    from galcat.catalog.ingest.tables import ingest_catalog
    from galcat.catalog.registry import register
    from galcat.catalog.settings import load_settings
    from galcat.models.environment.neighbours import neighbour_features
    from galcat.models.environment.network import predict_redshift_posterior
    from galcat.models.environment.sort import sort_redshifts
    from galcat.workers.environment.galaxies import load_galaxies
    from galcat.workers.environment.mock_files import write_mock_lightcone
    from galcat.workers.handlers import HANDLERS
    from galcat.workers.model_io import save_model
    from galcat.workers.queue.local import run_locally
    from galcat.workers.queue.specs import InferEnvironment, SortRedshifts

    with tempfile.TemporaryDirectory(prefix="galcat-env-e2e-") as scratch:
        home = Path(scratch)
        settings = load_settings({"GALCAT_HOME": str(home)})
        db = get_database(settings)
        migrate.upgrade(db)
        catalogue, _truth = write_mock_lightcone(home / "cone", 88, n)
        if not ingest_catalog(db, [catalogue], "galaxy", "cone").ok:
            raise RuntimeError("the mock light-cone did not ingest")
        with db.session() as session:
            register(session, settings.artifacts_dir, "environment-z", "redshift",
                     save_model(model, home), {"k_reference": 16, "m_photometric": 16,
                                               "max_arcmin": 10.0}, None, {})
        galaxies = load_galaxies(db)
        runs: list[tuple[str, Any, Callable[[], Any]]] = [
            ("environment sort", SortRedshifts(cell_arcmin=sort_params.cell_arcmin,
                                               overlap=sort_params.overlap,
                                               kernel_dz=sort_params.kernel_dz),
             lambda: sort_redshifts(galaxies.ra_deg, galaxies.dec_deg, galaxies.z_phot,
                                    galaxies.z_spec, sort_params, ids=galaxies.ids)),
            ("infer environment", InferEnvironment(),
             lambda: _learned_alone(model, galaxies, neighbour_features,
                                    predict_redshift_posterior)),
        ]
        for name, spec, alone in runs:
            start = time.perf_counter()
            status = run_locally(settings, spec, HANDLERS).status()
            rows_s = time.perf_counter() - start
            if status.state != "done":
                raise RuntimeError(f"{name} ended {status.state}: {status.error}")
            start = time.perf_counter()
            alone()
            alone_s = time.perf_counter() - start
            report.add(f"{name}, rows to rows, {len(galaxies)} galaxies", "SQLite",
                       f"{len(galaxies) / rows_s:,.0f} gal/s",
                       f"method alone {len(galaxies) / alone_s:,.0f} gal/s", alone_s / rows_s)
            print(f"  {name}: {rows_s:.1f} s rows to rows, {alone_s:.1f} s alone", flush=True)
        forget_databases()


def _learned_alone(model: Any, galaxies: Any, features: Any, posterior_of: Any) -> None:
    posterior = posterior_of(model, features(galaxies.ra_deg, galaxies.dec_deg, galaxies.z_phot,
                                             galaxies.z_phot_err, galaxies.z_spec))
    posterior.median()
    posterior.sigma()
    posterior.sample(np.random.default_rng(0))


def _summary(ratios: np.ndarray, s: np.ndarray, low: float, high: float) -> str:
    inside = (s > low) & (s <= high)
    mean = ratios[:, inside].mean(axis=0)
    return f"{mean.mean():.3f} (max |r−1| {np.abs(mean - 1).max():.3f})"


def main(argv: Sequence[str]) -> int:
    from galcat.models.environment.sort import SortParameters

    args = parse_args(argv)
    sort_params = SortParameters(args.cell_arcmin, args.overlap, kernel_dz=args.kernel_dz)
    started = time.perf_counter()
    print(f"environment bench, {dt.datetime.now():%Y-%m-%d %H:%M}: {args.n} galaxies per cone, "
          f"{args.cones} test cones, {args.epochs} epochs; load {load_average()}", flush=True)
    model, train_s, fit = train_network(args.n, args.epochs)
    print(f"  trained in {train_s:.0f} s: {fit}", flush=True)
    per_set: dict[str, list[SetScore]] = {}
    timings: list[dict[str, float]] = []
    s = None
    for seed in TEST_SEEDS[:args.cones]:
        print(f"  test cone seed {seed}", flush=True)
        scores, true_xi, timing = score_cone(_cone(seed, args.n), model, sort_params, seed)
        s = true_xi.s_mpc_h
        timings.append(timing)
        for name, score in scores.items():
            per_set.setdefault(name, []).append(score)
    assert s is not None
    report = Report("Galaxy environments on mock light-cones", notes=[
        machine_note(), f"load average at the end {load_average()}",
        f"{args.n} galaxies per cone; SORT {sort_params}; network trained {args.epochs} epochs "
        f"in {train_s:.0f} s ({fit})"])
    print("\nξ(s)/ξ_true(s), mean over test cones (± spread):")
    print("s [h⁻¹ Mpc] | " + " | ".join(per_set))
    for b, centre in enumerate(s):
        cells = []
        for cone_scores in per_set.values():
            r = np.array([score.ratio[b] for score in cone_scores])
            cells.append(f"{r.mean():.2f} ± {r.std():.2f}" if len(r) > 1 else f"{r[0]:.2f}")
        print(f"{centre:.1f} | " + " | ".join(cells))
    for name, cone_scores in per_set.items():
        ratios = np.array([score.ratio for score in cone_scores])
        rho = np.array([score.rho for score in cone_scores])
        nmad = np.array([score.nmad for score in cone_scores])
        parts = [f"ξ ratio {low:g}<s≤{high:g}: {_summary(ratios, s, low, high)}"
                 for low, high in RANGES]
        if np.isfinite(rho).all():
            parts.append(f"density ρ {rho.mean():.3f}")
        parts.append(f"σ_NMAD {nmad.mean():.4f}")
        report.add(name, "", "; ".join(parts))
    per_cone = np.array([[t["sort_s"], t["learned_s"]] for t in timings]).mean(axis=0)
    report.add("SORT on one cone", "numpy", f"{args.n / per_cone[0]:,.0f} gal/s")
    report.add("network on one cone (features, posterior, median, draw)", "Keras",
               f"{args.n / per_cone[1]:,.0f} gal/s")
    sort_scaling([int(v) for v in args.scaling.split(",") if v], sort_params, report)
    if args.e2e:
        end_to_end(args.e2e, model, sort_params, report)
    if args.plot is not None:
        _plot(per_set, s, args.plot)
        report.notes.append(f"figure: {args.plot}")
    report.notes.append(f"bench took {time.perf_counter() - started:.0f} s")
    print()
    print(report.markdown())
    return 0


def _plot(per_set: dict[str, list[SetScore]], s: np.ndarray, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.axhspan(0.9, 1.1, color="0.88", label="±10 %")
    ax.axhline(1.0, color="black", lw=0.8)
    for name, scores in per_set.items():
        if name == "true z":
            continue
        ratios = np.array([score.ratio for score in scores])
        mean, spread = ratios.mean(axis=0), ratios.std(axis=0)
        line, = ax.plot(s, mean, marker="o", ms=3, label=name)
        ax.fill_between(s, mean - spread, mean + spread, color=line.get_color(), alpha=0.15)
    ax.set(xscale="log", xlabel="s  [h⁻¹ Mpc]", ylabel="ξ(s) / ξ_true(s)", ylim=(0, 1.6),
           xlim=(1, 20), title=f"mock light-cones ({len(next(iter(per_set.values())))} test "
           "volumes): ξ(s) recovered from each redshift set")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
