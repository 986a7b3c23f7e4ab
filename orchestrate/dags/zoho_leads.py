"""Airflow DAG: every hour, Meltano moves the new CDP events into Zoho CRM Leads."""

from __future__ import annotations

import datetime as dt
import os
import shlex
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

# This file lives at <project>/orchestrate/dags/; the Meltano project is <project>.
# A deployment that keeps DAGs elsewhere names the project and its meltano instead.
PROJECT_ROOT = Path(
    os.environ.get("ZOHO_LEADS_PROJECT_ROOT") or Path(__file__).resolve().parents[2]
)
MELTANO = os.environ.get("ZOHO_LEADS_MELTANO") or str(
    PROJECT_ROOT / ".venv-meltano" / "bin" / "meltano"
)
PIPELINE = "tap-jsonfile target-zoho-leads"

with DAG(
    dag_id="zoho_leads",
    description="CDP event files -> Zoho CRM Leads (meltano run " + PIPELINE + ")",
    schedule="@hourly",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    # Meltano's STATE says which files are new, so a missed hour needs no
    # backfill run of its own: the next run picks those files up.
    catchup=False,
    # Two runs at once would read the same new files before either stores its
    # STATE, and send their events twice.
    max_active_runs=1,
    default_args={
        # Zoho down for longer than the target's own retries: try again later.
        # A retry reads again the files that the last stored STATE does not list.
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=5),
        "retry_exponential_backoff": True,
        # The target's own timeouts and retries end a run long before this;
        # it only stops a hung run from holding the schedule.
        "execution_timeout": dt.timedelta(hours=2),
    },
    tags=["meltano", "zoho", "cdp"],
) as dag:
    BashOperator(
        task_id="meltano_run",
        # The worker's environment passes through: TARGET_ZOHO_LEADS_* credentials,
        # MELTANO_ENVIRONMENT, TAP_JSONFILE_PATHS.
        bash_command=f"{shlex.quote(MELTANO)} run {PIPELINE}",
        cwd=str(PROJECT_ROOT),
    )
