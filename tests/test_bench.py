"""Every bench answers ``--help`` with an example (the benches themselves are run by
hand: they measure, and timings do not belong in tests)."""

from __future__ import annotations

import importlib

import pytest

from bench.__main__ import BENCHES, main


def test_the_dispatcher_lists_every_bench(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in BENCHES)


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_each_bench_has_help_with_an_example(name: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(BENCHES[name])
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    assert "xample" in capsys.readouterr().out
