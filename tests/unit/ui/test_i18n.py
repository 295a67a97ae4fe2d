"""Every key the code uses exists in English; every catalogue has the same keys and placeholders.

The code reaches a key in several ways: t("key") and i18n.t("key"), a family written as an f-string or a sum
(t(f"stock.status.{status.value}"), t("devices.kind." + kind)), a key held in a variable (t(exc.reason)), and
a helper that passes its parameter on to t(). The finder below reads ui/ and device/ (the layers that
translate; device is handed t by the ui) and sorts what it finds into literal keys, families and variables;
FAMILIES and VARIABLE_KEYS say which values each family and variable takes, so that every key is checked."""

from __future__ import annotations

import ast
import json
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from store_associate.domain.catalogues import read_catalogue
from store_associate.ui import i18n

ROOT = Path(__file__).resolve().parents[3]
PKG = ROOT / "app" / "store_associate"
TRANSLATING = ("ui", "device")


@dataclass
class KeyUses:
    keys: dict[str, list[str]] = field(default_factory=dict)  # "order.done.picked" -> where
    families: dict[str, list[str]] = field(default_factory=dict)  # "stock.status.{}" -> where
    variables: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (file, "exc.reason") -> where


def _translators(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names that call t (t itself and `from .i18n import t as tr`) and names bound to the i18n module."""
    names, modules = {"t"}, {"i18n"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (node.module or "").endswith("i18n") and alias.name == "t":
                    names.add(alias.asname or "t")
                elif alias.name == "i18n":
                    modules.add(alias.asname or "i18n")
    return names, modules


def _key_argument(call: ast.Call, names: set[str], modules: set[str]) -> ast.expr | None:
    func = call.func
    direct = isinstance(func, ast.Name) and func.id in names
    through_module = (
        isinstance(func, ast.Attribute)
        and func.attr == "t"
        and isinstance(func.value, ast.Name)
        and func.value.id in modules
    )
    if not (direct or through_module):
        return None
    if call.args:
        return call.args[0]
    return next((kw.value for kw in call.keywords if kw.arg == "key"), None)


def _template(parts: Iterable[ast.expr]) -> str | None:
    """ "a.{}.b" for the pieces of an f-string or a sum of strings; None when no piece is a literal."""
    out, literal = [], False
    for part in parts:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            out.append(part.value.replace("{", "{{").replace("}", "}}"))
            literal = True
        else:
            out.append("{}")
    return "".join(out) if literal else None


def _summands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _summands(node.left) + _summands(node.right)
    return [node]


def _key_parts(node: ast.expr) -> Iterable[tuple[str, str | ast.expr]]:
    """("key", "a.b"), ("family", "a.{}") or ("variable", expression) for each key an expression may be."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield "key", node.value
    elif isinstance(node, ast.BoolOp):  # t(reason or "reject.malformed")
        for value in node.values:
            yield from _key_parts(value)
    elif isinstance(node, ast.IfExp):
        yield from _key_parts(node.body)
        yield from _key_parts(node.orelse)
    elif isinstance(node, ast.JoinedStr):
        pieces = [v.value if isinstance(v, ast.FormattedValue) else v for v in node.values]
        template = _template(pieces)
        yield ("family", template) if template else ("variable", node)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        template = _template(_summands(node))
        yield ("family", template) if template else ("variable", node)
    else:
        yield "variable", node


def _params(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = [a.arg for a in func.args.posonlyargs + func.args.args]
    return names[1:] if names and names[0] in {"self", "cls"} else names


def find_keys(sources: dict[str, str]) -> KeyUses:
    """Every key the sources (file name relative to the package -> text) reach t() with. A function that
    passes a parameter of its own to t() is a helper: the arguments its callers give it are keys too."""
    trees = {path: ast.parse(text) for path, text in sources.items()}
    # (path, node) of every key expression, starting with the arguments of t() itself.
    exprs: list[tuple[str, ast.expr]] = []
    for path, tree in trees.items():
        names, modules = _translators(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (arg := _key_argument(node, names, modules)) is not None:
                exprs.append((path, arg))
    enclosing: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}  # node -> the function it is in
    for tree in trees.values():
        for func in ast.walk(tree):
            if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(func):
                    enclosing[id(node)] = func  # inner functions come later in the walk and win
    helpers: dict[str, tuple[int, str]] = {}  # helper name -> position and name of its key parameter

    def passes_its_parameter(expr: ast.expr) -> tuple[str, int, str] | None:
        func = enclosing.get(id(expr))
        params = _params(func) if func else []
        for kind, part in _key_parts(expr):
            if kind == "variable" and isinstance(part, ast.Name) and part.id in params:
                return func.name, params.index(part.id), part.id
        return None

    checked = 0
    while checked < len(exprs):
        # A parameter reaching t() makes its function a helper ...
        new = {}
        for _, expr in exprs[checked:]:
            if (found := passes_its_parameter(expr)) and found[0] not in helpers:
                new[found[0]] = found[1:]
        checked = len(exprs)
        helpers.update(new)
        # ... and the arguments its callers give it key expressions.
        for path, tree in trees.items():
            for call in ast.walk(tree):
                func = call.func if isinstance(call, ast.Call) else None
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in new:
                    position, param = new[name]
                    args = call.args[position : position + 1] + [kw.value for kw in call.keywords if kw.arg == param]
                    exprs.extend((path, arg) for arg in args)
    uses = KeyUses()
    for path, expr in exprs:
        where = f"{path}:{expr.lineno}"
        for kind, part in _key_parts(expr):
            if kind == "key":
                uses.keys.setdefault(part, []).append(where)
            elif kind == "family":
                uses.families.setdefault(part, []).append(where)
            elif not (isinstance(part, ast.Name) and (found := passes_its_parameter(expr)) and found[2] == part.id):
                # (a helper's own parameter is checked at its callers)
                uses.variables.setdefault((path, ast.unparse(part)), []).append(where)
    return uses


@cache
def app_uses() -> KeyUses:
    return find_keys(
        {
            path.relative_to(PKG).as_posix(): path.read_text()
            for layer in TRANSLATING
            for path in sorted((PKG / layer).rglob("*.py"))
        }
    )


@cache
def literal_arguments(callee: str, keyword: str | None = None) -> frozenset[str]:
    """The string literals the app passes to `callee` (first argument, or `keyword=`): where variable keys
    such as Refused(...).reason come from."""
    found = set()
    for path in PKG.rglob("*.py"):
        text = path.read_text()
        if f"{callee}(" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) != callee:
                continue
            args = [kw.value for kw in node.keywords if kw.arg == keyword] if keyword else node.args[:1]
            found.update(a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return frozenset(found)


# --- what the families and the variables can be --------------------------------------------------------


def _commands():  # noqa: ANN202
    from store_associate.domain import commands

    return commands


def _codes():  # noqa: ANN202
    from store_associate.domain import codes

    return codes


def _reject_constants() -> set[str]:
    # The server's own rejections of a mutation (domain/commands/ REJECT_*).
    return {v for k, v in vars(_commands()).items() if k.startswith("REJECT_")}


def _refusals() -> set[str]:
    # Refused("order.refused....") of domain/pickup.py and device/orders.py; the server rejects a step with them too.
    return set(literal_arguments("Refused"))


def _enum(path: str, name: str, only: Iterable[str] | None = None) -> Callable[[], set[str]]:
    def values() -> set[str]:
        module = __import__(f"store_associate.{path}", fromlist=[name])
        members = [getattr(module, name)[m] for m in only] if only else list(getattr(module, name))
        return {m.value for m in members}

    return values


def _device_kinds() -> set[str]:
    # server/enrolment.py's DEVICE_KINDS, read rather than imported: importing the server costs seconds.
    tree = ast.parse((PKG / "server" / "enrolment.py").read_text())
    assigned = next(
        n.value for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "DEVICE_KINDS"
    )
    return set(ast.literal_eval(assigned))


def _queues() -> set[str]:
    from store_associate.domain.pickup import QUEUES

    return set(QUEUES)


def _label_texts() -> set[str]:
    from store_associate.device.labels import LABEL_TEXTS

    return set(LABEL_TEXTS)


def _code_errors() -> set[str]:
    from store_associate.domain import codes

    return {v for k, v in vars(codes).items() if k.startswith("ERR_")}


# Template -> the values its placeholder takes.
FAMILIES: dict[str, Callable[[], set[str]]] = {
    "stock.status.{}": _enum("domain.inventory", "StockStatus"),
    "order.status.{}": _enum("domain.pickup", "OrderStatus"),
    "line.status.{}": _enum("domain.pickup", "LineStatus"),
    "reject.reason.{}": _enum("domain.pickup", "RejectReason"),
    "orders.queue.{}": _queues,
    "recent.{}": _enum("device.lookup", "Outcome"),
    "camera.status.{}": _enum("ui.camera_vm", "CamStatus"),
    # Only these statuses have help (camera_vm.help_text; live has its own literal key).
    "camera.help.{}": _enum("ui.camera_vm", "CamStatus", ["NO_CAMERA", "DENIED", "FAILED"]),
    # The code kinds device/lookup.py answers NOT_A_PRODUCT for.
    "scan.not_product.{}": lambda: {kind.value for kind in _codes().NOT_PRODUCT_KINDS},
    "adjust.reason.{}": lambda: set(_commands().ADJUST_REASONS),
    # pending_vm.describe names a step of an order: an order command.
    "step.{}": lambda: set(_commands().ORDER_COMMANDS),
    # pending_vm gives advice for the server's own rejections; an order's refusals share advice.order.refused.
    "advice.{}": _reject_constants,
    # The roles a person signs in with (kiosk, device and web shop are not people).
    "role.{}": _enum("domain.permissions", "Role", ["ASSOCIATE", "MANAGER", "ADMIN"]),
    "devices.kind.{}": _device_kinds,
    # server/models.py Transfer.status (no enum of its own yet).
    "transfer.status.{}": lambda: {"requested", "shipped", "received", "cancelled"},
}

# (file, expression) -> the keys the expression can hold.
VARIABLE_KEYS: dict[tuple[str, str], Callable[[], set[str]]] = {
    ("ui/orders_vm.py", "exc.reason"): _refusals,
    ("ui/scan_vm.py", "r.code.error"): _code_errors,
    ("ui/scan_vm.py", "n.error"): lambda: set(literal_arguments("NetworkStock", "error")),
    # A rejected outbox entry: the server's rejections and an order's refusals.
    ("ui/pending_vm.py", "e.reason"): lambda: _reject_constants() | _refusals(),
    ("device/labels.py", "key"): _label_texts,
    # A return's sentences: the policy's explanations, the life cycle's refusals, the device's own.
    ("ui/returns_texts.py", "e.key"): lambda: _returns_texts(),
}


def _returns_texts() -> set[str]:
    from store_associate.domain.return_facts import EXPLANATION_KEYS
    from store_associate.domain.return_flow import REFUSALS

    return (
        set(EXPLANATION_KEYS)
        | set(REFUSALS)
        | set(literal_arguments("ReturnRefused"))
        | set(literal_arguments("Explanation"))
        | set(literal_arguments("SaleMatch", "message"))
        | set(literal_arguments("_fail"))
    )


def missing_keys(
    uses: KeyUses,
    english: dict[str, str],
    families: dict[str, Callable[[], set[str]]] | None = None,
    variables: dict[tuple[str, str], Callable[[], set[str]]] | None = None,
) -> list[str]:
    """What the code can ask t() for that English lacks, and the families and variables nobody said the
    values of (so they cannot be checked)."""
    families = FAMILIES if families is None else families
    variables = VARIABLE_KEYS if variables is None else variables
    problems = [f"{k} (used at {', '.join(w)})" for k, w in uses.keys.items() if k not in english]
    for template, where in uses.families.items():
        if template not in families:
            problems.append(f"family {template!r} at {', '.join(where)}: add its values to FAMILIES")
            continue
        keys = {template.format(v) for v in families[template]()}
        problems += [f"{k} (family at {', '.join(where)})" for k in keys if k not in english]
    for (path, expr), where in uses.variables.items():
        if (path, expr) not in variables:
            problems.append(f"t({expr}) at {', '.join(where)}: add the keys it can hold to VARIABLE_KEYS")
            continue
        problems += [
            f"{k} (held by {expr} at {', '.join(where)})" for k in variables[(path, expr)]() if k not in english
        ]
    return sorted(set(problems))


def test_every_key_the_code_uses_has_an_english_text():
    problems = missing_keys(app_uses(), i18n.catalogue("en"))
    assert not problems, "\n".join(problems)


def test_every_family_and_variable_listed_is_still_used():
    uses = app_uses()
    assert set(FAMILIES) <= set(uses.families), set(FAMILIES) - set(uses.families)
    assert set(VARIABLE_KEYS) <= set(uses.variables), set(VARIABLE_KEYS) - set(uses.variables)


FIXTURE_SOURCES = {
    "ui/a.py": """
from . import i18n
from .i18n import t as tr

def show(status, kind):
    reason = status.reason
    tr("plain.key")
    i18n.t("through.module")
    t(f"state.{status.value}")
    t("kind." + kind)
    t(reason or "fallback.key")
    t("yes.key" if status else "no.key")
    notice("helper.key")
    self.banner(title="not a key", message="banner.key")
""",
    "ui/b.py": """
from .i18n import t

def notice(key):
    return t(key)

class View:
    def banner(self, title, message):
        return title + t(message)

    def other(self):
        return t(self.held)
""",
}


def test_the_finder_sees_every_way_to_a_key():
    uses = find_keys(FIXTURE_SOURCES)
    assert set(uses.keys) == {
        "plain.key",
        "through.module",
        "fallback.key",
        "yes.key",
        "no.key",
        "helper.key",
        "banner.key",
    }
    assert set(uses.families) == {"state.{}", "kind.{}"}
    assert set(uses.variables) == {("ui/a.py", "reason"), ("ui/b.py", "self.held")}


def test_a_missing_key_fails_the_check():
    uses = find_keys(FIXTURE_SOURCES)
    families = {"state.{}": lambda: {"open", "closed"}, "kind.{}": lambda: {"tablet"}}
    variables = {("ui/a.py", "reason"): lambda: {"reason.one"}, ("ui/b.py", "self.held"): lambda: {"held.key"}}
    english = dict.fromkeys([*uses.keys, "state.open", "state.closed", "kind.tablet", "reason.one", "held.key"], "text")
    assert missing_keys(uses, english, families, variables) == []
    for gone in ("helper.key", "banner.key", "through.module", "state.closed", "reason.one", "held.key"):
        fewer = {k: v for k, v in english.items() if k != gone}
        problems = missing_keys(uses, fewer, families, variables)
        assert len(problems) == 1 and problems[0].startswith(gone), (gone, problems)
    # A family or a variable nobody gave the values of fails too.
    assert len(missing_keys(uses, english, {}, variables)) == 2
    assert len(missing_keys(uses, english, families, {})) == 2


def test_a_key_removed_from_the_real_catalogue_fails_the_check():
    uses = app_uses()
    english = i18n.catalogue("en")
    for gone in ("order.done.picked", "stock.status.low", "order.refused.closed", "code.error.check_digit"):
        assert gone in english
        fewer = {k: v for k, v in english.items() if k != gone}
        assert any(p.startswith(gone) for p in missing_keys(uses, fewer)), gone


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_catalogues_match_english(locale):
    # The file's own texts: the loaded catalogue has English beneath it and would hide an extra key.
    english, other = i18n.catalogue("en"), read_catalogue(i18n.CATALOGUES, locale)
    assert set(other) <= set(english), sorted(set(other) - set(english))
    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key, text in other.items():
        assert fields(text) == fields(english[key]), key


def test_no_user_visible_literals_in_views():
    # Text(...) and labels in views must come from t(); a bare English literal is a bug.
    offenders = []
    for path in (ROOT / "app" / "store_associate" / "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {
                "Text",
                "TextButton",
                "OutlinedButton",
                "Button",
            }:
                for arg in node.args[:1]:
                    literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                    if literal and re.search("[A-Za-z]", arg.value):
                        offenders.append(f"{path.name}:{node.lineno} {arg.value!r}")
            for kw in getattr(node, "keywords", []):
                if kw.arg in {"label", "hint_text", "tooltip"} and isinstance(kw.value, ast.Constant):
                    offenders.append(f"{path.name}:{node.lineno} {kw.arg}={kw.value.value!r}")
    assert not offenders, offenders


def test_formatting_and_rtl():
    i18n.set_locale("en")
    assert i18n.money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert i18n.number(12.34, 1) == "12.3"
    assert not i18n.is_rtl("en") and i18n.is_rtl("ar")
    assert i18n.t("no.such.key") == "no.such.key"
    assert i18n.t("product.sku", sku="123") == "SKU 123"
    json.dumps(i18n.catalogue("en"))


def test_money_in_a_right_to_left_line_stays_one_left_to_right_unit():
    try:
        i18n.set_locale("ar")
        shown = i18n.money(Decimal("348.49"), "USD")
        assert shown.startswith("\u2066") and shown.endswith("\u2069"), repr(shown)
        assert "\u200f" not in shown  # Babel's right-to-left mark would reorder the sign and the digits
    finally:
        i18n.set_locale("en")
