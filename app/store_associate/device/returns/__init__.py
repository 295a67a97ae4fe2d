"""Returns at the counter, on the device: the use cases the returns screens call (no Flet here).

A return is started from a found sale (device/sales.find_sale) or without a receipt (start.py), its lines are
recorded with the policy's decision (domain/returns.evaluate, on facts from the device's own copy: facts.py,
decide.py), a manager may approve what the policy will not let the clerk accept alone (their PIN checked against
this device's offline verifier: record.py, override.py), the items are taken back and dispositioned, and the refund
is decided; or the return is cancelled (finish.py). An exchange is a return refunded as what the till takes for
the new items (exchanges.py).

Every step is a command of domain/commands/ put in the outbox, as order steps are (device/orders.py): checked
first against the return as the device shows it, by the same state machine the server runs
(domain/return_flow.py), then recorded, so it shows at once and works with no network at all. The steps are also
kept in the local store (store/returns.py) with what the device decided beside them (keep.py), so a return is
shown (show.py), and holds the units it takes back (steps.py), after the outbox has sent it: until the sale pulled
from the server counts them. A step the server refused is shown on its return (ShownReturn.rejections) and stays in
the outbox's refused list like any other. The same step tapped twice is recorded once.

Refusals are raised as return_flow.Refused (ReturnRefused for the device's own, with the policy's explanations):
an i18n key, and nothing recorded.
"""

from ...domain.return_flow import Disposition, Refused, ReturnStatus
from ...domain.returns import Condition, Destination, Explanation, Outcome, OverrideReason, Reason, RefundMethod
from .exchanges import ExchangeKind, ExchangeLine, ExchangeQuote, Exchanges, Wanted, family_key
from .service import Returns
from .start import new_return_id
from .views import (
    LineRequest,
    Quote,
    QuotedLine,
    ReceivedItem,
    RefundPart,
    Rejection,
    ReturnRefused,
    ReturnSummary,
    ShownReturn,
)

# The screens speak of returns in the domain's terms through this layer (ui -> device -> domain).
__all__ = [
    "Condition",
    "Destination",
    "Disposition",
    "ExchangeKind",
    "ExchangeLine",
    "ExchangeQuote",
    "Exchanges",
    "Explanation",
    "LineRequest",
    "Outcome",
    "OverrideReason",
    "Quote",
    "QuotedLine",
    "Reason",
    "ReceivedItem",
    "RefundMethod",
    "RefundPart",
    "Refused",
    "Rejection",
    "ReturnRefused",
    "ReturnStatus",
    "ReturnSummary",
    "Returns",
    "ShownReturn",
    "Wanted",
    "family_key",
    "new_return_id",
]
