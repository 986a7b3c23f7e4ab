"""Reading Singer messages from stdin quickly, with errors that leak no data."""

from __future__ import annotations

import sys
import typing as t

import msgspec
from singer_sdk.io_base import GenericSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_zoho_leads.singer_input.bounds import (
    DEFAULT_MAX_LINE_BYTES,
    MAX_NESTING,
    brackets,
    held_size,
    nesting,
)
from target_zoho_leads.singer_input.schema_budget import SchemaTooLargeError, check_size

# Floats stay floats: a lead's numbers go to Zoho as JSON numbers anyway, and
# the SDK's Decimal parsing costs time on every record.
_decoder = msgspec.json.Decoder()

SINGER_TYPES = ("SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION", "BATCH")
# What the SDK assumes of a message's fields. Left unchecked, a record that is
# a list or null, or a stream name that is not text, fails deep inside the SDK
# with a bare TypeError, or is dropped without a word (a null record).
_FIELD_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "RECORD": {"stream": (str,), "record": (dict,)},
    "SCHEMA": {
        "stream": (str,),
        "schema": (dict,),
        "key_properties": (list, type(None)),
    },
    "ACTIVATE_VERSION": {"stream": (str,)},
}
_TOO_DEEP = f"not a valid Singer line (nested over {MAX_NESTING} levels deep)"
_JSON_NAMES = {dict: "a JSON object", list: "a list", str: "text", type(None): "null"}


class LeadMessageReader(GenericSingerReader[t.Any]):
    """Decodes each line with msgspec and remembers where in the input it is.

    The SDK's readers log a line that fails to parse, and name a line's
    content when a key is missing: CDP events hold people's emails and
    phones, so errors here say only the line number and what is wrong.
    """

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        """Start before the first line; refuse lines longer than ``max_line_bytes``."""
        super().__init__()
        self.line_number = 0
        self.max_line_bytes = max_line_bytes
        self._described: set[str] = set()  # streams a SCHEMA has come for
        # What the message being handed on takes in memory (estimated): the
        # sinks count it against `batch_size_bytes` while they hold it.
        self.message_bytes = 0

    @property
    def default_input(self) -> t.IO[t.Any]:
        """Standard input as bytes: msgspec decodes UTF-8 itself, line by line."""
        return sys.stdin.buffer

    def process_lines(
        self,
        file_input: t.IO[t.Any] | None,
        callbacks: dict[str, t.Callable[[dict[str, t.Any]], None]],
    ) -> t.Counter[str]:
        """Process every line, counting them so errors can say where they were."""
        filein = file_input or self.default_input
        counts: t.Counter[str] = t.Counter()
        on_record = callbacks["RECORD"]
        records = 0
        for line in self._lines(filein):
            self.line_number += 1
            if line.isspace() or not line:
                continue  # a trailing blank line is not worth failing a run for
            message = self.deserialize_json(line)
            self.message_bytes = held_size(line)
            kind = message.get("type")
            if (
                kind == "RECORD"
                and type(message.get("record")) is dict
                and type(message.get("stream")) is str
            ):
                on_record(message)  # the hot path: all check_message asks of it
                records += 1
                continue
            self.assert_line_requires(message, requires={"type"})
            callback = callbacks.get(kind) if isinstance(kind, str) else None
            if callback is None:
                msg = f"unknown Singer message type {str(kind)[:40]!r}"
                raise InvalidInputLine(msg)
            check_message(t.cast("str", kind), message, self._described)
            callback(message)
            if kind == "SCHEMA":
                self._described.add(message["stream"])
            counts[t.cast("str", kind)] += 1
        if records:
            counts["RECORD"] += records
        return counts

    def _lines(self, filein: t.IO[t.Any]) -> t.Iterator[t.Any]:
        """Each line of ``filein``, reading at most ``max_line_bytes`` and one byte at a time.

        Raises:
            InvalidInputLine: A line is longer than ``max_line_bytes`` (the
                line number counts it).
        """
        limit = self.max_line_bytes
        readline = filein.readline
        line = readline(limit + 1)
        newline = b"\n" if isinstance(line, bytes) else "\n"
        while line:
            if len(line) > limit and not line.endswith(newline):
                self.line_number += 1
                msg = f"longer than max_line_bytes ({limit:,} bytes)"
                raise InvalidInputLine(msg)
            yield line
            line = readline(limit + 1)

    def deserialize_json(self, line: t.Any) -> dict[str, t.Any]:
        """Decode one line into a message object.

        Raises:
            InvalidInputLine: The line is not JSON, not UTF-8, not an object,
                or nested more than :data:`MAX_NESTING` levels deep.
        """
        try:
            message = _decoder.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            msg = f"not a valid JSON line ({_why_not_json(line, exc)})"
            raise InvalidInputLine(msg) from None
        except RecursionError:  # msgspec's own limit, some thousand levels
            raise InvalidInputLine(_TOO_DEEP) from None
        if type(message) is not dict:  # what msgspec makes of any JSON object
            msg = "a Singer message must be a JSON object"
            raise InvalidInputLine(msg)
        opened = (
            line.count(b"{") + line.count(b"[")  # stdin: bytes, the hot path
            if type(line) is bytes
            else brackets(line)
        )
        if opened > MAX_NESTING and nesting(message) > MAX_NESTING:
            raise InvalidInputLine(_TOO_DEEP)
        return message

    @staticmethod
    def assert_line_requires(line_dict: dict[str, t.Any], requires: set[str]) -> None:
        """Check that a message has the keys its type needs, naming only the keys.

        Raises:
            InvalidInputLine: Some are missing.
        """
        missing = requires.difference(line_dict)
        if missing:
            kind = line_dict.get("type")
            if "properties" in requires:  # the SDK asks this of a SCHEMA's schema
                what = "the schema of the SCHEMA message"
            else:
                what = f"the {kind} message" if kind in SINGER_TYPES else "the message"
            msg = f"{what} lacks {', '.join(sorted(missing))}"
            raise InvalidInputLine(msg)


