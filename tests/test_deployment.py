"""docker-compose.yml describes a real deployment whose commands galcat really has."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from galcat.cli import app

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def test_compose_services_run_real_galcat_commands() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert {"postgres", "redis", "service"} <= services.keys()
    assert "pgsphere" in services["postgres"]["build"]["dockerfile_inline"]
    for name in ("postgres", "redis"):
        assert "healthcheck" in services[name]
    galcat_services = {n: s for n, s in services.items()
                       if "build" in s and "dockerfile_inline" not in s["build"]}
    assert galcat_services
    runner = CliRunner()
    for name, service in galcat_services.items():
        env = service["environment"]
        assert {"GALCAT_DATABASE_URL", "GALCAT_BROKER_URL"} <= env.keys(), name
        command = [a for a in service["command"] if not a.startswith("-")]
        words = [w for w in command if "=" not in w][:2]
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, f"{name}: galcat {' '.join(words)} is not a command"
        assert "Usage" in result.output
