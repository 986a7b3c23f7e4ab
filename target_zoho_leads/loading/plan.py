"""A plan run (``plan_path``): what a real run would do to each record now, writing nothing.

The run reads Zoho as a real one does (token, field metadata, Unique Lead's
lookups) and plans each batch as the writer would; the plan goes to a JSON
lines file, one line per record and a summary line at the end. No STATE is
passed on: the input is not consumed, so the real run can follow over it.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import threading
import typing as t

from target_zoho_leads.loading.outputs import OutputFile, record_line
from target_zoho_leads.loading.results import WriteResult
from target_zoho_leads.zoho.bulk.csv_file import MAX_ROWS as BULK_JOB_ROWS
from target_zoho_leads.zoho.credits import insert_credits
from target_zoho_leads.zoho.outcomes import (
    CREATED,
    REJECTED,
    SKIPPED,
    UNCHANGED,
    UPDATED,
    Outcome,
)

if t.TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from target_zoho_leads.loading.results import Route
    from target_zoho_leads.loading.unique_writes import UniqueLeadWriter
    from target_zoho_leads.zoho.credits import CreditMeter

logger = logging.getLogger(__name__)

# The action a real run would take, by the outcome it would give.
ACTIONS = {
    CREATED: "create",
    UPDATED: "update",
    UNCHANGED: "unchanged",
    SKIPPED: "skip",
    REJECTED: "reject",
}
# A lead a create would make has no id yet: it stands in under this prefix
# (and the input position of its first record) until the plan is written.
_STAND_IN = "would-create:"


def would_create(seq: int) -> str:
    """The stand-in id of the lead a create of the record at input position ``seq`` makes."""
    return f"{_STAND_IN}{seq}"


def _real_id(lead_id: str | None) -> str | None:
    """A lead id as the plan shows it: None for a lead not yet created."""
    return None if lead_id is None or lead_id.startswith(_STAND_IN) else lead_id


def plan_writes(
    writer: UniqueLeadWriter | None,
    payloads: list[dict[str, t.Any]],
    seqs: list[int],
    route: Route,
) -> WriteResult:
    """What the run's writer would make of the valid leads of a batch; nothing is written.

    Args:
        writer: Unique Lead's writer (it looks people up), or None in
            insert mode, where every lead is a create and nothing is read.
        payloads: The leads the local checks passed.
        seqs: Each lead's input position.
        route: Where Unique Lead's lookups go.

    Raises:
        ZohoAPIError: A lookup failed for good.
    """
    if writer is None:
        return WriteResult([Outcome(CREATED, would_create(seq)) for seq in seqs])
    return WriteResult(writer.plan(payloads, seqs, route, would_create))


class PlanFile:
    """The plan: one JSON line per record, then a summary line with counts and credits."""

    SETTING = "plan_path"

    def __init__(self, path: str, max_credits: int | None = None) -> None:
        """Open ``path`` now and empty it: a plan is this run's alone.

        Args:
            path: The plan file.
            max_credits: The budget the summary says the real run fits, or None.

        Raises:
            OutputFileError: The path cannot be used (see :func:`open_checked`).
        """
        self.path = path
        self.max_credits = max_credits
        self.actions: collections.Counter[str] = collections.Counter()
        self.codes: collections.Counter[str] = collections.Counter()
        # Credits of the writes a real run would send, by the records API and by Bulk Write.
        self.writes = {"records_api": 0, "bulk_write": 0}
        self._keys: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._file = OutputFile(self.SETTING, path, truncate=True)

    def key_properties(self, stream: str, keys: Sequence[str] | None) -> None:
        """Remember a stream's key properties (from its SCHEMA) to name each record by."""
        self._keys[stream] = tuple(keys or ())

    def write(
        self,
        stream: str,
        records: Sequence[Mapping[str, t.Any]],
        tracking_ids: Sequence[t.Any],
        outcomes: Sequence[Outcome | None],
    ) -> None:
        """Append one line per record of a batch, and count its actions and writes."""
        keys = self._keys.get(stream, ())
        lines = []
        for record, tracking_id, outcome in zip(records, tracking_ids, outcomes, strict=True):
            if outcome is None:  # not reached: a plan settles every record
                continue
            key = {k: record.get(k) for k in keys}
            lines.append(_plan_line(stream, key, tracking_id, outcome))
        creates = sum(1 for line in lines if line["action"] == "create")
        updates = sum(1 for line in lines if line["action"] == "update")
        text = "".join(json.dumps(line, default=str, ensure_ascii=False) + "\n" for line in lines)
        with self._lock:
            self._file.write(text)
            self.actions.update(line["action"] for line in lines)
            self.codes.update(line["code"] for line in lines if line.get("code"))
            self.writes["records_api"] += insert_credits(creates) + insert_credits(updates)
            self.writes["bulk_write"] += _bulk_credits(creates) + _bulk_credits(updates)

    def finish(self, meter: CreditMeter, *, complete: bool) -> dict[str, t.Any]:
        """Append the summary line, close the file and log the summary; return it.

        Args:
            meter: This run's calls: what it read costs the real run again.
            complete: The whole input was planned (False: the run failed).
        """
        reads = meter.spent
        spend = {"reads": reads} | {way: reads + cost for way, cost in self.writes.items()}
        summary: dict[str, t.Any] = {
            "complete": complete,
            "actions": {action: self.actions[action] for action in ACTIONS.values()},
            "codes": dict(self.codes),
            "credits": spend,
        }
        if self.max_credits is not None:
            summary["max_credits"] = self.max_credits
            summary["fits_max_credits"] = {
                way: spend[way] <= self.max_credits for way in self.writes
            }
        with self._lock:
            self._file.write(json.dumps({"summary": summary}) + "\n")
            self._file.close()
        logger.info(
            "Plan: %s; a real run would spend %s credits by the records API, %s by Bulk Write",
            ", ".join(f"{count} {action}" for action, count in summary["actions"].items()),
            spend["records_api"],
            spend["bulk_write"],
        )
        return summary

    def close(self) -> None:
        """Close the file without a summary (again is fine)."""
        with self._lock:
            self._file.close()


def _bulk_credits(count: int) -> int:
    """The most ``count`` creates or updates cost as Bulk Write jobs."""
    return insert_credits(count, jobs=math.ceil(count / BULK_JOB_ROWS)) if count else 0


def _plan_line(
    stream: str, key: dict[str, t.Any], tracking_id: t.Any, outcome: Outcome
) -> dict[str, t.Any]:
    """One record's line: its action, the lead it concerns, why it is refused."""
    said = ("action", ACTIONS[outcome.kind])
    lead_id = _real_id(outcome.lead_id)
    line = record_line(stream, key, tracking_id, outcome, said=said, lead_id=lead_id)
    if outcome.lead_ids is not None:
        line["lead_ids"] = [_real_id(lead_id) for lead_id in outcome.lead_ids]
    return line
