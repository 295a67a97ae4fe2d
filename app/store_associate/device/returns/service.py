"""The returns use cases of one device, as one object for the screens and the runtime (device/runtime.py): each
part is written in the module of its idea, against the Desk they share, and joined here.
"""

from __future__ import annotations

from .finish import Finishing
from .keep import Keeping
from .record import Recording
from .show import Showing
from .start import Starting


class Returns(Starting, Recording, Finishing, Showing, Keeping):
    """The returns use cases of one device: start.py (starting, finding the items), record.py (the lines and a
    manager's approval), finish.py (taking back, refund, cancel), show.py (reading), keep.py (after a sync round).
    What it is made with is desk.Desk's."""
