"""The real pipelines: Meltano runs tap-jsonfile into the target, Airflow runs Meltano.

Meltano and Airflow live in virtualenvs of their own, built from the lock files in
orchestrate/requirements by ``make meltano-env`` and ``make airflow-env``. ``make
test`` builds both first; the fixtures call the same targets, so this file also runs
on its own. The tools are not importable from ``.venv``: these tests drive their
command lines, as users do. Meltano's home (plugin virtualenvs, system database) is
in temporary folders, so a developer's own ``.meltano/`` is never touched. The
target runs as Meltano's subprocess against a sandbox served from this process.

A tool that does not install fails these tests; nothing here is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import typing as t

import pytest
from zoho_sandbox import ZohoSandbox

from tests.conftest import ROOT, target_command
from tests.support.scripted_server import Reply, Request, ScriptedServer

# One xdist group, so one worker: its session fixtures build the Meltano and
# Airflow virtualenvs with make, which two workers at once would race on.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pipelines")]

if t.TYPE_CHECKING:
    from pathlib import Path

MELTANO = ROOT / ".venv-meltano" / "bin" / "meltano"
AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAG_REPORT = ROOT / "tests" / "pipelines" / "dag_report.py"
PIPELINE = ["tap-jsonfile", "target-zoho-leads"]
STATE_ID = "dev:tap-jsonfile-to-target-zoho-leads"
SAMPLE = ROOT / "sample" / "cdp_events.jsonl"
# The README's sandbox address; tests put their own sandbox's there (8765 may be taken).
README_SANDBOX = "http://127.0.0.1:8765"
# Generous: a cold `meltano install` or Airflow's first start on a busy 2-core machine.
TOOL_TIMEOUT = 600
# A failed DAG run does not end `airflow dags test`: it waits out the task's retries
# (5 and 10 minutes). Stop well before, so a failure shows its log in minutes.
AIRFLOW_RUN_TIMEOUT = 300

# What sample/cdp_events.jsonl becomes, in order: (CDP_ID, Last_Name, Email, Phone).
# e009 (malformed email and phone) is rejected; e003's blank name takes the default.
SAMPLE_LEADS = [
    ("anon-7f3a9c01", "Li Wei", "li.wei@example.com", "+86 138 0013 8001"),
    ("anon-7f3a9c02", "Maria Garcia", "maria.garcia@example.org", "+34 612 345 678"),
    ("anon-7f3a9c03", "CDP visitor", "no-name@example.net", "+1 (415) 555-0134"),
    ("wx-oA1b2C3d4", "Zhang Min", None, "13900139004"),
    ("wx-oA1b2C3d5", "Chen Jie", "chen.jie@example.cn", "13900139005"),
    ("ad-clue-90001", "Wang Fang", None, "18600001111"),
    ("ad-clue-90002", "Liu Yang", None, "18600002222"),
    ("anon-7f3a9c08", "CDP visitor", "reader@example.com", None),
    ("anon-7f3a9c10", "CDP visitor", None, None),
]
SAMPLE_SUMMARY = (
    "10 records read, 9 leads created, 0 updated, 0 unchanged duplicates, 1 rejected, 1 API calls"
)
NEW_EVENTS = [
    {
        "event_id": "e011",
        "anonymous_id": "anon-new-0011",
        "event": "form_submit",
        "name": "Ana Souza",
        "email": "ana.souza@example.com.br",
        "properties": {"url": "https://example.com/demo", "area": "Recife"},
    },
    {
        "event_id": "e012",
        "anonymous_id": "wx-new-0012",
        "event": "wechat_form",
        "name": "Huang Lei",
        "wxPhone": "13900139012",
        "properties": '{"area": "Chengdu"}',
    },
]
NEW_LEADS = [
    ("anon-new-0011", "Ana Souza", "ana.souza@example.com.br", None),
    ("wx-new-0012", "Huang Lei", None, "13900139012"),
]


def run(
    command: list[str], env: dict[str, str], timeout: float = TOOL_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run one tool command in the project folder to its end, capturing its output."""
    try:
        return subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        parts = (expired.stdout, expired.stderr)
        output = "".join(
            p.decode(errors="replace") if isinstance(p, bytes) else p or "" for p in parts
        )
        pytest.fail(f"{command} still running after {timeout} s:\n{output[-6000:]}")


