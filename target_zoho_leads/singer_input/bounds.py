"""Bounds on Singer input: how long a line and how deep a value may be."""

from __future__ import annotations

import typing as t

# Objects and lists within one another. CDP events nest a few levels; the
# mapping, the STATE copies and the SDK walk values recursively, and a few
# hundred levels would end the run in a RecursionError, the lines before unwritten.
MAX_NESTING = 100

# The longest line read (`max_line_bytes`'s default): a Singer line is one
# message, and a record with a megabyte of text in it is already unusual. A
# longer line is refused after reading at most this much, not read whole.
DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024

# `batch_size_bytes`: how much memory a run's unwritten records and waiting
# STATEs may take. The default holds four records at the longest line read, or
# some 45,000 small CDP events (about 1.4 KB each decoded): more than the
# largest batch by rows (a Bulk Write job of 25,000), so rows bind first on
# usual input.
DEFAULT_BATCH_SIZE_BYTES = 64 * 1024 * 1024
MIN_BATCH_SIZE_BYTES = 1024 * 1024
MAX_BATCH_SIZE_BYTES = 16 * 1024 * 1024 * 1024

# What a decoded value takes beyond its JSON text, for each comma in the line
# (about one per value): measured with tracemalloc on msgspec's objects, 45 to
# 55 bytes a value in a large list or object, 100 in a small CDP event (the
# dicts' own overhead). A line of text decodes to about its own length.
BYTES_PER_VALUE = 100


def held_size(line: str | bytes) -> int:
    """About how much memory the message decoded from ``line`` takes, in bytes.

    Cheap enough for every line: a count of one character, no walk of the value.
    """
    commas = line.count(b",") if isinstance(line, bytes) else line.count(",")
    return len(line) + BYTES_PER_VALUE * (commas + 1)


def brackets(line: str | bytes) -> int:
    """How many objects and lists a line opens at most: a cheap bound on nesting."""
    if isinstance(line, bytes):
        return line.count(b"{") + line.count(b"[")
    return line.count("{") + line.count("[")


def nesting(value: t.Any) -> int:
    """How deep objects and lists go in ``value``, without recursing.

    Stops counting once past :data:`MAX_NESTING`.
    """
    deepest = 0
    stack = [(value, 1)]
    while stack and deepest <= MAX_NESTING:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: t.Iterable[t.Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest
