"""Customer returns on the server: the return commands devices push, applied in the push's unit of work.

apply.py applies a step (`perform`, and `record_problem` after a refusal); step.py holds what the steps share,
stock.py the stock a step moves, refund.py the refund, policy.py the rules and the server's own facts, views.py
what a pull or the API shows, and models.py the tables (import it wherever the metadata must be complete).
"""

from __future__ import annotations

from .apply import perform
from .step import Problem, ReturnRefused, record_problem

__all__ = ["Problem", "ReturnRefused", "perform", "record_problem"]
