"""A SCHEMA's ``$ref`` and ``$id`` checked before it is compiled: no loops, nothing odd.

fastjsonschema resolves ``$ref`` as the JSON Schema drafts say, ``$id``
scopes and all, and trusts the SCHEMA: a ``$ref`` loop recurses until
Python gives up, a relative ``$id`` with a ``$ref`` to ``#`` makes new
scopes without end, an odd ``$id`` is fetched as a URL. A tap's SCHEMA
comes from outside, so this target reads ``$ref`` only as a pointer
within the SCHEMA (``#/definitions/name``) from its root, and refuses what
it cannot check here with one reason naming a place in the SCHEMA.
"""

from __future__ import annotations

import typing as t
from urllib.parse import unquote

# Keywords holding one subschema, a list of them, or a map of them.
_ONE = ("additionalProperties", "items", "additionalItems", "contains", "propertyNames")
_SAME_ONE = ("not", "if", "then", "else")
_SAME_LISTS = ("allOf", "anyOf", "oneOf")
_MAPS = ("properties", "patternProperties", "definitions", "$defs")
# Applied to the very value the schema holding them is applied to: a loop
# through these (and $ref) never reaches a smaller value, so it never ends.
_SAME_MAPS = ("dependencies",)
# Subschemas one value can be checked against through allOf, anyOf, $ref, ...
# counted with repeats: a few dozen in real SCHEMAs; twenty anyOf pairs
# that each refer to the next make a million, a run that never ends.
MAX_CHECKS_PER_VALUE = 10_000
_IDS = ("$id", "id")


class SchemaReferenceError(ValueError):
    """The SCHEMA's references cannot be followed safely; the message names a place in it."""


class _Node(t.NamedTuple):
    schema: dict[str, t.Any]
    place: str


def check_references(schema: dict[str, t.Any]) -> None:
    """Refuse a SCHEMA whose ``$ref`` or ``$id`` this target cannot follow safely.

    Raises:
        SchemaReferenceError: A ``$ref`` leaves the SCHEMA, points nowhere
            or at no schema, leads back to where it started without going
            into a property or an item, fans out past
            :data:`MAX_CHECKS_PER_VALUE`; or an ``$id`` inside the SCHEMA
            would change what a ``$ref`` means.
    """
    nodes = _schemas(schema)
    if any("$ref" in node.schema for node in nodes.values()):
        _refuse_inner_ids(schema)
    same_value = {key: list(_same_value(node, schema)) for key, node in nodes.items()}
    _refuse_loops(nodes, same_value)


