"""Packaging and deployment files: a wheel built from the checkout runs its migrations from anywhere, the lock file
pins every dependency within pyproject.toml's ranges, and an `.env` copied from `.env.example` sets nothing but
the secrets (so the image's DATABASE_URL stands).

The wheel test builds and installs for real (a few seconds): offline with the setuptools at hand when it can build
wheels, else through pip's build isolation, which fetches the `[build-system]` requirements.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.config import Settings, load_settings
from bot.core.store.migrations import discover_migrations

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "bot", "cogs", "migrations")
LOCKED = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)", re.MULTILINE)
SECRETS = {"DISCORD_TOKEN", "FUSION_API_KEY", "MIAOHUA_TOKEN"}
OPEN_A_STORE = """
import asyncio, json, sys
from pathlib import Path
import bot, migrations
from bot.core.store import Store

async def main():
    store = await Store.open(Path(sys.argv[1]))
    await store.close()

asyncio.run(main())
print(json.dumps({"bot": bot.__file__, "migrations": migrations.__file__}))
"""


def schema_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    conn.close()
    return version


def can_build_offline() -> bool:
    """Whether the setuptools here builds wheels by itself (70.1 and later) or with the `wheel` package."""
    if importlib.util.find_spec("setuptools") is None:
        return False
    import setuptools

    return Version(setuptools.__version__) >= Version("70.1") or importlib.util.find_spec("wheel") is not None


def build_wheel(tmp_path: Path) -> Path:
    """A wheel of a copy of the checkout's sources, so that the build leaves nothing in the working tree."""
    source = tmp_path / "source"
    for name in SOURCES:
        if (PROJECT_ROOT / name).is_dir():
            shutil.copytree(PROJECT_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, source / name)
    isolation = ["--no-build-isolation"] if can_build_offline() else ["--retries", "0", "--timeout", "15"]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if built.returncode != 0 and not isolation[0].startswith("--no"):
        pytest.skip(f"no setuptools here builds wheels, and pip could not fetch one:\n{built.stdout[-1000:]}")
    assert built.returncode == 0, built.stdout + built.stderr
    return next((tmp_path / "dist").glob("fusionbot-*.whl"))


def fresh_venv(path: Path) -> Path:
    """A new virtual environment that sees this one's dependencies (a `.pth` line) but not its fusionbot."""
    try:
        venv.create(path, with_pip=False)
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot create a virtual environment here: {error}")
    python = path / "bin" / "python"
    site_packages = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    # Plain path lines: the directories are searched after the venv's own, and their .pth files (this environment's
    # editable fusionbot) are not run.
    here = {entry for entry in sys.path if Path(entry).name in ("site-packages", "dist-packages")}
    (site_packages / "dependencies.pth").write_text("\n".join(sorted(here)) + "\n")
    return python


def clean_environment() -> dict[str, str]:
    names = {name.upper() for name in Settings.model_fields} | {"PYTHONPATH"}
    return {key: value for key, value in os.environ.items() if key.upper() not in names}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh virtual environment with the wheel installed (not editable)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(tmp_path)
    python = fresh_venv(tmp_path / "venv")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return python.parent


def run_elsewhere(command: list[str | Path], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=clean_environment(), input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def test_installed_wheel_runs_its_migrations_from_another_directory(installed: Path, tmp_path: Path) -> None:
    database = tmp_path / "x.sqlite3"

    opened = run_elsewhere([installed / "python", "-c", OPEN_A_STORE, database], cwd=tmp_path)

    assert opened.returncode == 0, opened.stderr
    files = json.loads(opened.stdout)
    venv_root = str(installed.parent)
    assert files["bot"].startswith(venv_root) and files["migrations"].startswith(venv_root), files
    assert schema_version(database) == len(discover_migrations())


def test_installed_console_script_starts_on_a_new_database(installed: Path, tmp_path: Path) -> None:
    done = run_elsewhere([installed / "fusionbot", "console", "--emulator"], cwd=tmp_path, stdin="/quit\n")

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert schema_version(tmp_path / "data" / "fusionbot.sqlite3") == len(discover_migrations())


def test_the_lock_pins_every_dependency_within_its_range() -> None:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    lock = (PROJECT_ROOT / "requirements.lock").read_text()
    pinned = {canonicalize_name(name): Version(version) for name, version in LOCKED.findall(lock)}
    requirements = [Requirement(line) for line in project["dependencies"]]
    unpinned = [str(req) for req in requirements if pinned.get(canonicalize_name(req.name)) not in req.specifier]
    assert unpinned == [], "regenerate requirements.lock (the command is at its top)"


def example_lines() -> list[str]:
    return (PROJECT_ROOT / ".env.example").read_text().splitlines()


def test_an_env_copied_from_the_example_sets_only_the_secrets() -> None:
    settings = [line.split("=", 1)[0] for line in example_lines() if line and not line.startswith("#")]
    assert set(settings) <= SECRETS, "a setting the example sets would override the image's DATABASE_URL and others"


def test_every_commented_example_value_is_the_default() -> None:
    names = {name.upper() for name in Settings.model_fields}
    commented = dict(line[2:].split("=", 1) for line in example_lines() if line[2:].split("=", 1)[0] in names)
    defaults = load_settings()
    changed = [name for name, value in commented.items() if load_settings(**{name.lower(): value}) != defaults]
    assert changed == []
