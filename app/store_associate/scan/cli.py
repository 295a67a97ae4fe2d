"""`store-associate scan IMAGE...`: what each picture holds, for support and for checking labels.

Per image: every code read (text, symbology, AIM identifier, engine, time), what the text means
(domain.codes.interpret: kind, GTIN-14, GS1 fields with their names) and, when the caller passes a
`lookup` (the device's local database), the product it maps to. Control characters are shown
visibly (the GS1 separator as <GS>), so what is printed can be compared byte for byte.

Exit code 0 when every image gave at least one read, 1 otherwise (also for a missing or unreadable
file, which gets a one-line explanation instead of a traceback).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from ..domain.codes import CodeInfo, interpret
from .decode import decode_frame
from .sources import ImageError, load_image

__all__ = ["ProductLookup", "scan_images", "visible"]

# text, symbology -> a dict describing the product (see device.scanner.local_product_lookup), or None.
ProductLookup = Callable[[str, str | None], dict | None]

STILL_BUDGET_MS = 1500.0
_CONTROL_NAMES = {0x1D: "<GS>", 0x1E: "<RS>", 0x04: "<EOT>", 0x0D: "<CR>", 0x0A: "<LF>", 0x09: "<TAB>"}
_IMAGE_REASONS = {
    "missing": "no such file",
    "empty": "the file is empty",
    "too_big": "the file is too big to be a picture of a code",
    "not_an_image": "not an image (PNG, JPEG, BMP, TIFF and WebP can be read)",
}


def visible(text: str) -> str:
    """Control characters made visible: GS1's FNC1 separator prints as <GS>."""
    out = []
    for ch in text:
        code = ord(ch)
        if code in _CONTROL_NAMES:
            out.append(_CONTROL_NAMES[code])
        elif code < 0x20 or code == 0x7F:
            out.append(f"<0x{code:02X}>")
        else:
            out.append(ch)
    return "".join(out)


def _ai_title(ai: str) -> str:
    try:
        from biip.gs1_application_identifiers import GS1ApplicationIdentifier

        return GS1ApplicationIdentifier.extract(ai).data_title
    except Exception:  # noqa: BLE001 - an unknown AI just has no name
        return ""


def _meaning(info: CodeInfo) -> list[str]:
    lines = [f"kind: {info.kind.value}" + (f" ({info.symbology})" if info.symbology else "")]
    if info.error:
        lines.append(f"not valid: {info.error}" + (f" ({info.detail})" if info.detail else ""))
    if info.gtin:
        lines.append(f"GTIN-14: {info.gtin}")
    if info.alternatives:
        lines.append("could also be GTIN-14: " + ", ".join(info.alternatives))
    for ai, value in info.ai.items():
        title = _ai_title(ai)
        lines.append(f"({ai}) {visible(value)}" + (f"  {title}" if title else ""))
    facts: tuple[tuple[str, object], ...] = (
        ("batch", info.batch),
        ("serial", info.serial),
        ("expiry", info.expiry),
        ("best before", info.best_before),
        ("net weight kg", info.net_weight_kg),
        ("embedded price", info.price),
        ("count", info.count),
        ("reference", info.reference),
        ("look-up key", info.lookup),
    )
    for label, fact in facts:
        if fact is not None and not (label == "look-up key" and info.gtin):
            lines.append(f"{label}: {visible(str(fact))}")
    return lines


def _product_line(answer: dict | None) -> str:
    if answer is None:
        return "product: no device database to look it up in"
    if "sku" not in answer:
        return f"product: none ({answer.get('outcome', 'unknown')})"
    line = f"product: {answer['sku']}  {answer['name']}  {answer['price']} {answer['currency']}"
    if answer.get("pack_qty", 1) > 1:
        line += f"  (pack of {answer['pack_qty']})"
    if "on_hand" in answer:
        line += f"  on hand {answer['on_hand']}, available {answer['available']}"
    return line


def scan_images(
    paths: list[Path],
    lookup: ProductLookup | None = None,
    out: TextIO | None = None,
    engines: Sequence[str] | None = None,
) -> int:
    """Print what each image holds. 0: every image had a read; 1: at least one had none.
    engines: as decode_frame's (default: every engine installed here); ("pyzbar",) shows what a
    device without zxing-cpp (Android) reads."""
    out = out or sys.stdout
    if not paths:
        print("No images given.", file=out)
        return 1
    all_read = True
    for path in paths:
        print(f"{path}", file=out)
        try:
            img = load_image(path)
        except ImageError as exc:
            print(f"  cannot read it: {_IMAGE_REASONS.get(exc.reason, exc.reason)}", file=out)
            all_read = False
            continue
        except OSError as exc:
            print(f"  cannot read it: {exc.strerror or exc}", file=out)
            all_read = False
            continue
        t0 = time.perf_counter()
        results = decode_frame(img, engines=engines, budget_ms=STILL_BUDGET_MS)
        ms = (time.perf_counter() - t0) * 1000
        h, w = img.shape[:2]
        if not results:
            print(f"  no code found ({w}x{h} px, {ms:.0f} ms). Try a sharper, closer or better lit picture.", file=out)
            all_read = False
            continue
        print(f"  {len(results)} code(s) in {w}x{h} px, {ms:.1f} ms", file=out)
        for i, r in enumerate(results, 1):
            aim = f"{r.aim}, " if r.aim else ""
            print(f"  {i}. {visible(r.text)}", file=out)
            print(f"     symbology: {r.symbology} ({aim}{r.engine})", file=out)
            info = interpret(r.aim + r.text if r.aim else r.text, symbology_hint=r.symbology)
            for line in _meaning(info):
                print(f"     {line}", file=out)
            if lookup is not None:
                try:
                    answer = lookup(r.text, r.symbology)
                except Exception as exc:  # noqa: BLE001 - a support tool reports, it does not crash
                    print(f"     product: look-up failed ({exc})", file=out)
                else:
                    print(f"     {_product_line(answer)}", file=out)
    return 0 if all_read else 1
