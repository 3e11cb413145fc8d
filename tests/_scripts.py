"""Import a script of ``examples/`` or ``benchmarks/`` (folders that are not packages)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """Import a script of examples/ or benchmarks/ by its path from the repository root."""
    path = ROOT / relative
    name = "_script_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
