"""The arrows of DESIGN.md: ui -> device -> domain, server -> domain, scan -> domain; domain imports
nothing of the project; the device side never imports the server."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "app" / "store_associate"

ALLOWED = {
    "domain": set(),
    "scan": {"domain"},
    "device": {"domain", "config", "scan"},
    "ui": {"device", "config"},
    "server": {"domain", "config"},
}


def project_imports(path: Path) -> set[str]:
    layer_depth = len(path.relative_to(PKG).parts) - 1
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("store_associate."):
                out.add(node.module.split(".")[1])
            elif node.level > layer_depth:
                # Relative import that leaves this layer: its first component names the target.
                target = (node.module or "").split(".")[0]
                if not target:
                    out.update(alias.name for alias in node.names)
                else:
                    out.add(target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("store_associate."):
                    out.add(alias.name.split(".")[1])
    return out


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer):
    bad = []
    for path in (PKG / layer).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for target in project_imports(path) - ALLOWED[layer] - {layer}:
            bad.append(f"{path.relative_to(PKG)} imports {target}")
    assert not bad, bad
