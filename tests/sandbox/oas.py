"""Zoho's official OpenAPI v8 files as JSON Schemas, for validating bodies in tests.

The OAS directory comes from ``ZOHO_OAS_DIR`` or ``<repo>/../shared/zoho-oas/v8.0``;
a test that needs it is skipped when it is absent. Cross-file ``$ref``s point at
``https://raw.githubusercontent.com/.../v8.0/<file>.json``: they are served from
the local file of the same name.

Two adaptations, both for the OAS files' sake rather than the sandbox's:

- OpenAPI 3.0's ``nullable: true`` becomes a JSON Schema ``null`` type.
- ``oneOf`` is relaxed. Zoho's schemas have almost no ``required`` keys, so
  their alternatives overlap (``{"data": [...]}`` also matches
  ``API_Exception``, which requires nothing) and strict ``oneOf`` would reject
  every answer, Zoho's own examples included. Plain ``anyOf`` would be too
  lax, letting any ``{"data": ...}`` pass as an ``API_Exception``. So an
  object is checked against the alternatives that declare all of its keys
  (falling back to all of them), and must match at least one.

Typical use::

    validate(body, response_schema("record.json", "/crm/v8/{module_api_name}",
                                   "post", 201))
"""

from __future__ import annotations

import functools
import json
import os
import typing as t
from pathlib import Path

import jsonschema
import pytest
import referencing
import referencing.jsonschema

BASE_URI = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
REPO_ROOT = Path(__file__).resolve().parents[2]

DECLARED = "x-declared-properties"


def _relaxed_one_of(
    validator: t.Any,
    alternatives: list[t.Any],
    instance: t.Any,
    schema: t.Any,
) -> t.Iterator[jsonschema.ValidationError]:
    """``oneOf`` as "any of the alternatives that declare every key of the object"."""
    if isinstance(instance, dict):
        fitting = [
            alt
            for alt in alternatives
            if alt.get(DECLARED) is None or set(instance) <= set(alt[DECLARED])
        ]
        alternatives = fitting or alternatives
    yield from jsonschema.Draft4Validator.VALIDATORS["anyOf"](
        validator, alternatives, instance, schema
    )


Validator = jsonschema.validators.extend(
    jsonschema.Draft4Validator, validators={"oneOf": _relaxed_one_of}
)


def oas_dir() -> Path:
    """The directory of the OAS files; skips the calling test when it is missing."""
    configured = os.environ.get("ZOHO_OAS_DIR")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared/zoho-oas/v8.0"
    if not (path / "record.json").is_file():
        pytest.skip(f"Zoho OAS files not found in {path} (set ZOHO_OAS_DIR)")
    return path


def _resolve(node: dict[str, t.Any], file: str) -> dict[str, t.Any]:
    """Follow ``$ref``s (local or to a sibling file) to the schema they name."""
    while "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        file = target.rsplit("/", 1)[-1] or file
        node = load_oas(file)
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _adapt(node: t.Any, file: str) -> t.Any:
    """Turn ``nullable`` into a null type and label ``oneOf`` alternatives' keys."""
    if isinstance(node, list):
        return [_adapt(item, file) for item in node]
    if not isinstance(node, dict):
        return node
    result = {
        key: _adapt(value, file)
        for key, value in node.items()
        if not (key == "nullable" and isinstance(value, bool))
    }
    if node.get("nullable") is True and "type" in result:
        result["type"] = [result["type"], "null"]
        if "enum" in result:
            result["enum"] = [*result["enum"], None]
    if isinstance(node.get("oneOf"), list):
        alternatives = []
        for original, adapted in zip(node["oneOf"], result["oneOf"], strict=True):
            properties = _resolve(original, file).get("properties")
            alternatives.append(
                {
                    "allOf": [adapted],
                    DECLARED: sorted(properties) if properties else None,
                }
            )
        result["oneOf"] = alternatives
    return result


@functools.cache
def load_oas(name: str) -> dict[str, t.Any]:
    """One OAS document as published (``nullable`` untouched).

    Args:
        name: The file name, e.g. ``record.json``.

    Returns:
        The parsed document.
    """
    return json.loads((oas_dir() / name).read_text(encoding="utf-8"))


def _retrieve(uri: str) -> referencing.Resource[t.Any]:
    """Serve a ``.../v8.0/<file>.json`` URI from the local OAS directory."""
    name = uri.rsplit("/", 1)[-1]
    contents = _adapt(load_oas(name), name)
    return referencing.Resource.from_contents(
        contents, default_specification=referencing.jsonschema.DRAFT4
    )


@functools.cache
def registry() -> referencing.Registry[t.Any]:
    """A registry resolving the OAS files' cross-file references locally."""
    return referencing.Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def _pointer(*parts: str) -> str:
    """A JSON pointer from raw keys (``/`` and ``~`` escaped)."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _operation(file: str, path: str, method: str) -> dict[str, t.Any]:
    return load_oas(file)["paths"][path][method.lower()]


def response_schema(
    file: str, path: str, method: str, status: int | str
) -> dict[str, t.Any] | None:
    """The schema of an operation's JSON answer for one status.

    Zoho's ``record.json`` documents every answer of a write under ``200``
    although the API answers 201, 207 or 400 with those same bodies; when an
    operation documents only ``200``, that schema stands for any status.

    Args:
        file: The OAS file, e.g. ``coql.json``.
        path: The OAS path key, e.g. ``/crm/v8/coql``.
        method: The HTTP method.
        status: The HTTP status answered.

    Returns:
        A schema (a ``$ref`` into the file, to validate with :func:`validate`),
        or None when that status has no body (a 204).

    Raises:
        KeyError: The operation does not document that status.
    """
    responses = _operation(file, path, method)["responses"]
    code = str(status)
    if code not in responses and set(responses) == {"200"}:
        code = "200"
    response = responses[code]
    pointer = _pointer("paths", path, method.lower(), "responses", code)
    if "$ref" in response:
        pointer = response["$ref"].lstrip("#")
        response = load_oas(file)
        for part in pointer.strip("/").split("/"):
            response = response[part.replace("~1", "/").replace("~0", "~")]
    if "content" not in response:
        return None
    return {"$ref": f"{BASE_URI}{file}#{pointer}/content/application~1json/schema"}


def request_schema(file: str, path: str, method: str) -> dict[str, t.Any]:
    """The schema of an operation's JSON request body.

    Args:
        file: The OAS file, e.g. ``record.json``.
        path: The OAS path key.
        method: The HTTP method.

    Returns:
        A schema to validate with :func:`validate`.
    """
    _operation(file, path, method)["requestBody"]
    pointer = _pointer(
        "paths",
        path,
        method.lower(),
        "requestBody",
        "content",
        "application/json",
        "schema",
    )
    return {"$ref": f"{BASE_URI}{file}#{pointer}"}


def validate(instance: t.Any, schema: dict[str, t.Any]) -> None:
    """Validate a JSON value against an OAS schema from this module.

    Args:
        instance: The decoded body.
        schema: From :func:`response_schema` or :func:`request_schema`.

    Raises:
        jsonschema.ValidationError: The body does not conform.
    """
    Validator(schema, registry=registry()).validate(instance)