def succeed(command: list[str], env: dict[str, str], timeout: float = TOOL_TIMEOUT) -> str:
    """Run a command that must exit 0; return its stdout and stderr together."""
    done = run(command, env, timeout)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{output[-6000:]}"
    return output


def make(target: str) -> None:
    """Build a tool virtualenv through the Makefile; fail loudly if it cannot."""
    done = run(["make", "--no-print-directory", target], dict(os.environ))
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-6000:]
        pytest.fail(f"`make {target}` failed, the pipeline cannot be tested:\n{output}")


def tool_env(**settings: str) -> dict[str, str]:
    """Environment less Meltano, Airflow, tap and target settings; plus ``settings``."""
    prefixes = ("TARGET_ZOHO_LEADS_", "TAP_JSONFILE_", "MELTANO_", "AIRFLOW")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(prefixes) and key != "VIRTUAL_ENV"
    }
    return {**env, "MELTANO_CLI_DISABLE_VERSION_CHECK": "true", **settings}


def without_pipeline_settings(env: dict[str, str]) -> dict[str, str]:
    """``env`` less the credentials and paths, which a README block sets itself.

    The rejected-records file stays pointed at the test's folder, not output/.
    """
    kept = {
        key: value
        for key, value in env.items()
        if not key.startswith(("TAP_JSONFILE_", "TARGET_ZOHO_LEADS_"))
    }
    rejected = "TARGET_ZOHO_LEADS_REJECTED_RECORDS_PATH"
    return {**kept, rejected: env[rejected]}


def lead_rows(sandbox: ZohoSandbox) -> list[tuple]:
    """The sandbox's leads as (CDP_ID, Last_Name, Email, Phone), in insertion order."""
    fields = ("CDP_ID", "Last_Name", "Email", "Phone")
    return [tuple(lead.get(field) for field in fields) for lead in sandbox.leads()]


def inserted_ids(requests: list[dict]) -> list[str]:
    """The CDP_ID of every lead sent in these insert calls."""
    return [
        lead["CDP_ID"]
        for request in requests
        if request["method"] == "POST" and request["path"].endswith("/Leads")
        for lead in request["json"]["data"]
    ]


def summary(output: str) -> str:
    """The target's last summary of the cdp_events stream in a Meltano/Airflow log."""
    found = re.findall(r"Stream 'cdp_events': (\d+ records read, .*? API calls)", output)
    assert found, f"no summary line in:\n{output[-4000:]}"
    return found[-1]


def stored_files(env: dict[str, str]) -> list[str]:
    """The files in the STATE Meltano keeps for the pipeline (`meltano state get`)."""
    done = run([str(MELTANO), "state", "get", STATE_ID], env)
    assert done.returncode == 0, done.stderr[-4000:]
    state = json.loads(done.stdout)
    return sorted(state["singer_state"]["bookmarks"]["cdp_events"]["file_hashes"])


@pytest.fixture(scope="session")
def meltano_home(tmp_path_factory) -> Path:
    """A Meltano home with the plugins `meltano install` put there, for the session."""
    make("meltano-env")
    home = tmp_path_factory.mktemp("meltano-home")
    output = succeed([str(MELTANO), "install"], tool_env(MELTANO_SYS_DIR_ROOT=str(home)))
    assert "Installed 2/2 plugins" in output
    return home


@pytest.fixture(scope="session")
def airflow_venv() -> Path:
    """The Airflow virtualenv's Python, built once."""
    make("airflow-env")
    return AIRFLOW_PYTHON


@pytest.fixture
def sandbox():
    """A fresh Zoho sandbox on loopback."""
    with ZohoSandbox() as zoho:
        yield zoho


