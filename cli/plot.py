"""``galcat plot …``: figures of what is in the catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from galcat.cli.output import console, fail
from galcat.cli.shared import ready_database

plot_app = typer.Typer(help="Draw figures (PNG) of what is in the catalog.", no_args_is_help=True)


@plot_app.command("simulation")
def plot_simulation(
    name: Annotated[str, typer.Argument(help="The simulated galaxy (simulation.name).")],
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    morphology_model: Annotated[str | None, typer.Option(
        help="Morphology model version (NAME@N); default: the newest run on its cameras.")] = None,
    phase_model: Annotated[str | None, typer.Option(
        help="Phase model version (NAME@N); default: the newest run on its cameras.")] = None,
) -> None:
    """Bulge / disk / bulge+disk (and phase) probabilities against redshift, a thin line per
    camera and heavy medians, above the masses and rates within 1 and 10 kpc.

    Example: galcat plot simulation MOCK-7 --out MOCK-7.png
    """
    from galcat.catalog.registry import RegistryError
    from galcat.workers.simulation.figure import FigureError, plot_history, read_history

    try:
        history = read_history(ready_database(), name, morphology_model, phase_model)
        written = plot_history(history, out)
    except (FigureError, RegistryError, OSError) as exc:
        fail(exc)
    console.print(f"wrote {written}", markup=False)
