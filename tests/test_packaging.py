"""The wheel a user installs: one import name, and the front door works with no
repository around."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_folders() -> set[str]:
    """Every folder with an ``__init__.py`` under the mapped rooms, as its import name."""
    found = set()
    for name, folder in SETUPTOOLS["package-dir"].items():
        root = REPO_ROOT / folder
        for init in root.rglob("__init__.py"):
            parts = init.parent.relative_to(root).parts
            found.add(".".join((name, *parts)))
    return found


def test_every_package_folder_is_installed_and_nothing_else() -> None:
    assert set(SETUPTOOLS["packages"]) == _package_folders()
    assert all(p == "galcat" or p.startswith("galcat.") for p in SETUPTOOLS["packages"])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """galcat's wheel, built from a copy of the files git does not ignore, installed in a
    new venv whose dependencies come from this environment (added as a plain path, so this
    checkout's editable install is not seen)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=REPO_ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (REPO_ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    wheels = tmp / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(wheels), str(source)], check=True, timeout=600)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    before = set(os.listdir(site))
    (site / "deps.pth").write_text(str(Path(next(p for p in sys.path
                                                 if p.endswith("site-packages")))) + "\n")
    wheel = next(wheels.glob("galcat-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "--quiet", "--no-deps", str(wheel)], check=True, timeout=300)
    added = set(os.listdir(site)) - before - {"deps.pth"}
    assert {a for a in added if not a.endswith(".dist-info")} == {"galcat"}, added
    assert len([a for a in added if a.endswith(".dist-info")]) == 1, added
    return venv


def _galcat(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GALCAT_") and k != "PYTHONPATH"}
    env.update(GALCAT_HOME=str(cwd / "home"), TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([str(venv / "bin" / "galcat"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_works_with_no_repository_around(installed: Path, tmp_path: Path) -> None:
    where = _galcat(installed, tmp_path, "--help")
    assert where.returncode == 0 and "scan" in where.stdout
    origin = subprocess.run([str(installed / "bin" / "python"), "-c",
                             "import galcat.cli, galcat.models.shipped as s; "
                             "print(galcat.cli.__file__); print(s.SHIPPED_DIR)"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    assert str(REPO_ROOT) not in origin.stdout and str(installed) in origin.stdout
    mocks = _galcat(installed, tmp_path, "mock", "spectra", "6", "--out", "mocks", "--seed", "2")
    assert mocks.returncode == 0, mocks.stderr
    scan = _galcat(installed, tmp_path, "scan", "dla", "mocks", "--out", "dlas.csv")
    assert scan.returncode == 0, scan.stderr
    assert (tmp_path / "dlas.csv").is_file() and not (tmp_path / "home").exists()
    init = _galcat(installed, tmp_path, "init")
    assert init.returncode == 0, init.stderr
    assert "registered shipped model dla@1" in init.stdout
    assert (tmp_path / "home" / "galcat.sqlite").is_file()