@pytest.fixture
def inbox(tmp_path) -> Path:
    """A folder of CDP export files holding a copy of the sample."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "2026-11-28.jsonl")
    return folder


@pytest.fixture
def pipeline_env(sandbox, inbox, meltano_home, tmp_path) -> dict[str, str]:
    """What a deployment gives Meltano: credentials and where the files are.

    Each test has a system database of its own (so its STATE starts empty) and
    shares the installed plugins.
    """
    return tool_env(
        MELTANO_SYS_DIR_ROOT=str(meltano_home),
        MELTANO_DATABASE_URI=f"sqlite:///{tmp_path / 'meltano.db'}",
        TARGET_ZOHO_LEADS_CLIENT_ID=sandbox.client_id,
        TARGET_ZOHO_LEADS_CLIENT_SECRET=sandbox.client_secret,
        TARGET_ZOHO_LEADS_REFRESH_TOKEN=sandbox.refresh_token,
        TARGET_ZOHO_LEADS_ACCOUNTS_URL=sandbox.accounts_url,
        TARGET_ZOHO_LEADS_REJECTED_RECORDS_PATH=str(tmp_path / "rejected.jsonl"),
        TAP_JSONFILE_PATHS=json.dumps([str(inbox / "*.jsonl")]),
    )


# --- Meltano -------------------------------------------------------------------------


def test_meltano_moves_the_sample_into_zoho_and_stores_the_state(
    sandbox, inbox, pipeline_env, tmp_path
):
    """`meltano run` writes the sample's leads, and Meltano keeps the tap's STATE."""
    output = succeed([str(MELTANO), "run", *PIPELINE], pipeline_env)

    assert lead_rows(sandbox) == SAMPLE_LEADS
    assert summary(output) == SAMPLE_SUMMARY
    rejected = (tmp_path / "rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["record"]["event_id"] for line in rejected] == ["e009"]
    listed = run([str(MELTANO), "state", "list"], pipeline_env).stdout.split()
    assert listed == [STATE_ID]
    assert stored_files(pipeline_env) == [str(inbox / "2026-11-28.jsonl")]


def test_a_second_meltano_run_sends_only_the_new_file(sandbox, inbox, pipeline_env):
    """From the first run's STATE, the next run skips the old file and sends the new."""
    succeed([str(MELTANO), "run", *PIPELINE], pipeline_env)
    calls_before = len(sandbox.requests())
    new_file = inbox / "2026-11-29.jsonl"
    new_file.write_text("".join(json.dumps(event) + "\n" for event in NEW_EVENTS))

    output = succeed([str(MELTANO), "run", *PIPELINE], pipeline_env)

    assert "Skipped 1 unchanged files" in output
    assert summary(output).startswith("2 records read, 2 leads created, 0 updated")
    sent = inserted_ids(sandbox.requests()[calls_before:])
    assert sent == ["anon-new-0011", "wx-new-0012"]
    assert lead_rows(sandbox) == SAMPLE_LEADS + NEW_LEADS
    assert stored_files(pipeline_env) == [
        str(inbox / "2026-11-28.jsonl"),
        str(new_file),
    ]


# --- The README's commands -----------------------------------------------------------


# Which doc holds each block: the walkthroughs live beside the pipelines they run.
BLOCK_DOCS = {
    "meltano-tryout": "orchestrate/README.md",
    "airflow-tryout": "orchestrate/README.md",
    "troubleshooting": "README.md",
}


def readme_section(name: str) -> str:
    """The text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in its doc."""
    doc = BLOCK_DOCS[name]
    text = (ROOT / doc).read_text()
    found = re.search(rf"<!-- {name}:start -->(.*?)<!-- {name}:end -->", text, re.DOTALL)
    assert found, f"{doc} lacks the {name} block"
    return found.group(1)


