"""What every returns use case of one device works with: the local store and its return log, the outbox, who is
signed in, the clock and the rules in force. The use cases (start.py, record.py, finish.py, show.py, keep.py) are
written against this, not against the Returns they make up (service.py), so each stands in its own module with no
import circle back to the whole.

A step is checked against the return as shown and then recorded: `one_at_a_time` serialises the steps of one
device, since two taps on two threads (a screen and the sync worker's redraw, two browser sessions of one desktop)
must not both pass the check.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from ...domain.commands import ReturnCommand
from ...domain.returns import ReturnRules, load_rules
from ..lookup import LookupService
from ..outbox import Outbox
from ..store import LocalStore
from .facts import RULES_FILE, current_rules
from .steps import ReturnSteps


class Desk:
    """The returns of one device. `record` puts a command in the outbox (Device.record); `clerk` is the signed-in
    person's staff number (None: nobody); `offline_days` the offline window (DeviceAuth.offline_window)."""

    def __init__(
        self,
        store: LocalStore,
        outbox: Outbox,
        record: Callable[[ReturnCommand], int],
        lookup: LookupService,
        *,
        clerk: Callable[[], str | None],
        store_code: Callable[[], str],
        offline_days: Callable[[], int],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rules_file: Any = RULES_FILE,
    ) -> None:
        self.store, self.outbox, self.record, self.lookup = store, outbox, record, lookup
        self.log = store.returns
        self.clerk, self.store_code, self.offline_days, self.clock = clerk, store_code, offline_days, clock
        self.rules_file = rules_file
        self.steps = ReturnSteps(outbox, self.log)
        self._lock = threading.RLock()
        self.adopted = False  # the outbox was read once for steps the log missed (keep.py)
        self.pruned_at: datetime | None = None  # when returns too old to count were last forgotten (keep.py)

    def rules(self) -> ReturnRules:
        """The rules in force here: the shipped ones, or a newer version pulled from the server."""
        return current_rules(self.log, self.rules_file)

    def accept_rules(self, data: Mapping[str, Any]) -> bool:
        """Keep rules that came from the server (a pull keeps them itself); True when they are newer than the
        ones kept. Rules this app cannot read are refused (ValidationError) and not kept."""
        candidate = load_rules(data)
        if candidate.version <= self.rules().version:
            return False
        return self.log.keep_rules(data)


_D = TypeVar("_D", bound=Desk)
_T = TypeVar("_T")
_P = ParamSpec("_P")


def one_at_a_time(method: Callable[Concatenate[_D, _P], _T]) -> Callable[Concatenate[_D, _P], _T]:
    """The step runs alone on this device (see the module's docstring)."""

    @functools.wraps(method)
    def serialised(self: _D, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        with self._lock:
            return method(self, *args, **kwargs)

    return serialised
