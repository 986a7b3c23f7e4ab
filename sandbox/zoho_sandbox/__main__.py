"""CLI: ``python -m zoho_sandbox --port N`` serves until a signal."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import typing as t

from zoho_sandbox import cli_variants
from zoho_sandbox.clock import ManualClock
from zoho_sandbox.core import ZohoSandbox

READY_LINE = "Zoho sandbox ready: accounts_url={url}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line.

    Args:
        argv: Arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        The parsed options.
    """
    parser = argparse.ArgumentParser(
        prog="python -m zoho_sandbox",
        description="Serve a local imitation of Zoho CRM (accounts and API) over HTTP.",
        epilog="Every knob (see zoho_sandbox.state.Knobs) can also be "
        "changed while serving: POST /__sandbox/config with a JSON object of knobs, "
        'e.g. {"lose_answers": ["POST /crm/v8/Leads#2"]}; GET /__sandbox/config '
        "shows them and GET /__sandbox/stats the counts. "
        'POST /__sandbox/clock {"advance": N} moves the sandbox\'s clock on N seconds: '
        "tokens age, mint windows and blocks, the search lag and Bulk Write job "
        "delays pass at once.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one")
    parser.add_argument("--latency-ms", type=float, default=0, help="delay per API call")
    parser.add_argument(
        "--fail-429",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls answered 429 TOO_MANY_REQUESTS",
    )
    parser.add_argument(
        "--fail-5xx",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls answered 500/502/503",
    )
    parser.add_argument(
        "--drop-before",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls dropped before any work",
    )
    parser.add_argument(
        "--drop-after",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls dropped after the work is done",
    )
    parser.add_argument(
        "--hang",
        type=float,
        default=0,
        metavar="RATE",
        help="share of API calls never answered",
    )
    parser.add_argument(
        "--hang-seconds",
        type=float,
        default=30,
        help="how long a hanging call holds the connection",
    )
    parser.add_argument(
        "--lose-answer",
        action="append",
        default=[],
        dest="lose_answers",
        metavar="'METHOD /crm/v8/PATH#N'",
        help="do the N-th handled call of that route, then hang up unanswered "
        "(e.g. 'POST /crm/v8/Leads#2'; repeatable)",
    )
    parser.add_argument(
        "--retry-after",
        type=float,
        default=None,
        help="seconds to put in Retry-After on 429 answers",
    )
    parser.add_argument(
        "--token-expiry-calls",
        type=int,
        default=0,
        metavar="N",
        help="an access token dies after N API calls (0: never)",
    )
    parser.add_argument(
        "--search-lag-seconds",
        type=float,
        default=0,
        help="how long new leads stay invisible to search",
    )
    parser.add_argument(
        "--org-concurrency",
        type=int,
        default=0,
        help="answer 429 beyond this many calls in flight (Zoho: 5-25 by edition; 0: no limit)",
    )
    parser.add_argument(
        "--sub-concurrency",
        type=int,
        default=10,
        help="answer 429 beyond this many COQL calls, or writes of more than 10 "
        "records, in flight (Zoho: 10; 0: no limit)",
    )
    parser.add_argument(
        "--token-limit",
        type=int,
        default=10,
        help="token mints allowed per window before Access Denied (Zoho: 10)",
    )
    parser.add_argument(
        "--token-window-seconds",
        type=float,
        default=600,
        help="the token-mint window (Zoho: 600)",
    )
    parser.add_argument(
        "--token-block-seconds",
        type=float,
        default=None,
        help="past the mint limit, block minting this long (default: until the "
        "oldest mint leaves the window)",
    )
    parser.add_argument(
        "--encrypted-field",
        action="append",
        default=[],
        dest="encrypted_fields",
        help="a field marked encrypted (crypt): COQL may only test it with is [not] null",
    )
    parser.add_argument(
        "--unique-field",
        action="append",
        default=[],
        dest="unique_fields",
        help="a field the org marks unique",
    )
    parser.add_argument(
        "--duplicate-check-preference",
        choices=["converted_records", "mapped_module_records"],
        default=None,
        help="Zoho's duplicate check preference for new leads: refuse one whose "
        "checked fields a converted lead (converted_records) or a Contact "
        "(mapped_module_records) already holds",
    )
    parser.add_argument(
        "--duplicate-check-field",
        action="append",
        default=None,
        dest="duplicate_check_fields",
        help="a field the duplicate check preference compares (default: Email and Phone)",
    )
    parser.add_argument(
        "--coql-case-sensitive",
        action="store_true",
        help="COQL compares text exactly (default: ignoring case)",
    )
    parser.add_argument(
        "--coql-shows-converted",
        action="store_true",
        help="COQL answers converted leads even when its where clause does not test "
        "Converted__s (default: it leaves them out, as Zoho was seen to)",
    )
    parser.add_argument(
        "--no-contacts-scope",
        action="store_true",
        help="tokens lack ZohoCRM.modules.contacts.READ: Contacts calls answer "
        "OAUTH_SCOPE_MISMATCH",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed for faults")
    parser.add_argument(
        "--manual-clock",
        action="store_true",
        help="the sandbox's clock stands still but for POST /__sandbox/clock "
        '{"advance": N} (default: real time, which that call skips ahead)',
    )
    parser.add_argument(
        "--no-coql-scope",
        action="store_true",
        help="answer COQL calls with OAUTH_SCOPE_MISMATCH",
    )
    cli_variants.add_options(parser)
    return parser.parse_args(argv)


def knobs_from(args: argparse.Namespace) -> dict[str, t.Any]:
    """The sandbox knobs the options ask for."""
    return {
        "latency_ms": args.latency_ms,
        "fail_429_rate": args.fail_429,
        "fail_5xx_rate": args.fail_5xx,
        "drop_before_rate": args.drop_before,
        "drop_after_rate": args.drop_after,
        "hang_rate": args.hang,
        "hang_seconds": args.hang_seconds,
        "lose_answers": args.lose_answers,
        "retry_after": args.retry_after,
        "token_expiry_calls": args.token_expiry_calls,
        "search_lag_seconds": args.search_lag_seconds,
        "org_concurrency": args.org_concurrency,
        "sub_concurrency": args.sub_concurrency,
        "token_limit": args.token_limit,
        "token_window_seconds": args.token_window_seconds,
        "token_block_seconds": args.token_block_seconds,
        "encrypted_fields": args.encrypted_fields,
        "unique_fields": args.unique_fields,
        "seed": args.seed,
        "coql_scope": not args.no_coql_scope,
        "contacts_scope": not args.no_contacts_scope,
        "coql_case_sensitive": args.coql_case_sensitive,
        "coql_hides_converted": not args.coql_shows_converted,
        "duplicate_check_preference": args.duplicate_check_preference,
        "duplicate_check_fields": args.duplicate_check_fields or ["Email", "Phone"],
        **cli_variants.knobs_from(args),
    }


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM, then stop cleanly.

    Args:
        argv: Arguments after the program name.

    Returns:
        The exit status: 0.
    """
    args = parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    clock = ManualClock() if args.manual_clock else None
    with ZohoSandbox(args.host, args.port, clock=clock, **knobs_from(args)) as sandbox:
        sys.stdout.write(READY_LINE.format(url=sandbox.url) + "\n")
        sys.stdout.flush()
        # wait() with a timeout keeps the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
