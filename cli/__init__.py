"""``galcat``, the command line: one module per command group on top of one typer app.
Commands parse, call one function below them and format what comes back."""

from galcat.cli.main import app, main

__all__ = ["app", "main"]
