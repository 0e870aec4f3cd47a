"""The front door as a new user meets it: every command's documented example runs (or
stops with one clear line), wrong invocations give one line and a non-zero exit, piped
output is whole rows, and the quick looks need no catalogue."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from conftest import cli_commands

from galcat.cli.main import main

NOT_RUN = {("worker",): "runs until stopped (tested by test_jobs)",
           ("serve",): "serves until stopped (tested by test_service)",
           ("demo",): "minutes long (tested by test_demo)"}
SMALLER = {"--n 2000": "--n 40", "--n 1000": "--n 24", "--n-fit 100": "--n-fit 2",
           "mock spectra 200": "mock spectra 12"}
"""Documented sizes scaled down so the suite stays short; every option is still parsed."""


def _example(command: Any) -> list[str]:
    text = re.search(r"Example: (.*)", command.help or "")
    assert text, f"{command.name}: no example"
    line = re.sub(r"\s+\(then .*\)$", "", text.group(1).strip())
    for big, small in SMALLER.items():
        line = line.replace(big, small)
    words = shlex.split(line)
    words = [w for w in words if "=" not in w or w.startswith("-")]
    assert words[0] == "galcat", line
    return words[1:]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


class FakeHandle:
    """What submit returns, without a broker: a job that is done at once."""

    id = 1

    def wait(self, progress: bool = False) -> Any:
        return type("Status", (), {"state": "done", "message": "faked", "error": None})()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> list[Any]:
    """A fresh folder with an initialised SQLite catalogue; jobs are recorded, not run."""
    from galcat.catalog.db import forget_databases

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GALCAT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GALCAT_DATABASE_URL", raising=False)
    forget_databases()
    submitted: list[Any] = []
    monkeypatch.setattr("galcat.workers.queue.jobs.submit",
                        lambda spec, settings=None: submitted.append(spec) or FakeHandle())
    monkeypatch.setattr("galcat.workers.queue.local.run_locally",
                        lambda settings, spec, handlers: submitted.append(spec) or FakeHandle())
    assert run(["init"], capsys)[0] == 0
    yield submitted
    forget_databases()


@pytest.mark.slow
def test_every_documented_example_runs_or_stops_with_one_line(
        home: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = {}
    for path, command in cli_commands():
        if path in NOT_RUN:
            continue
        argv = _example(command)
        assert tuple(argv[:len(path)]) == path, (path, argv)
        code, out, err = run(argv, capsys)
        assert "Traceback" not in out + err, (argv, err)
        outcomes[" ".join(path)] = code if code == 0 else one_line_error(err)
    ran = [p for p, outcome in outcomes.items() if outcome == 0]
    assert {"status", "query cone", "query sql", "jobs list", "train dla", "train sersic",
            "infer dla", "mock spectra", "mock galaxies", "evaluate dla-bound",
            "evaluate sersic", "evaluate morphology", "models list",
            "models export"} <= set(ran), outcomes
    assert len(home) == sum(p.startswith(("train ", "infer ", "environment ")) for p in ran)
    assert "no job 12" in str(outcomes["jobs show"])
    assert "DR12Q.fits" in str(outcomes["evaluate dla"])
    assert "no such file or folder" in str(outcomes["scan sersic"])


WRONG = [
    (["train", "dla", "--epochs", "four"], "Invalid value for '--epochs'"),
    (["query", "cone", "10", "100", "1"], "outside [-90, 90]"),
    (["query", "cone"], "Missing argument"),
    (["query", "sql", "DELETE FROM galaxy"], "read-only"),
    (["jobs", "show", "77"], "no job 77"),
    (["nonsense"], "No such command"),
    (["scan", "dla", "nowhere/", "--out", "d.csv"], "nowhere/: no such file or folder"),
    (["scan", "sersic", "missing.fits", "--out", "s.csv"], "no such file or folder"),
    (["infer", "dla", "--model", "nosuch@4"], "nosuch"),
    (["release", "diff", "DR1", "DR9"], "no release 'DR1'"),
    (["query", "sql", "SELECT 1", "--format", "xml"], "--format must be one of"),
    (["train", "dla-calibration"], "Missing option '--from'"),
]


@pytest.mark.parametrize(("argv", "says"), WRONG, ids=[" ".join(a) for a, _ in WRONG])
def test_wrong_invocations_get_one_line_and_a_nonzero_exit(
        argv: list[str], says: str, home: list[Any],
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(argv, capsys)
    assert code != 0
    assert says in one_line_error(err)


def test_without_init_reads_refuse_and_quick_looks_create_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from galcat.catalog.db import forget_databases

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GALCAT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GALCAT_DATABASE_URL", raising=False)
    forget_databases()
    code, out, _err = run(["status"], capsys)
    assert code == 0 and "not initialised (run galcat init" in out
    for argv in (["query", "sql", "SELECT 1"], ["jobs", "list"], ["models", "list"],
                 ["release", "list"]):
        code, _out, err = run(argv, capsys)
        assert code != 0 and "run `galcat init` first" in one_line_error(err), argv
    assert run(["mock", "galaxies", "3", "--out", "mocks", "--seed", "1"], capsys)[0] == 0
    code, _out, err = run(["scan", "sersic", "mocks", "--out", "t.csv", "--model", "sersic@2"],
                          capsys)
    assert code == 1 and "no galcat catalogue" in one_line_error(err)
    code, _out, err = run(["scan", "sersic", "mocks", "--out", "t.csv"], capsys)
    assert code == 0, err
    assert (tmp_path / "t.csv").is_file() and not (tmp_path / "home").exists()


def test_piped_tables_are_whole_rows(galcat_env: dict[str, str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert run(["init"], capsys)[0] == 0
    wide = "SELECT 123456789 AS id, 'a long text that a terminal would wrap' AS note, 0.125 AS x"
    code, out, _ = run(["query", "sql", wide], capsys)
    assert code == 0
    assert out.splitlines() == ["id,note,x",
                                "123456789,a long text that a terminal would wrap,0.125"]
    code, out, _ = run(["query", "sql", wide, "--format", "tsv"], capsys)
    assert out.splitlines()[1].split("\t")[0] == "123456789"
    code, out, _ = run(["query", "sql", wide, "--format", "json"], capsys)
    assert json.loads(out) == [{"id": 123456789, "note": "a long text that a terminal would "
                                "wrap", "x": 0.125}]
    code, out, _ = run(["models", "list"], capsys)
    assert out.splitlines()[0].startswith("model,task,weights_sha256")
    assert any(line.startswith("dla@1,dla,") for line in out.splitlines())
