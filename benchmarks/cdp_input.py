"""Write a Singer input of realistic, small CDP events to a file, streamed."""

from __future__ import annotations

import json
import random
import typing as t

if t.TYPE_CHECKING:
    from pathlib import Path

STREAM = "cdp_events"
STATE_EVERY = 1_000

SCHEMA = {
    "type": "object",
    "properties": {
        "anonymous_id": {"type": "string"},
        "event": {"type": "string"},
        "tag_id": {"type": ["string", "null"]},
        "name": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "phone": {"type": ["string", "null"]},
        "properties": {
            "type": ["object", "null"],
            "properties": {
                "ip": {"type": ["string", "null"]},
                "url": {"type": ["string", "null"]},
                "area": {"type": ["string", "null"]},
            },
        },
    },
    "required": ["anonymous_id", "event"],
}

# The target's settings for this input: every mapped source is in SCHEMA.
FIELD_MAPPING = (
    "Last_Name=name,Email=email,Phone=phone,CDP_ID=anonymous_id,"
    "IP_Address=ip,Landing_Page=url,Area=area,Event_Name=event"
)
DEFAULT_VALUES = "Lead_Source=CDP"

EVENTS = ("page_view", "form_submit", "sign_up", "download_whitepaper", "book_demo")
AREAS = ("Shanghai", "Beijing", "Guangdong", "Zhejiang", "Jiangsu", "Sichuan", "Hubei")
PAGES = ("pricing", "demo", "webinar", "whitepaper", "contact", "campaign/spring")
SOURCES = ("baidu", "wechat", "weibo", "newsletter", "direct")
SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu")


def event(seq: int, person: int, rng: random.Random) -> dict[str, t.Any]:
    """One CDP event of ``person``: about 330 bytes of JSON, like a form capture."""
    return {
        "anonymous_id": f"{rng.getrandbits(128):032x}",
        "event": EVENTS[seq % len(EVENTS)],
        "tag_id": f"tag-{person % 97:03d}",
        "name": f"{SURNAMES[person % len(SURNAMES)]} {person}",
        "email": f"person{person}@example.com",
        "phone": f"+86139{person:08d}",
        "properties": {
            "ip": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
            "url": f"https://www.example.com/{rng.choice(PAGES)}?utm_source={rng.choice(SOURCES)}",
            "area": rng.choice(AREAS),
        },
    }


def write_input(path: Path, records: int, seed: int = 1) -> Path:
    """Write SCHEMA, ``records`` events (one person each) and a STATE every 1,000.

    Lines are written as they are made, so a million records never sit in memory.

    Args:
        path: The file to create.
        records: How many RECORD messages.
        seed: Seed of the random values.

    Returns:
        ``path``.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not crypto
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    with path.open("w", encoding="utf-8") as out:
        schema = {
            "type": "SCHEMA",
            "stream": STREAM,
            "schema": SCHEMA,
            "key_properties": [],
        }
        out.write(dumps(schema) + "\n")
        for seq in range(records):
            record = {
                "type": "RECORD",
                "stream": STREAM,
                "record": event(seq, seq, rng),
            }
            out.write(dumps(record) + "\n")
            if (seq + 1) % STATE_EVERY == 0 or seq + 1 == records:
                out.write(dumps(state_message(seq + 1)) + "\n")
    return path


def state_message(records_done: int) -> dict[str, t.Any]:
    """The STATE a tap emits after ``records_done`` records."""
    return {"type": "STATE", "value": {"bookmarks": {STREAM: {"offset": records_done}}}}
