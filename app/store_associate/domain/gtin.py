"""GTIN arithmetic: check digits, UPC-E expansion, normalisation to GTIN-14.

Pure functions on digit strings; `codes.py` builds the interpretation of scanned text on top.
"""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


def check_digit(body: str) -> int:
    """GS1 mod-10 check digit for the digits *before* the check digit."""
    if not body.isdigit():
        raise ValueError("digits only")
    total = 0
    # Weights alternate 3,1,3,... starting from the rightmost body digit.
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True for an 8, 12, 13 or 14 digit string whose last digit is its check digit."""
    if len(code) not in GTIN_LENGTHS or not code.isascii() or not code.isdigit():
        return False
    return check_digit(code[:-1]) == int(code[-1])


def upce_to_upca(upce: str) -> str | None:
    """Expand an 8-digit UPC-E (number system + 6 digits + check) to UPC-A.

    Returns None when the string is not a UPC-E with a valid check digit.
    """
    if len(upce) != 8 or not upce.isascii() or not upce.isdigit() or upce[0] not in "01":
        return None
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        manufacturer, product = d[0:2] + last + "00", "00" + d[2:5]
    elif last == "3":
        manufacturer, product = d[0:3] + "00", "000" + d[3:5]
    elif last == "4":
        manufacturer, product = d[0:4] + "0", "0000" + d[4]
    else:
        manufacturer, product = d[0:5], "0000" + last
    upca = ns + manufacturer + product + check
    return upca if is_valid_gtin(upca) else None


def upca_to_upce(upca: str) -> str | None:
    """Compress a UPC-A to UPC-E where the number allows it (used by the seed and tests)."""
    if len(upca) != 12 or not is_valid_gtin(upca) or upca[0] not in "01":
        return None
    ns, m, p, check = upca[0], upca[1:6], upca[6:11], upca[11]
    candidates = []
    if m[2] in "012" and m[3:] == "00" and p[:2] == "00":
        candidates.append(m[:2] + p[2:5] + m[2])
    if m[3:] == "00" and p[:3] == "000":
        candidates.append(m[:3] + p[3:5] + "3")
    if m[4] == "0" and p[:4] == "0000":
        candidates.append(m[:4] + p[4] + "4")
    if p[:4] == "0000" and p[4] in "56789":
        candidates.append(m + p[4])
    for c in candidates:
        upce = ns + c + check
        if upce_to_upca(upce) == upca:
            return upce
    return None


def to_gtin14(code: str) -> str:
    """Left-pad a valid GTIN-8/12/13/14 to 14 digits (the stored form)."""
    if not is_valid_gtin(code):
        raise ValueError(f"not a valid GTIN: {code!r}")
    return code.zfill(14)