def code_blocks(text: str, *languages: str) -> list[str]:
    """The fenced code blocks of ``text`` written in one of ``languages``."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", text, re.DOTALL)
    return [body for language, body in blocks if language in languages]


def readme_script(name: str, sandbox: ZohoSandbox) -> str:
    """The bash commands of a README block, aimed at ``sandbox``."""
    blocks = code_blocks(readme_section(name), "bash")
    assert blocks, f"the {name} block of {BLOCK_DOCS[name]} has no bash code"
    return "\n".join(blocks).replace(README_SANDBOX, sandbox.url)


def shown_output(name: str) -> list[re.Pattern[str]]:
    """The output lines a README block shows, as patterns where ``...`` is anything."""
    blocks = code_blocks(readme_section(name), "text", "json")
    lines = [line for block in blocks for line in block.splitlines() if line.strip()]
    return [re.compile(".*?".join(map(re.escape, line.split("...")))) for line in lines]


def test_the_readme_meltano_commands_load_the_sample_and_a_rerun_sends_nothing(
    sandbox, pipeline_env
):
    """The README's Meltano commands print what it shows and fill the sandbox.

    Only the sandbox's address changes; the sample path and the credentials are
    the README's own.
    """
    script = readme_script("meltano-tryout", sandbox)

    output = succeed(["bash", "-e", "-c", script], without_pipeline_settings(pipeline_env))

    assert lead_rows(sandbox) == SAMPLE_LEADS
    assert '"CDP_ID": "anon-7f3a9c01"' in output, "the README's curl shows the leads"
    for pattern in shown_output("meltano-tryout"):
        assert pattern.search(output), f"the README shows {pattern.pattern!r}"
    assert "Skipped 1 unchanged files" in output
    assert summary(output).startswith("0 records read, 0 leads created")
    assert stored_files(pipeline_env) == [str(SAMPLE)]


def test_the_jsonl_sample_holds_the_records_of_the_singer_sample():
    """The tap's sample/cdp_events.jsonl holds the records of the .singer sample."""
    singer = (ROOT / "sample" / "cdp_events.singer").read_text().splitlines()
    messages = [json.loads(line) for line in singer if line.strip()]
    events = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    assert events == [m["record"] for m in messages if m["type"] == "RECORD"]


# --- Airflow -------------------------------------------------------------------------


