"""Parcel carriers for ship-to-store transfers: which tracking numbers each accepts, and its tracking page.

A mistyped tracking number is caught when the parcel is shipped, not when the store goes looking for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    pattern: re.Pattern[str]
    url: str  # {} is the tracking number


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("ups", "UPS", re.compile(r"1Z[0-9A-Z]{16}"), "https://www.ups.com/track?tracknum={}"),
        Carrier("fedex", "FedEx", re.compile(r"\d{12}|\d{15}|\d{20}"), "https://www.fedex.com/fedextrack/?trknbr={}"),
        Carrier(
            "usps",
            "USPS",
            re.compile(r"(94|93|92|95)\d{18,20}|[A-Z]{2}\d{9}US"),
            "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
        ),
        Carrier(
            "dhl",
            "DHL",
            re.compile(r"\d{10,11}|JJD\d{18}"),
            "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}",
        ),
        # Our own trucks between a distribution centre and its stores: the chain's own reference.
        Carrier("fleet", "Own fleet", re.compile(r"[A-Z0-9-]{4,24}"), ""),
    )
}


class TrackingError(ValueError):
    """The carrier is unknown or the number is not one of its tracking numbers."""


def normalise(carrier: str, tracking: str) -> tuple[str, str]:
    """(carrier code, tracking number without spaces), or TrackingError with what is wrong."""
    code = carrier.strip().lower()
    if code not in CARRIERS:
        raise TrackingError(f"Unknown carrier {carrier[:16]!r}; use one of: {', '.join(CARRIERS)}.")
    number = re.sub(r"[\s-]", "", tracking).upper() if code != "fleet" else tracking.strip().upper()
    if not CARRIERS[code].pattern.fullmatch(number):
        raise TrackingError(f"{number[:40]!r} is not a {CARRIERS[code].name} tracking number.")
    return code, number


def tracking_url(carrier: str, tracking: str) -> str:
    """The carrier's public tracking page for the parcel ('' for our own fleet or an unknown carrier)."""
    found = CARRIERS.get(carrier)
    return found.url.format(quote(tracking)) if found and found.url and tracking else ""