def without_root_id(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """The SCHEMA without the root's ``$id``: it names the document, and every ``$ref`` is ``#...``.

    fastjsonschema would otherwise fetch a ``$ref`` from the ``$id``'s URL
    when it names another document (``foo:bar#baz``).
    """
    return {key: value for key, value in schema.items() if key not in _IDS}


def place_of(path: t.Sequence[str]) -> str:
    """A place in the SCHEMA as its own keys: ``properties/email``; the root if none."""
    return "/".join(path)[:100] or "the root"


def _schemas(root: dict[str, t.Any]) -> dict[int, _Node]:
    """Every subschema reached from the root through keywords and ``$ref``, by identity."""
    found: dict[int, _Node] = {}
    stack: list[tuple[t.Any, tuple[str, ...]]] = [(root, ())]
    while stack:
        schema, path = stack.pop()
        if not isinstance(schema, dict) or id(schema) in found:
            continue
        found[id(schema)] = _Node(schema, place_of(path))
        if "$ref" in schema:
            stack.append((_target(schema, root, path), path))
            continue  # fastjsonschema ignores the keywords beside a $ref
        stack.extend(_children(schema, path))
    return found


def _children(
    schema: dict[str, t.Any], path: tuple[str, ...]
) -> t.Iterator[tuple[t.Any, tuple[str, ...]]]:
    for key in (*_ONE, *_SAME_ONE):
        if key in schema:
            yield schema[key], (*path, key)
    for key in (*_SAME_LISTS, "items"):
        if isinstance(schema.get(key), list):
            for index, item in enumerate(schema[key]):
                yield item, (*path, key, str(index))
    for key in (*_MAPS, *_SAME_MAPS):
        if isinstance(schema.get(key), dict):
            for name, item in schema[key].items():
                yield item, (*path, key, str(name))


def _same_value(node: _Node, root: dict[str, t.Any]) -> t.Iterator[int]:
    """The subschemas checked against the same value as ``node``, with repeats."""
    schema = node.schema
    if "$ref" in schema:
        target = _target(schema, root, ())
        if isinstance(target, dict):
            yield id(target)
        return
    for key in _SAME_ONE:
        if isinstance(schema.get(key), dict):
            yield id(schema[key])
    for key in _SAME_LISTS:
        items = schema[key] if isinstance(schema.get(key), list) else ()
        yield from (id(item) for item in items if isinstance(item, dict))
    for key in _SAME_MAPS:
        items = schema[key].values() if isinstance(schema.get(key), dict) else ()
        yield from (id(item) for item in items if isinstance(item, dict))


def _target(schema: dict[str, t.Any], root: dict[str, t.Any], path: t.Sequence[str]) -> t.Any:
    """What a ``$ref`` points at, read as a JSON pointer within the SCHEMA."""
    ref = schema["$ref"]
    where = place_of(path)
    if not isinstance(ref, str):
        msg = f"the $ref at {where} is not text"
        raise SchemaReferenceError(msg)
    if not ref.startswith("#"):
        msg = f"the $ref at {where} refers to another document; only #/... is read"
        raise SchemaReferenceError(msg)
    pointer = unquote(ref[1:])
    if pointer and not pointer.startswith("/"):
        msg = f"the $ref at {where} names an anchor; only JSON pointers (#/...) are read"
        raise SchemaReferenceError(msg)
    target: t.Any = root
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and key in target:
            target = target[key]
        elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
            target = target[int(key)]
        else:
            msg = f"the $ref at {where} points at nothing in the SCHEMA"
            raise SchemaReferenceError(msg)
    if not isinstance(target, (dict, bool)):
        msg = f"the $ref at {where} points at something that is not a schema"
        raise SchemaReferenceError(msg)
    return target


def _refuse_inner_ids(root: dict[str, t.Any]) -> None:
    """An ``$id`` below the root would make a ``$ref`` under it mean another place.

    Looked for where fastjsonschema looks: in the objects of the SCHEMA,
    not past a ``$ref``, not in lists.
    """
    stack: list[tuple[dict[str, t.Any], tuple[str, ...]]] = [(root, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item.get("$ref"), str):
            continue
        if path and isinstance(item.get("$id", item.get("id")), str):
            msg = f"an $id inside a SCHEMA that uses $ref (at {place_of(path)})"
            raise SchemaReferenceError(msg)
        stack.extend(
            (value, (*path, str(key))) for key, value in item.items() if isinstance(value, dict)
        )


def _refuse_loops(nodes: dict[int, _Node], same_value: dict[int, list[int]]) -> None:
    """Depth-first over the same-value links: a link back into the path is a loop."""
    done: dict[int, int] = {}  # subschema -> how many it is checked against, itself included
    for start in nodes:
        if start in done:
            continue
        path = {start}
        stack = [(start, iter(same_value[start]))]
        while stack:
            key, links = stack[-1]
            link = next(links, None)
            if link is None:
                stack.pop()
                path.discard(key)
                done[key] = 1 + sum(done[other] for other in same_value[key])
                if done[key] > MAX_CHECKS_PER_VALUE:
                    msg = (
                        f"the subschemas at {nodes[key].place} check one value "
                        f"more than {MAX_CHECKS_PER_VALUE:,} times (allOf, anyOf, $ref, ...)"
                    )
                    raise SchemaReferenceError(msg)
            elif link in path:
                msg = f"a $ref loop through {nodes[key].place}: it would never end"
                raise SchemaReferenceError(msg)
            elif link not in done:
                path.add(link)
                stack.append((link, iter(same_value[link])))