def check_message(kind: str, message: dict[str, t.Any], described: t.Container[str]) -> None:
    """Check what the SDK takes for granted in a message, naming fields, never values.

    Args:
        kind: The message type.
        message: The decoded message.
        described: The streams a SCHEMA has already come for.

    Raises:
        InvalidInputLine: The message cannot be processed safely.
    """
    if kind == "BATCH":
        # Not a capability this target declares: the SDK would read whatever
        # local files the line names, past the record checks.
        msg = "BATCH messages are not supported by this target; send RECORD messages"
        raise InvalidInputLine(msg)
    for field, types in _FIELD_TYPES.get(kind, {}).items():
        value = message.get(field, types[0]())  # a missing field is the SDK's to name
        if not isinstance(value, types):
            wanted = " or ".join(_name(type_) for type_ in types)
            got = _name(type(value))
            msg = f"the {field} of a {kind} message must be {wanted}, not {got}"
            raise InvalidInputLine(msg)
    if kind == "RECORD":
        return  # the hot path: nothing more to check
    stream = str(message.get("stream"))[:40]
    if kind == "ACTIVATE_VERSION" and message.get("stream") not in described:
        # The SDK looks the stream up without asking first: a KeyError.
        msg = f"an ACTIVATE_VERSION for stream {stream!r} came before its SCHEMA"
        raise InvalidInputLine(msg)
    if kind == "SCHEMA":
        _check_schema(message, stream)


def _check_schema(message: dict[str, t.Any], stream: str) -> None:
    """The parts of a SCHEMA message the SDK and the schema compiler rely on."""
    if not all(isinstance(key, str) for key in message.get("key_properties") or []):
        msg = "the key_properties of a SCHEMA message must be a list of field names"
        raise InvalidInputLine(msg)
    schema = message.get("schema", {})
    try:
        check_size(schema)  # before the SDK copies and walks it
    except SchemaTooLargeError as exc:
        msg = f"the SCHEMA of stream {stream!r} cannot be checked safely: {exc}"
        raise InvalidInputLine(msg) from None
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):  # the SDK edits it in place as an object
        msg = (
            "the properties of a SCHEMA message's schema must be a JSON object, "
            f"not {_name(type(properties))}"
        )
        raise InvalidInputLine(msg)
    if _refers_elsewhere(schema):
        # The schema compiler would fetch it: a tap's SCHEMA must not have the
        # target reading URLs or local files.
        msg = (
            f"the SCHEMA of stream {stream!r} has a $ref to another document; "
            "only references within the schema (#/...) are read"
        )
        raise InvalidInputLine(msg)


def _why_not_json(line: str | bytes, exc: Exception) -> str:
    """Say what is wrong with a line the decoder refused, in this target's words first.

    Invalid UTF-8 is named here, with its byte offset; the decoder's own words
    (which change between its releases) follow for anything else.
    """
    if isinstance(line, bytes):
        try:
            line.decode()
        except UnicodeDecodeError as bad:
            return f"not UTF-8 at byte {bad.start}"
    return str(exc).split("\n", 1)[0][:120]


def _name(type_: type) -> str:
    return _JSON_NAMES.get(type_, type_.__name__)


def _refers_elsewhere(schema: t.Any) -> bool:
    """Whether a schema holds a ``$ref`` that is not a ``#...`` pointer within it."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
