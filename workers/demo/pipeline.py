"""``galcat demo``: the main job end to end on whatever database and broker are set.

Mock survey in (quasar sightlines with DLAs, galaxy cutouts, the real BOSS spectra
when present), a real worker process, inference jobs with the shipped models,
DR-demo releases, plots, and a summary. Running it again is safe and fast: files
are reused, ingest skips what it has (sha256), jobs skip objects already done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from galcat.catalog.db import Database, get_database
from galcat.catalog.settings import Settings

DEMO_SEED = 2026


@dataclass(frozen=True)
class DemoSize:
    sightlines: int
    galaxies: int


SIZES = {"small": DemoSize(200, 2000), "medium": DemoSize(1000, 10_000)}


@dataclass
class DemoReport:
    """What the demo did, for its closing summary."""

    ingested: dict[str, int] = field(default_factory=dict)
    jobs: list[tuple[int, str, str, float]] = field(default_factory=list)
    releases: list[tuple[str, Path, str]] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def run_demo(settings: Settings, size: str = "small", console: Console | None = None
             ) -> DemoReport:
    """Run the whole demo under ``settings.home``."""
    console = console or Console()
    start = time.monotonic()
    sizes = SIZES[size]
    report = DemoReport()
    db = get_database(settings)
    _init(settings, db, console)
    demo_dir = settings.home / "demo"
    spectra_dir = demo_dir / f"spectra-{size}"
    galaxies_dir = demo_dir / f"galaxies-{size}"
    _ingest_spectra(db, spectra_dir, sizes.sightlines, report, console, settings.boss_dir)
    galaxy_models = _galaxy_models_shipped()
    if galaxy_models:
        _ingest_galaxies(db, galaxies_dir, sizes.galaxies, report, console)
    from galcat.workers.demo.worker_process import WorkerProcess

    with WorkerProcess(settings, settings.home / "logs" / "demo-worker.log"):
        _infer(settings, "dla", "dla", report, console)
        for task in galaxy_models:
            _infer(settings, task, task, report, console)
    releases = settings.home / "releases"
    _release(db, "dla", "DR-demo-dla", releases / "DR-demo-dla", report, console)
    if {"sersic", "morphology"} <= set(galaxy_models):
        _release(db, "morphology", "DR-demo-morphology", releases / "DR-demo-morphology",
                 report, console)
    _plots(db, spectra_dir, galaxies_dir if galaxy_models else None, demo_dir / "plots",
           report, console)
    report.seconds = time.monotonic() - start
    return report


def _galaxy_models_shipped() -> list[str]:
    from galcat.models.shipped import shipped_models

    names = {m.name for m in shipped_models()}
    return [name for name in ("sersic", "morphology") if name in names]


def _ingest_galaxies(db: Database, folder: Path, n: int, report: DemoReport,
                     console: Console) -> None:
    from galcat.catalog.ingest.images import ingest_images
    from galcat.workers.galaxy.scan import write_mock_galaxies

    truth = folder / "truth.ecsv"
    if not truth.exists():
        console.print(f"[bold]2.[/] rendering {n} mock galaxy cutouts to {folder}")
        write_mock_galaxies(n, folder, DEMO_SEED)
    summary = ingest_images(db, [folder], survey="demo-galaxies", catalogue=truth)
    report.ingested["galaxy images"] = summary.rows_loaded
    report.ingested["images already in the catalogue"] = sum(f.rows_merged for f in summary.files)
    console.print(f"ingested galaxy images: {summary.describe()}")


def _release(db: Database, catalogue: str, tag: str, out: Path, report: DemoReport,
             console: Console) -> None:
    from galcat.catalog.release.build import ReleaseExists, load_release, make_release

    try:
        record = make_release(db, catalogue, tag, out)
        console.print(f"released {tag}: {record.row_count} rows in {out}")
    except ReleaseExists:
        record = load_release(db, tag)
        console.print(f"release {tag} exists already (frozen): {out}")
    for f in record.files:
        report.releases.append((tag, out / f.filename, f.sha256))


def _init(settings: Settings, db: Database, console: Console) -> None:
    from galcat.catalog import migrate
    from galcat.workers.registry import register_shipped

    migrate.upgrade(db)
    with db.session() as session:
        for version in register_shipped(session, settings.artifacts_dir):
            console.print(f"registered shipped model {version.name}@{version.version}")


def _ingest_spectra(db: Database, folder: Path, n: int, report: DemoReport,
                    console: Console, boss_dir: Path | None) -> None:
    from galcat.catalog.ingest.spectra import ingest_spectra
    from galcat.workers.dla.mock_files import write_mock_spectra

    if not (folder / "truth.ecsv").exists():
        console.print(f"[bold]1.[/] writing {n} mock quasar sightlines with DLAs to {folder}")
        write_mock_spectra(n, folder, DEMO_SEED)
    sources: list[str | Path] = [folder]
    if boss_dir is not None and boss_dir.is_dir():
        sources.append(boss_dir)
    else:
        where = boss_dir or "GALCAT_BOSS_DIR / GALCAT_DATA_DIR (not set)"
        console.print(f"no real BOSS spectra at {where}: the DLA release holds mocks only")
    summary = ingest_spectra(db, sources)
    report.ingested["spectra"] = summary.rows_loaded
    report.ingested["spectra already in the catalogue"] = sum(f.rows_merged for f in summary.files)
    console.print(f"ingested spectra: {summary.describe()}")


def _infer(settings: Settings, task: str, model: str, report: DemoReport,
           console: Console) -> None:
    from galcat.workers.queue.jobs import submit
    from galcat.workers.queue.specs import InferDla, InferMorphology, InferSersic

    spec = {"dla": InferDla, "sersic": InferSersic, "morphology": InferMorphology}[task]
    started = time.monotonic()
    handle = submit(spec(model=model, skip_done=True, shard_size=500), settings)
    state = handle.wait(progress=True)
    report.jobs.append((handle.id, f"infer {task}", state.state, time.monotonic() - started))
    if state.state != "done":
        raise RuntimeError(f"job {handle.id} (infer {task}) {state.state}: {state.error}")


def _plots(db: Database, spectra_dir: Path, galaxies_dir: Path | None, out: Path,
           report: DemoReport, console: Console) -> None:
    from galcat.workers.demo.plots import dla_completeness_plot, sersic_vs_truth_plot, spectrum_plot

    out.mkdir(parents=True, exist_ok=True)
    report.plots.append(spectrum_plot(db, spectra_dir, out / "spectrum_with_dlas.png"))
    report.plots.append(dla_completeness_plot(db, spectra_dir, out / "dla_completeness.png"))
    if galaxies_dir is not None:
        report.plots.append(sersic_vs_truth_plot(db, galaxies_dir, out / "sersic_vs_truth.png"))


def print_summary(report: DemoReport, console: Console, settings: Settings) -> None:
    """The closing summary: rows, jobs, releases, plots, and what to try next."""
    console.rule("galcat demo: summary")
    for what, n in report.ingested.items():
        console.print(f"  {what:<36}{n:>8}")
    for job_id, what, state, seconds in report.jobs:
        console.print(f"  job {job_id:<5}{what:<26}{state:<10}{seconds:6.1f} s")
    for tag, path, sha in report.releases:
        console.print(f"  {tag}: {path}  sha256 {sha[:16]}…", markup=False)
    for path in report.plots:
        console.print(f"  plot  {path}")
    console.print(f"  total {report.seconds:.1f} s; catalogue at {settings.database_url}")
    console.print("Try next:")
    console.print('  galcat query sql "SELECT s.plate, s.fiber, a.z_dla, a.log_nhi '
                  'FROM dla_absorber a JOIN sightline s ON s.id = a.sightline_id '
                  'WHERE a.type = \'DLA\' ORDER BY a.log_nhi DESC LIMIT 10"', markup=False)
    console.print("  galcat query cone 150.0 2.0 0.5 --table sightline", markup=False)
    console.print("  galcat serve --port 8000", markup=False)


