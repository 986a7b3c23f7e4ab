"""The ``/__sandbox/...`` endpoints through which another process drives the sandbox."""

from __future__ import annotations

import dataclasses
import json
import typing as t

from zoho_sandbox.routing import Answer

if t.TYPE_CHECKING:
    from zoho_sandbox.core import ZohoSandbox


def _error(status: int, message: str) -> Answer:
    return Answer(status, {"error": message})


def _reset(sandbox: ZohoSandbox, _payload: object) -> Answer:
    sandbox.reset()
    return Answer(200, {"ok": True})


def _seed(sandbox: ZohoSandbox, payload: object) -> Answer:
    if not isinstance(payload, list) or not all(isinstance(x, dict) for x in payload):
        return _error(400, "send a JSON list of lead objects")
    return Answer(200, {"ids": sandbox.seed(payload)})


def _seed_contacts(sandbox: ZohoSandbox, payload: object) -> Answer:
    if not isinstance(payload, list) or not all(isinstance(x, dict) for x in payload):
        return _error(400, "send a JSON list of contact objects")
    return Answer(200, {"ids": sandbox.seed_contacts(payload)})


def _convert(sandbox: ZohoSandbox, payload: object) -> Answer:
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        return _error(400, 'send {"id": "<lead id>"}')
    try:
        contact_id = sandbox.convert_lead(payload["id"])
    except KeyError:
        return _error(404, "no lead has that id")
    return Answer(200, {"contact_id": contact_id})


def _configure(sandbox: ZohoSandbox, payload: object) -> Answer:
    if not isinstance(payload, dict):
        return _error(400, "send a JSON object of knobs")
    try:
        sandbox.configure(**payload)
    except ValueError as error:
        return _error(400, str(error))
    return Answer(200, {"ok": True, "config": dataclasses.asdict(sandbox.knobs)})


def _block_tokens(sandbox: ZohoSandbox, payload: object) -> Answer:
    seconds = payload.get("seconds") if isinstance(payload, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return _error(400, 'send {"seconds": N}')
    sandbox.block_tokens(seconds)
    return Answer(200, {"ok": True})


def _advance_clock(sandbox: ZohoSandbox, payload: object) -> Answer:
    seconds = payload.get("advance") if isinstance(payload, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return _error(400, 'send {"advance": N} with N seconds, not negative')
    sandbox.advance_clock(seconds)
    return Answer(200, {"ok": True, "time": sandbox.clock.time()})


WRITERS: dict[str, t.Callable[[ZohoSandbox, object], Answer]] = {
    "reset": _reset,
    "leads": _seed,
    "contacts": _seed_contacts,
    "convert": _convert,
    "token_block": _block_tokens,
    "clock": _advance_clock,
    "config": _configure,
}


def admin_answer(sandbox: ZohoSandbox, method: str, path: str, body: bytes) -> Answer:
    """Answer one admin call; these are neither counted nor logged nor faulted.

    Args:
        sandbox: The sandbox to read or drive.
        method: The HTTP method.
        path: The URL path, starting with ``/__sandbox/``.
        body: The raw request body (JSON for the POST endpoints).

    Returns:
        The answer to send.
    """
    name = path.removeprefix("/__sandbox/").strip("/")
    readers: dict[str, t.Callable[[], t.Any]] = {
        "leads": sandbox.leads,
        "contacts": sandbox.contacts,
        "stats": sandbox.stats,
        "requests": sandbox.requests,
        "tokens": sandbox.minted_tokens,
        "config": lambda: dataclasses.asdict(sandbox.knobs),
    }
    if method == "GET" and name in readers:
        return Answer(200, readers[name]())
    if method != "POST" or name not in WRITERS:
        return _error(404, f"no sandbox endpoint {method} {path}")
    try:
        payload = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return _error(400, "the body is not JSON")
    return WRITERS[name](sandbox, payload)
