"""Load a DAG folder with Airflow's own DagBag and report what it holds, as JSON.

Run by the Airflow virtualenv's Python, not by pytest's:
``.venv-airflow/bin/python tests/pipelines/dag_report.py DAG_FOLDER REPORT.json``.
Airflow logs to stdout, so the report goes to a file of its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag


def describe(dag: object) -> dict:
    """What the pipeline tests check about one DAG."""
    return {
        "schedule": str(dag.schedule),
        "timetable": type(dag.timetable).__name__,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tasks": {
            task.task_id: {
                "operator": type(task).__name__,
                "retries": task.retries,
                "retry_delay_seconds": task.retry_delay.total_seconds(),
                "execution_timeout_seconds": task.execution_timeout.total_seconds()
                if task.execution_timeout
                else None,
                "bash_command": getattr(task, "bash_command", None),
                "cwd": getattr(task, "cwd", None),
            }
            for task in dag.tasks
        },
    }


def main(dag_folder: str, report_path: str) -> None:
    """Fill a DagBag from ``dag_folder`` and write what it holds to ``report_path``."""
    bag = DagBag(dag_folder=dag_folder)
    report = {
        "import_errors": {str(path): str(error) for path, error in bag.import_errors.items()},
        "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()},
    }
    Path(report_path).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