def test_airflow_loads_the_dag_hourly_with_retries_and_no_overlap(airflow_venv, tmp_path):
    """Airflow's DagBag imports the DAG: hourly, one run at a time, one retried task."""
    dags_folder = str(ROOT / "orchestrate" / "dags")
    env = tool_env(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    report_path = tmp_path / "dagbag.json"

    succeed([str(airflow_venv), str(DAG_REPORT), dags_folder, str(report_path)], env)

    report = json.loads(report_path.read_text())
    assert report["import_errors"] == {}
    assert list(report["dags"]) == ["zoho_leads"]
    dag = report["dags"]["zoho_leads"]
    assert (dag["schedule"], dag["catchup"], dag["max_active_runs"]) == (
        "@hourly",
        False,
        1,
    )
    assert list(dag["tasks"]) == ["meltano_run"]
    task = dag["tasks"]["meltano_run"]
    assert task["operator"] == "BashOperator"
    assert (task["retries"], task["retry_delay_seconds"]) == (2, 300)
    assert task["bash_command"] == f"{MELTANO} run tap-jsonfile target-zoho-leads"
    assert task["cwd"] == str(ROOT)


@pytest.mark.usefixtures("airflow_venv")
def test_the_readme_airflow_commands_run_the_dag_into_zoho(sandbox, pipeline_env, tmp_path):
    """The README's Airflow commands: `airflow dags test` runs Meltano, tap and target.

    A throwaway AIRFLOW_HOME with a SQLite metadata database, no scheduler. Only the
    sandbox's address changes.
    """
    # The README's `mktemp -d` makes the Airflow home; keep it in the test's folder.
    env = {**without_pipeline_settings(pipeline_env), "TMPDIR": str(tmp_path)}

    script = readme_script("airflow-tryout", sandbox)

    output = succeed(["bash", "-e", "-c", script], env, AIRFLOW_RUN_TIMEOUT)

    finished = re.search(r"DagRun Finished: dag_id=zoho_leads, .*state=(\w+)", output)
    assert finished, output[-4000:]
    assert finished.group(1) == "success"
    assert "Command exited with return code 0" in output
    assert summary(output) == SAMPLE_SUMMARY
    assert lead_rows(sandbox) == SAMPLE_LEADS
    assert stored_files(pipeline_env) == [str(SAMPLE)]


# --- The README's troubleshooting ----------------------------------------------------

# The sandbox answers on 127.0.0.1; the README shows the US data centre there.
SANDBOX_HOST, README_HOST = "at 127.0.0.1 (", "at accounts.zoho.com (US data centre) ("
LOG_LINE = re.compile(r"^\S+ \S+ \| (?P<level>[A-Z]+)\s*\| \S+\s*\| (?P<message>.*)$")
# Each failure the README quotes: settings over sample_config.json, sandbox knobs.
FAILURES = {
    "wrong refresh token": ({"refresh_token": "1000.from-another-dc"}, {}),
    "wrong client": ({"client_id": "1000.from-another-dc"}, {}),
    "token throttle": ({"token_wait_max": 1}, {"token_limit": 0}),
    "no COQL scope": ({"unique_lead": True}, {"coql_scope": False}),
    "no Last_Name default": ({"default_values": "Lead_Source=CDP"}, {}),
    "invalid values": ({}, {}),
    "invalid values dropped": ({"invalid_value_policy": "drop_field"}, {}),
}


class ScopeMismatchZoho(ScriptedServer):
    """A Zoho whose token lacks the CRM scopes (the sandbox only takes COQL's away)."""

    def answer(self, request: Request) -> Reply:
        """Mint a token, then answer every API call OAUTH_SCOPE_MISMATCH as Zoho does."""
        if request.path.startswith("/oauth/v2/token"):
            token = {"access_token": "1000.t", "api_domain": self.url}
            return Reply(200, {**token, "expires_in": 3600}, JSON)
        message = "invalid oauth scope to access this URL"
        error = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "status": "error"}
        return Reply(401, {**error, "message": message}, JSON)


JSON = {"Content-Type": "application/json"}


def printed_lines(settings: dict, tmp_path: Path) -> set[str]:
    """Run the real target on the Singer sample; return its ``LEVEL | message``s."""
    config = json.loads((ROOT / "sample_config.json").read_text())
    config.update(rejected_records_path=str(tmp_path / "rejected.jsonl"), **settings)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    # Shortens the first backoff step only: the throttle's eight tries take a second.
    env = {**os.environ, "TARGET_ZOHO_LEADS_BACKOFF_BASE": "0.01"}
    with (ROOT / "sample" / "cdp_events.singer").open() as events:
        done = subprocess.run(
            [*target_command(), "--config", str(config_path)],
            stdin=events,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
    found = (LOG_LINE.match(line) for line in done.stderr.splitlines())
    lines = (f"{m['level']} | {m['message']}" for m in found if m)
    return {line.replace(SANDBOX_HOST, README_HOST) for line in lines}


def test_the_readme_troubleshooting_quotes_are_what_the_target_prints(tmp_path):
    """Every log line the README's Troubleshooting quotes is one the target prints."""
    printed: set[str] = set()
    for settings, knobs in FAILURES.values():
        with ZohoSandbox() as zoho:
            zoho.configure(**knobs)
            credentials = {
                "accounts_url": zoho.accounts_url,
                "client_id": zoho.client_id,
                "client_secret": zoho.client_secret,
                "refresh_token": zoho.refresh_token,
            }
            printed |= printed_lines({**credentials, **settings}, tmp_path)
    with ScopeMismatchZoho() as server:
        printed |= printed_lines({"accounts_url": server.url}, tmp_path)

    blocks = code_blocks(readme_section("troubleshooting"), "text")
    quoted = [line for block in blocks for line in block.splitlines()]
    assert len(quoted) == 8
    missing = [line for line in quoted if line not in printed]
    assert not missing, "\n".join(["not printed:", *missing, "printed:", *sorted(printed)])
