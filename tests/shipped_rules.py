"""Edited copies of the shipped rulebooks used as the shipped data in a test: a firm directory
(CLIENT_RATING_RULES_DIR) may no longer replace a shipped id@version, so a test that changes a
shipped rulebook changes a copy and points the registry at it."""

from __future__ import annotations

import shutil
from pathlib import Path

import rules.registry
from rules.registry import DATA_DIR


def use_as_shipped(monkeypatch, root: Path) -> None:
    """Use ``root`` (edited copies of some shipped rulebooks) as the shipped data, the other
    shipped rulebooks copied beside them."""
    for d in DATA_DIR.iterdir():
        if d.is_dir() and not (root / d.name).exists():
            shutil.copytree(d, root / d.name)
    monkeypatch.setattr(rules.registry, "DATA_DIR", root)
