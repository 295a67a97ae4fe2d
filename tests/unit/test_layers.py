"""The arrows of DESIGN.md: ui -> device -> domain, server -> domain, scan -> domain; domain imports
nothing of the project; the device side never imports the server. Also what a layer may not reach of
the outside world: domain does no I/O, and ui talks HTTP and SQL only through device.

The checker reads source text (it never imports the code), so it sees every spelling of an import:
relative, absolute, `from store_associate import layer`, `import store_associate.x.y as z`, and
importlib.import_module / __import__ with a module name written in the call."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

PKG = Path(__file__).resolve().parents[2] / "app" / "store_associate"
TOP = "store_associate"

ALLOWED = {
    "domain": set(),
    "scan": {"domain"},
    "device": {"domain", "config", "scan"},
    "ui": {"device", "config"},
    "server": {"domain", "config"},
}

# Modules are matched by dotted prefix: "urllib.request" forbids `urllib.request` and `from urllib import
# request`, and leaves `urllib.parse` (string handling, no I/O) to domain/carriers.py.
_SQL = "SQL belongs to device (the local copy) and server"
_HTTP = "the network belongs to device/sync_client (and the server)"
DOMAIN_FORBIDDEN = {
    "sqlite3": _SQL,
    "sqlalchemy": _SQL,
    "sqlmodel": _SQL,
    "psycopg": _SQL,
    "alembic": _SQL,
    "httpx": _HTTP,
    "requests": _HTTP,
    "urllib.request": _HTTP,
    "http.client": _HTTP,
    "socket": _HTTP,
    "ssl": _HTTP,
    "smtplib": _HTTP,
    "asyncio": "the rules are plain synchronous functions; event loops and sockets belong to the callers",
    "fastapi": "the web framework belongs to server",
    "uvicorn": "the web framework belongs to server",
    "starlette": "the web framework belongs to server",
    "flet": "the screens belong to ui",
    "flet_audio": "the screens belong to ui",
    "flet_camera": "the screens belong to ui",
    "flet_web": "the screens belong to ui",
    "cv2": "cameras and images belong to scan",
    "pyzbar": "decoders belong to scan",
    "zxingcpp": "decoders belong to scan",
    "subprocess": "the rules run no programs",
    "multiprocessing": "the rules run no processes",
}
_UI = "the screens reach the server and the local database only through device"
UI_FORBIDDEN = {
    module: _UI
    for module in (
        "httpx",
        "requests",
        "urllib.request",
        "http.client",
        "socket",
        "sqlite3",
        "sqlalchemy",
        "sqlmodel",
        "psycopg",
    )
}
FORBIDDEN = {"domain": DOMAIN_FORBIDDEN, "ui": UI_FORBIDDEN}

# importlib.import_module / __import__ with a computed name cannot be checked; each one the code needs
# is listed here as (file relative to the package, the argument as written) -> why it is safe.
DYNAMIC_ALLOWED: dict[tuple[str, str], str] = {}

_DYNAMIC_CALLS = {"import_module", "__import__"}


@dataclass(frozen=True)
class Import:
    line: int
    module: str  # absolute dotted name, e.g. "store_associate.server.db" or "urllib.request"


def _package(relpath: PurePosixPath) -> list[str]:
    # A module's __package__ is its folder; for __init__.py that is the package itself, the same folder.
    return [TOP, *relpath.parts[:-1]]


def _resolve(name: str, level: int, package: list[str]) -> str | None:
    if level == 0:
        return name
    if level > len(package):
        return None  # beyond the top package: Python refuses it too
    base = package[: len(package) - level + 1]
    return ".".join(base + ([name] if name else []))


def _dynamic_name(call: ast.Call, importers: set[str]) -> ast.expr | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name not in importers:
        return None
    if call.args:
        return call.args[0]
    return next((kw.value for kw in call.keywords if kw.arg == "name"), None)


def scan_source(
    source: str, relpath: str, dynamic_allowed: dict[tuple[str, str], str]
) -> tuple[list[Import], list[str]]:
    """Every import in `source` (the file at `relpath` under the package) as absolute module names, and the
    problems found on the way (unresolvable relative imports, dynamic imports of a computed name)."""
    path = PurePosixPath(relpath)
    package = _package(path)
    tree = ast.parse(source)
    # Names that call importlib.import_module, including `from importlib import import_module as load`.
    importers = set(_DYNAMIC_CALLS)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "importlib":
            importers.update(a.asname or a.name for a in node.names if a.name == "import_module")
    found: list[Import] = []
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(Import(node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node.module or "", node.level, package)
            if module is None:
                problems.append(f"{relpath}:{node.lineno} relative import leaves the package")
                continue
            if module != TOP:  # the package's own __init__ is empty: what counts is the names it imports
                found.append(Import(node.lineno, module))
            # `from pkg import name` may import the submodule pkg.name: `from store_associate import server`,
            # `from .. import server` at a layer's top, `from urllib import request`.
            found.extend(Import(node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and (arg := _dynamic_name(node, importers)) is not None:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                name = arg.value
                level = len(name) - len(name.lstrip("."))
                module = _resolve(name.lstrip("."), level, package)
                if module is None:
                    problems.append(f"{relpath}:{node.lineno} dynamic import {name!r} leaves the package")
                else:
                    found.append(Import(node.lineno, module))
            elif (relpath, ast.unparse(arg)) not in dynamic_allowed:
                problems.append(
                    f"{relpath}:{node.lineno} imports a module named by `{ast.unparse(arg)}`, which no check can "
                    "follow: write the name as a literal, or list it in DYNAMIC_ALLOWED with a reason"
                )
    return found, problems


def violations(source: str, relpath: str, dynamic_allowed: dict[tuple[str, str], str] | None = None) -> list[str]:
    """What breaks the rules in `source`, the file at `relpath` (e.g. "ui/views/scan.py") under the package."""
    layer = PurePosixPath(relpath).parts[0]
    found, bad = scan_source(source, relpath, DYNAMIC_ALLOWED if dynamic_allowed is None else dynamic_allowed)
    forbidden = FORBIDDEN.get(layer, {})
    for imp in found:
        parts = imp.module.split(".")
        if parts[0] == TOP:
            target = parts[1] if len(parts) > 1 else TOP  # the bare package reaches every layer
            if target != layer and target not in ALLOWED[layer]:
                bad.append(f"{relpath}:{imp.line} imports {imp.module} (layer {target})")
        for module, why in forbidden.items():
            if imp.module == module or imp.module.startswith(module + "."):
                bad.append(f"{relpath}:{imp.line} imports {imp.module}: {why}")
    return sorted(set(bad))


def tree_violations(root: Path, layers: list[str] | None = None) -> list[str]:
    bad = []
    for layer in layers or sorted(ALLOWED):
        for path in sorted((root / layer).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            bad.extend(violations(path.read_text(), path.relative_to(root).as_posix()))
    return bad


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_point_one_way(layer):
    bad = tree_violations(PKG, [layer])
    assert not bad, "\n".join(bad)


def test_every_dynamic_import_allowance_is_still_used():
    used = set()
    for key in DYNAMIC_ALLOWED:
        path = PKG / key[0]
        if path.exists():
            tree = ast.parse(path.read_text())
            used.update((key[0], ast.unparse(n.args[0])) for n in ast.walk(tree) if isinstance(n, ast.Call) and n.args)
    assert set(DYNAMIC_ALLOWED) <= used, set(DYNAMIC_ALLOWED) - used


# --- the checker catches what it should (small sources, never planted in app/) ----------------------


@pytest.mark.parametrize(
    ("relpath", "source"),
    [
        # The spellings the first version already caught.
        ("domain/x.py", "from store_associate.device.store import LocalStore\n"),
        ("device/x.py", "from ..server import db\n"),
        ("device/x.py", "import store_associate.ui.app\n"),
        # from store_associate import <layer>, and its relative twin at a layer's top.
        ("domain/x.py", "from store_associate import device\n"),
        ("device/x.py", "from .. import server\n"),
        ("ui/views/x.py", "from ... import server\n"),
        ("scan/x.py", "from store_associate import device as d, domain\n"),
        # import store_associate.x.y as z; the bare package reaches everything.
        ("ui/x.py", "import store_associate.server.db as db\n"),
        ("domain/x.py", "import store_associate\n"),
        # Imports inside functions count too.
        ("server/x.py", "def f():\n    from store_associate.device import store\n"),
    ],
)
def test_crossing_a_layer_is_caught(relpath, source):
    assert violations(source, relpath), source


@pytest.mark.parametrize(
    ("relpath", "source"),
    [
        ("device/x.py", "import importlib\nimportlib.import_module('store_associate.server.app')\n"),
        ("domain/x.py", "__import__('store_associate.ui.i18n')\n"),
        ("ui/x.py", "from importlib import import_module as load\nload('..server.db', __package__)\n"),
        ("scan/x.py", "import importlib\nimportlib.import_module(name='store_associate.device.store')\n"),
        ("ui/x.py", "import importlib\nimportlib.__import__('httpx')\n"),
        ("domain/x.py", "import importlib\nimportlib.import_module('sqlite3')\n"),
    ],
)
def test_dynamic_import_across_a_layer_is_caught(relpath, source):
    assert violations(source, relpath), source


def test_dynamic_import_of_a_computed_name_fails_unless_allowed_with_a_reason():
    source = "import importlib\n\ndef load(name):\n    return importlib.import_module(f'store_associate.{name}')\n"
    assert violations(source, "device/x.py", dynamic_allowed={}) == [
        "device/x.py:4 imports a module named by `f'store_associate.{name}'`, which no check can follow: "
        "write the name as a literal, or list it in DYNAMIC_ALLOWED with a reason"
    ]
    allowed = {("device/x.py", "f'store_associate.{name}'"): "names come from a fixed list of plug-ins"}
    assert violations(source, "device/x.py", dynamic_allowed=allowed) == []


@pytest.mark.parametrize(
    "source",
    [
        "import sqlite3\n",
        "from httpx import Client\n",
        "import requests\n",
        "from urllib import request\n",
        "import urllib.request\n",
        "from http.client import HTTPConnection\n",
        "import socket\n",
        "from sqlalchemy import select\n",
        "from sqlmodel import Session\n",
        "import flet as ft\n",
        "import flet_camera\n",
        "import cv2\n",
        "import psycopg\n",
        "import subprocess\n",
    ],
)
def test_io_in_domain_is_caught(source):
    assert violations(source, "domain/x.py"), source


@pytest.mark.parametrize(
    "source",
    [
        "import httpx\n",
        "import sqlite3\n",
        "import sqlalchemy.orm\n",
        "from sqlmodel import select\n",
        "from urllib.request import urlopen\n",
        "import socket\n",
        "from psycopg import connect\n",
        "def f():\n    import httpx\n",
    ],
)
def test_ui_reaching_http_or_sql_is_caught(source):
    assert violations(source, "ui/views/x.py"), source


@pytest.mark.parametrize(
    ("relpath", "source"),
    [
        ("device/x.py", "from ..domain import codes\nfrom .. import config, scan\nimport httpx\nimport sqlite3\n"),
        ("ui/x.py", "import flet as ft\nfrom ..device.store import LocalStore\nfrom urllib.parse import quote\n"),
        ("domain/x.py", "from urllib.parse import quote\nimport importlib\nimportlib.import_module('biip')\n"),
        ("server/api/x.py", "from .. import access\nfrom ...domain import pickup\nimport sqlalchemy\n"),
        ("scan/x.py", "import importlib\nimportlib.import_module('zxingcpp')\nfrom .accept import Accept\n"),
    ],
)
def test_allowed_imports_pass(relpath, source):
    assert violations(source, relpath) == []


def test_the_checker_walks_a_file_tree(tmp_path):
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "fine.py").write_text("from decimal import Decimal\n")
    (tmp_path / "domain" / "bad.py").write_text("import os\n\nimport sqlite3\n")
    (tmp_path / "ui" / "views").mkdir(parents=True)
    (tmp_path / "ui" / "views" / "bad.py").write_text("from ... import server\n")
    (tmp_path / "server" / "migrations").mkdir(parents=True)
    (tmp_path / "server" / "migrations" / "env.py").write_text("from store_associate import ui\n")
    assert tree_violations(tmp_path) == [
        f"domain/bad.py:3 imports sqlite3: {_SQL}",
        "ui/views/bad.py:1 imports store_associate.server (layer server)",
    ]
