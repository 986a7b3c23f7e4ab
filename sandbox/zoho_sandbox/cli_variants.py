"""CLI options for the readings Zoho's docs leave open (``zoho_sandbox.bulk_variants``)."""

from __future__ import annotations

import typing as t

from zoho_sandbox.bulk_variants import ID_COLUMNS, ORDERS, STATUS_CASES

if t.TYPE_CHECKING:
    import argparse


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add the Bulk Write and mint-block reading options to ``parser``."""
    group = parser.add_argument_group(
        "readings Zoho's docs leave open",
        "Bulk Write and the token mint answer each way (defaults: as before).",
    )
    group.add_argument(
        "--bulk-job-seconds",
        type=float,
        default=0,
        help="how long a Bulk Write job stays ADDED / IN PROGRESS before it runs",
    )
    group.add_argument(
        "--bulk-result-id-column",
        choices=ID_COLUMNS,
        default="RECORD_ID",
        help="the result CSV's id column (Zoho's Download Result page names both)",
    )
    group.add_argument(
        "--bulk-result-status-case",
        choices=STATUS_CASES,
        default="upper",
        help="the result rows' status case: ADDED, added or Added",
    )
    group.add_argument(
        "--bulk-result-order",
        choices=ORDERS,
        default="input",
        help="the result rows' order (shuffled: by --seed and the job id)",
    )
    group.add_argument(
        "--bulk-fail-after-write",
        type=int,
        default=0,
        metavar="N",
        help="the next N jobs write their rows, then report FAILED with no result link",
    )
    group.add_argument(
        "--bulk-lose-create-answer",
        type=int,
        default=0,
        metavar="N",
        help="the N-th job created is queued and will run, but its create answer is "
        "hung up on (0: never)",
    )
    group.add_argument(
        "--bulk-download-origin",
        default=None,
        metavar="other|URL",
        help="result links name another origin: 'other' serves them on a second "
        "loopback port that logs whether a token came; a URL is named and not served",
    )
    group.add_argument(
        "--mint-block-status",
        type=int,
        choices=(400, 200),
        default=400,
        help="HTTP status of the token mint's Access Denied answer (Zoho's Kaizen #43: 200)",
    )


def knobs_from(args: argparse.Namespace) -> dict[str, t.Any]:
    """The knobs those options ask for."""
    names = (
        "bulk_job_seconds",
        "bulk_result_id_column",
        "bulk_result_status_case",
        "bulk_result_order",
        "bulk_fail_after_write",
        "bulk_lose_create_answer",
        "bulk_download_origin",
        "mint_block_status",
    )
    return {name: getattr(args, name) for name in names}
