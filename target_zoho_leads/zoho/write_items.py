"""Zoho's per-record answer items, read straight from an answer's bytes into typed form."""

from __future__ import annotations

import typing as t

import msgspec


class ItemDetails(msgspec.Struct):
    """What the target reads of an answer item's ``details``; the rest is skipped."""

    id: t.Any = None  # the lead written
    api_name: t.Any = None  # the field at fault
    json_path: t.Any = None  # or its path in the request
    duplicate_record: t.Any = None  # the lead a DUPLICATE_DATA item names


class WriteItem(msgspec.Struct):
    """One record's item in an insert or update answer.

    Read straight from the answer's bytes: a 100-lead answer decoded into
    dicts costs several times more, most of it in fields never read.
    """

    code: t.Any = None
    status: t.Any = None
    message: t.Any = None
    details: ItemDetails | None = None

    @classmethod
    def from_json(cls, item: t.Any) -> WriteItem:
        """Build one from an item already decoded as JSON, whatever its shape."""
        if not isinstance(item, dict):
            return cls()
        details = item.get("details")
        return cls(
            code=item.get("code"),
            status=item.get("status"),
            message=item.get("message"),
            details=ItemDetails(**{k: details[k] for k in _DETAIL_KEYS if k in details})
            if isinstance(details, dict)
            else None,
        )


_DETAIL_KEYS = tuple(ItemDetails.__struct_fields__)


class ItemsAnswer(msgspec.Struct):
    """An insert or update answer: its per-record items, if it holds them."""

    data: list[WriteItem] | None = None


WRITE_ANSWER = msgspec.json.Decoder(ItemsAnswer)
