"""Budgets for a tap's SCHEMA: how big it may be to compile, how long one record's check may take.

fastjsonschema turns a SCHEMA into Python source, about ten times its size
(each error quotes its subschema), and compiling that source costs about
80 bytes of memory a byte: a 4 MB SCHEMA of 100,000 properties took 34 s
and 3.9 GB. A SCHEMA past these bounds is refused with one line naming the
bound, before any code is generated. And a record's check, however the
SCHEMA multiplies its work (``anyOf`` over items, a ``$ref`` twice per
level, a pattern on fifty values), has one time budget for the record.
"""

from __future__ import annotations

import signal
import threading
import time
import typing as t

# JSON values in one SCHEMA (objects, lists, text, numbers), enum values
# included: real taps send a few thousand (800 fields with a type list and
# a format each); generating code for 30,000 takes about a second.
MAX_SCHEMA_VALUES = 30_000
# The generated checking code: 2 MiB compiles in about 3 s and 180 MB here
# (5,000 plain properties make 2 MB).
MAX_CHECK_CODE_BYTES = 2 * 1024 * 1024
# One record's whole check, every value and pattern in it: an honest check
# takes microseconds; a hostile one costs this, then its record is rejected.
RECORD_CHECK_SECONDS = 1.0
# The timer rings this much after the deadline, so that a pattern match,
# which stops itself at the deadline, is named as the pattern that took the
# time rather than interrupted mid-way.
_TIMER_GRACE_SECONDS = 0.1


class SchemaTooLargeError(ValueError):
    """The SCHEMA is past a compile budget; the message names the budget."""


def check_size(schema: t.Any) -> None:
    """Refuse a SCHEMA of more than :data:`MAX_SCHEMA_VALUES` JSON values (no recursion).

    Raises:
        SchemaTooLargeError: Past the bound (counting stops there).
    """
    count = 0
    stack = [schema]
    while stack:
        item = stack.pop()
        count += 1
        if count > MAX_SCHEMA_VALUES:
            msg = (
                f"it holds more than {MAX_SCHEMA_VALUES:,} JSON values "
                "(properties, enum values, subschemas), the most this target compiles"
            )
            raise SchemaTooLargeError(msg)
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def check_code_size(code: str) -> None:
    """Refuse generated checking code past :data:`MAX_CHECK_CODE_BYTES`.

    Raises:
        SchemaTooLargeError: The code is too long to compile in bounded memory.
    """
    if len(code) > MAX_CHECK_CODE_BYTES:
        msg = (
            f"its checking code would be {len(code) / 1024 / 1024:.1f} MiB, past the "
            f"{MAX_CHECK_CODE_BYTES // 1024 // 1024} MiB this target compiles "
            "(fewer properties, enum values or anyOf branches)"
        )
        raise SchemaTooLargeError(msg)


class CheckTimeout(Exception):  # noqa: N818 - it is what happened, not an error of ours
    """A record's check ran past :data:`RECORD_CHECK_SECONDS`.

    Not a ``JsonSchemaValueException``: fastjsonschema's ``anyOf`` and
    ``oneOf`` code catches those, and must let this one through.
    """


class RecordBudget:
    """The processor time one record's check may take, shared by every value and pattern in it.

    Processor time, not the clock's: the ``regex`` package stops a match
    after that much of it, and on a busy machine a check's wall time says
    more about the neighbours than about the SCHEMA. The generated code is
    plain Python: on the main thread (the command's) a processor-time timer
    raises :class:`CheckTimeout` in it wherever it is. A pattern match runs
    in C, where no signal lands until it returns, so each match is given
    what is left of the record's time instead.
    """

    def __init__(self, seconds: float = RECORD_CHECK_SECONDS) -> None:
        """A budget of ``seconds`` for each record."""
        self.seconds = seconds
        self.deadline = float("inf")  # in time.thread_time()
        self._armed = False

    def remaining(self) -> float:
        """Seconds left for this record.

        Raises:
            CheckTimeout: None are left.
        """
        left = self.deadline - time.thread_time()
        if left <= 0:
            raise CheckTimeout
        return left

    def run(self, check: t.Callable[[t.Any], t.Any], record: t.Any) -> None:
        """Run ``check(record)`` within the budget.

        Raises:
            CheckTimeout: It took longer.
        """
        self.deadline = time.thread_time() + self.seconds
        on_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGVTALRM, self._alarm) if on_main else None
        try:
            if on_main:
                self._armed = True
                signal.setitimer(signal.ITIMER_VIRTUAL, self.seconds + _TIMER_GRACE_SECONDS)
            check(record)
        finally:
            if on_main:
                signal.setitimer(signal.ITIMER_VIRTUAL, 0)
                self._armed = False
                # None: a handler set outside Python, which cannot be put back.
                signal.signal(signal.SIGVTALRM, previous or signal.SIG_DFL)
            self.deadline = float("inf")

    def _alarm(self, _signum: int, _frame: t.Any) -> None:
        """The timer counts the whole process's time: ring again if this thread has some left."""
        if not self._armed:  # a late signal, after the check ended
            return
        left = self.deadline - time.thread_time()
        if left > 0:
            signal.setitimer(signal.ITIMER_VIRTUAL, left + _TIMER_GRACE_SECONDS)
            return
        raise CheckTimeout
