"""The layers stay apart: nothing in the core (`bot/core`) imports discord, and `bot/` imports nothing of `cogs/`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NO_DISCORD = """
import importlib, pkgutil, sys

class NoDiscord:
    def find_spec(self, name, path=None, target=None):
        if name == "discord" or name.startswith("discord."):
            raise ImportError(f"the core must not import {name}")
        return None

sys.meta_path.insert(0, NoDiscord())
import bot.core
for module in pkgutil.walk_packages(bot.core.__path__, "bot.core."):
    importlib.import_module(module.name)
    print(module.name)
"""


def test_every_core_module_imports_without_discord() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_DISCORD], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    imported = result.stdout.split()
    assert {"bot.core.chat", "bot.core.store.sqlite.turns", "bot.core.fusion.client", "bot.core.draw.service"} <= set(
        imported
    )


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_bot_imports_nothing_from_the_cogs() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path) if name.split(".")[0] == "cogs")
        for path in (ROOT / "bot").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
