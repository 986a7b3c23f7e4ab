"""Reading Singer messages from stdin quickly, with errors that leak no data."""

from __future__ import annotations

import sys
import typing as t

import msgspec
from singer_sdk.io_base import GenericSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

# Floats stay floats: a lead's numbers go to Zoho as JSON numbers anyway, and
# the SDK's Decimal parsing costs time on every record.
_decoder = msgspec.json.Decoder()


class LeadMessageReader(GenericSingerReader[t.Any]):
    """Decodes each line with msgspec and remembers where in the input it is.

    The SDK's readers log a line that fails to parse, and name a line's
    content when a key is missing: CDP events hold people's emails and
    phones, so errors here say only the line number and what is wrong.
    """

    def __init__(self) -> None:
        """Start before the first line."""
        super().__init__()
        self.line_number = 0

    @property
    def default_input(self) -> t.IO[t.Any]:
        """Standard input as bytes: msgspec decodes UTF-8 itself, line by line."""
        return sys.stdin.buffer

    def process_lines(
        self,
        file_input: t.IO[t.Any] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Process every line, counting them so errors can say where they were."""
        filein = file_input or self.default_input
        counts: t.Counter[str] = t.Counter()
        for line in filein:
            self.line_number += 1
            if not line.strip():
                continue  # a trailing blank line is not worth failing a run for
            message = self.deserialize_json(line)
            self.assert_line_requires(message, requires={"type"})
            kind = message["type"]
            callback = callbacks.get(kind)
            if callback is None:
                msg = f"unknown Singer message type {str(kind)[:40]!r}"
                raise InvalidInputLine(msg)
            callback(message)
            counts[kind] += 1
        return counts

    def deserialize_json(self, line: t.Any) -> dict:  # noqa: ANN401
        """Decode one line into a message object.

        Raises:
            InvalidInputLine: The line is not JSON, not UTF-8, or not an object.
        """
        try:
            message = _decoder.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            reason = str(exc).split("\n", 1)[0][:120]
            msg = f"not a valid JSON line ({reason})"
            raise InvalidInputLine(msg) from None
        if not isinstance(message, dict):
            msg = "a Singer message must be a JSON object"
            raise InvalidInputLine(msg)
        return message

    @staticmethod
    def assert_line_requires(line_dict: dict, requires: set[str]) -> None:
        """Check that a message has the keys its type needs, naming only the keys.

        Raises:
            InvalidInputLine: Some are missing.
        """
        missing = requires.difference(line_dict)
        if missing:
            kind = str(line_dict.get("type", "?"))[:40]
            msg = f"the {kind} message lacks {', '.join(sorted(missing))}"
            raise InvalidInputLine(msg)
