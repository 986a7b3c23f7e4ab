"""The real ``target-zoho-leads`` command over real HTTP against the Zoho sandbox."""

from __future__ import annotations

import json
import os
import stat
import subprocess

from tests.conftest import SEED_DEFAULTS, SEED_MAPPING, singer_lines, target_command

CDP_EVENTS = [
    {
        "anonymous_id": "ad-1",
        "event": "ad_lead",
        "adUcName": "Wang Fang",
        "cluePhoneNumber": "18600001111",
    },
    {
        "anonymous_id": "ad-2",
        "event": "ad_lead",
        "adUcName": "Liu Yang",
        "cluePhoneNumber": "18600002222",
        "properties": {"area": "Hangzhou"},
    },
    {"anonymous_id": "ad-3", "event": "ad_lead", "adUcName": "  ", "cluePhoneNumber": ""},
]


def stored(sandbox, *fields):
    """The sandbox's leads, reduced to ``fields``."""
    return [{f: lead[f] for f in fields if f in lead} for lead in sandbox.leads()]


def test_the_seed_mapping_yields_exactly_the_expected_leads(sandbox, config, run_target):
    """The CDP help page's own mapping, verbatim, with a Last_Name default."""
    config.update(field_mapping=SEED_MAPPING, default_values="Last_Name=CDP Lead,Phone=18600000000")
    run = run_target(config, singer_lines("cdp_events", CDP_EVENTS))
    assert run.returncode == 0, run.stderr
    assert stored(sandbox, "Last_Name", "First_Name", "Phone", "CDP_ID") == [
        {
            "Last_Name": "CDP Lead",
            "First_Name": "Wang Fang",
            "Phone": "18600001111",
            "CDP_ID": "ad-1",
        },
        {
            "Last_Name": "CDP Lead",
            "First_Name": "Liu Yang",
            "Phone": "18600002222",
            "CDP_ID": "ad-2",
        },
        {"Last_Name": "CDP Lead", "Phone": "18600000000", "CDP_ID": "ad-3"},
    ]
    assert run.summary("cdp_events") == (
        "Stream 'cdp_events': 3 records read, 3 leads created, 0 updated, "
        "0 unchanged duplicates, 0 rejected, 1 API calls, 1 API credits"
    )
    assert run.errors == []


def test_the_seed_defaults_are_checked_against_zoho_before_any_write(sandbox, config, run_target):
    """The seed's default Email '123.test.com' is not an email: refused at start-up."""
    config.update(field_mapping=SEED_MAPPING + ",Last_Name=adUcName", default_values=SEED_DEFAULTS)
    run = run_target(config, singer_lines("cdp_events", CDP_EVENTS[:2]))
    assert run.returncode == 1
    assert "default_values Email" in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.leads() == []
    assert [r["path"] for r in sandbox.requests() if r["path"].startswith("/crm")] == [
        "/crm/v8/settings/fields"
    ]


def test_values_zoho_refuses_become_rejected_records_in_an_owner_only_file(
    sandbox, config, run_target, tmp_path
):
    """A malformed email is rejected locally, kept with its reason, and never logged."""
    events = [
        {"name": "Wang Fang", "email": "wang@example.com", "anonymous_id": "ad-1"},
        {"name": "Liu Yang", "email": "liu at example", "anonymous_id": "ad-2"},
    ]
    run = run_target(config, singer_lines("cdp_events", events))
    assert run.returncode == 0, run.stderr
    assert stored(sandbox, "Last_Name", "Email") == [
        {"Last_Name": "Wang Fang", "Email": "wang@example.com"}
    ]
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert [(r["code"], r["field"], r["record"]["anonymous_id"]) for r in rejected] == [
        ("INVALID_DATA", "Email", "ad-2")
    ]
    assert rejected[0]["lead"] == {
        "Last_Name": "Liu Yang",
        "Email": "liu at example",
        "CDP_ID": "ad-2",
    }
    assert stat.S_IMODE((tmp_path / "rejected.jsonl").stat().st_mode) == 0o600
    assert "1 rejected" in run.summary("cdp_events")
    assert "liu at example" not in run.stderr
    assert "Liu Yang" not in run.stderr


def test_a_partly_failed_call_keeps_the_good_leads(sandbox, config, run_target, tmp_path):
    """A 207 answer: good records are created, failed ones rejected, the run goes on."""
    config.update(default_values="")
    events = [
        {"name": "Good", "email": "good@example.com", "anonymous_id": "a1"},
        {"email": "nameless@example.com", "anonymous_id": "a2"},
        {"name": "Also good", "phone": "+1 415 555 0100", "anonymous_id": "a3"},
    ]
    run = run_target(config, singer_lines("web", events))
    assert run.returncode == 0, run.stderr
    assert stored(sandbox, "Last_Name", "CDP_ID") == [
        {"Last_Name": "Good", "CDP_ID": "a1"},
        {"Last_Name": "Also good", "CDP_ID": "a3"},
    ]
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert [(r["code"], r["field"], r["record"]["anonymous_id"]) for r in rejected] == [
        ("MANDATORY_NOT_FOUND", "Last_Name", "a2")
    ]
    assert run.summary("web") == (
        "Stream 'web': 3 records read, 2 leads created, 0 updated, "
        "0 unchanged duplicates, 1 rejected, 1 API calls, 1 API credits"
    )
    warnings = [line for line in run.stderr.splitlines() if "record rejected" in line]
    assert len(warnings) == 1
    assert "MANDATORY_NOT_FOUND on field Last_Name" in warnings[0]
    assert "nameless@example.com" not in run.stderr


def test_large_batches_are_split_into_calls_of_one_hundred(sandbox, config, run_target):
    """250 records: three insert calls, never more than 100 records each."""
    events = [{"name": f"P{i}", "anonymous_id": f"id-{i}"} for i in range(250)]
    run = run_target(config, singer_lines("web", events))
    assert run.returncode == 0, run.stderr
    inserts = [
        r for r in sandbox.requests() if r["method"] == "POST" and r["path"].endswith("/Leads")
    ]
    assert sorted(len(r["json"]["data"]) for r in inserts) == [50, 100, 100]
    assert sorted(lead["CDP_ID"] for lead in sandbox.leads()) == sorted(
        f"id-{i}" for i in range(250)
    )
    assert "250 leads created" in run.summary("web")


def test_trigger_is_sent_as_configured_and_left_out_when_unset(sandbox, config, run_target):
    """Trigger [] means no automation; unset means Zoho's default, so no key at all."""
    run_target(config, singer_lines("web", [{"name": "A"}]))
    config["trigger"] = []
    run_target(config, singer_lines("web", [{"name": "B"}]))
    config["trigger"] = ["workflow", "blueprint"]
    run_target(config, singer_lines("web", [{"name": "C"}]))
    bodies = [
        r["json"]
        for r in sandbox.requests()
        if r["method"] == "POST" and r["path"].endswith("/Leads")
    ]
    assert [b.get("trigger", "absent") for b in bodies] == ["absent", [], ["workflow", "blueprint"]]


def test_state_is_passed_on_only_after_the_records_before_it_are_written(
    sandbox, config, run_target
):
    """STATE comes out batch by batch, each after its records are in Zoho."""
    config["batch_size_rows"] = 40
    events = [{"name": f"P{i}", "anonymous_id": f"id-{i}"} for i in range(100)]
    run = run_target(config, singer_lines("web", events, state_every=20))
    assert run.returncode == 0, run.stderr
    # STATE 20 waits for the batch drained at record 40; STATE 40 then has
    # nothing unconfirmed before it and passes straight on.
    assert run.states == [{"done": 20}, {"done": 40}, {"done": 60}, {"done": 80}, {"done": 100}]
    assert len(sandbox.leads()) == 100


def test_state_stops_at_the_last_batch_that_was_written(sandbox, config, run_target):
    """The second batch fails (token throttled): only the first batch's STATE comes out."""
    # Every token dies after one call and only two may be minted: the fields
    # call and the first write get one each, the second write cannot.
    sandbox.configure(token_expiry_calls=1, token_limit=2)
    config.update(batch_size_rows=10, token_wait_max=0)  # fail at the block, no wait
    run = run_target(
        config, singer_lines("web", [{"name": f"P{i}"} for i in range(30)], state_every=10)
    )
    assert run.returncode == 1
    assert run.states == [{"done": 10}]
    assert len(sandbox.leads()) == 10
    assert "Access Denied" in run.errors[-1]


def test_a_run_that_cannot_write_fails_clearly_without_advancing_state(sandbox, config, run_target):
    """Zoho keeps failing: non-zero exit, one line naming the call, no STATE past the failure."""
    config.update(batch_size_rows=10, max_retries=2)
    events = [{"name": f"P{i}"} for i in range(30)]
    sandbox.configure(fail_5xx_rate=1.0)
    run = run_target(config, singer_lines("web", events, state_every=10))
    assert run.returncode == 1
    assert run.states == []
    assert len(run.errors) == 1
    assert "still failing after 2 tries" in run.errors[0]
    assert sandbox.leads() == []
    assert "Traceback" not in run.stderr


def test_dry_run_sends_nothing_at_all(sandbox, config, run_target, tmp_path):
    """With dry_run_path no token is asked for and no call is made."""
    config["dry_run_path"] = str(tmp_path / "dry" / "leads.jsonl")
    config["client_secret"] = "not-even-valid"
    run = run_target(
        config, singer_lines("web", [{"name": "A", "email": "a@x.com", "properties": {"x": 1}}, {}])
    )
    assert run.returncode == 0, run.stderr
    written = [
        json.loads(line) for line in (tmp_path / "dry" / "leads.jsonl").read_text().splitlines()
    ]
    assert written == [{"Last_Name": "A", "Email": "a@x.com"}, {"Last_Name": "Unknown"}]
    assert sandbox.stats()["api_calls"] == 0
    assert sandbox.stats()["token_requests"] == 0


def test_wrong_client_credentials_fail_at_once_naming_the_data_centre(sandbox, config, run_target):
    """invalid_client: one clear line, exit 1, no retries, no secret."""
    config["client_secret"] = "wrong-secret-value"
    run = run_target(config, singer_lines("web", [{"name": "A"}]))
    assert run.returncode == 1
    assert len(run.errors) == 1
    assert "invalid_client" in run.errors[0]
    assert "127.0.0.1" in run.errors[0]
    assert "wrong-secret-value" not in run.stderr
    assert "Traceback" not in run.stderr
    assert sandbox.stats()["token_requests"] == 1


def test_a_wrong_refresh_token_fails_at_once(sandbox, config, run_target):
    """invalid_code: the refresh token is wrong or from another data centre."""
    config["refresh_token"] = "1000.wrong.token"
    run = run_target(config, singer_lines("web", [{"name": "A"}]))
    assert run.returncode == 1
    assert "invalid_code" in run.errors[0]
    assert "1000.wrong.token" not in run.stderr


def test_a_bad_mapping_stops_before_anything_is_read_or_sent(sandbox, config, run_target):
    """One message naming the offending pairs by place; the sandbox sees nothing."""
    config["field_mapping"] = "Phone=phone,First Name=adUcName,Email"
    run = run_target(config, "this is not even read\n")
    assert run.returncode == 1
    assert len(run.errors) == 1, run.errors
    assert "field_mapping: pair 2: the Zoho field name is not an API name" in run.errors[0]
    assert 'field_mapping: pair 3: no "="' in run.errors[0]
    assert "Traceback" not in run.stderr
    assert sandbox.stats()["token_requests"] == 0


def test_bad_input_ends_the_run_after_writing_what_came_before(sandbox, config, run_target):
    """A broken line: earlier records are written, then one clear error and exit 1."""
    good = singer_lines("web", [{"name": "Before"}])
    run = run_target(
        config, good + '{"type": "RECORD", "stream": "web", "record": {"name": "sec@x.com"\n'
    )
    assert run.returncode == 1
    assert [lead["Last_Name"] for lead in sandbox.leads()] == ["Before"]
    assert len(run.errors) == 1
    assert "input line 3: not a valid JSON line" in run.errors[0]
    assert "sec@x.com" not in run.stderr
    assert "Traceback" not in run.stderr


def test_a_record_before_its_schema_is_a_clear_error(sandbox, config, run_target):
    """RECORD with no SCHEMA: named stream, exit 1, no traceback."""
    run = run_target(config, '{"type": "RECORD", "stream": "nope", "record": {"name": "x"}}\n')
    assert run.returncode == 1
    assert "input line 1" in run.errors[0]
    assert "nope" in run.errors[0]
    assert "Traceback" not in run.stderr


def test_a_record_that_breaks_its_schema_is_rejected_and_the_rest_goes_on(
    sandbox, config, run_target, tmp_path
):
    """Local validation failures are rejected records, not a failed run."""
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    run = run_target(config, singer_lines("web", [{"name": "Ok"}, {"name": 42}, {}], schema=schema))
    assert run.returncode == 0, run.stderr
    assert [lead["Last_Name"] for lead in sandbox.leads()] == ["Ok"]
    rejected = [json.loads(line) for line in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert [r["code"] for r in rejected] == ["SCHEMA_MISMATCH", "SCHEMA_MISMATCH"]
    assert rejected[0]["field"] == "name"
    assert "3 records read, 1 leads created" in run.summary("web")
    assert "2 rejected" in run.summary("web")


def test_an_expiring_token_is_refreshed_and_the_run_completes(sandbox, config, run_target):
    """Tokens that die every two calls: refreshed once each time, nothing lost."""
    sandbox.configure(token_expiry_calls=2)
    config["batch_size_rows"] = 100
    events = [{"name": f"P{i}"} for i in range(600)]
    run = run_target(config, singer_lines("web", events))
    assert run.returncode == 0, run.stderr
    assert len(sandbox.leads()) == 600
    # Seven calls (the fields, six inserts), a token every two of them.
    assert sandbox.stats()["tokens_minted"] == 4


def test_transient_failures_are_retried_and_every_lead_lands(sandbox, config, run_target):
    """429s and 5xx on a third of the calls: all 300 leads land, exit 0."""
    sandbox.configure(fail_429_rate=0.15, fail_5xx_rate=0.15, seed=7)
    config.update(max_retries=8, batch_size_rows=100)
    events = [{"name": f"P{i}", "anonymous_id": f"id-{i}"} for i in range(300)]
    run = run_target(config, singer_lines("web", events))
    assert run.returncode == 0, run.stderr
    assert sorted(lead["CDP_ID"] for lead in sandbox.leads()) == sorted(
        f"id-{i}" for i in range(300)
    )
    faults = sandbox.stats()["faults"]
    assert faults["429"] + faults["5xx"] > 0


def test_no_secret_or_token_reaches_any_output_at_debug_level(sandbox, config, run_target):
    """Client secret, refresh token and every minted access token stay out of the logs."""
    sandbox.configure(token_expiry_calls=1)
    events = [{"name": f"P{i}", "email": f"p{i}@example.com"} for i in range(250)]
    config["batch_size_rows"] = 100
    run = run_target(config, singer_lines("web", events), env={"LOGLEVEL": "DEBUG"})
    assert run.returncode == 0, run.stderr
    assert "DEBUG" in run.stderr
    secrets = [sandbox.client_secret, sandbox.refresh_token, *sandbox.minted_tokens()]
    assert len(secrets) >= 4
    for secret in secrets:
        assert secret not in run.stderr
        assert secret not in run.stdout
    assert "p1@example.com" not in run.stderr


def test_every_setting_can_come_from_the_environment(sandbox, tmp_path):
    """`--config ENV`: the string mapping, unique_lead "true" and a trigger list, as env vars."""
    env = {
        **os.environ,
        "TARGET_ZOHO_LEADS_CLIENT_ID": sandbox.client_id,
        "TARGET_ZOHO_LEADS_CLIENT_SECRET": sandbox.client_secret,
        "TARGET_ZOHO_LEADS_REFRESH_TOKEN": sandbox.refresh_token,
        "TARGET_ZOHO_LEADS_ACCOUNTS_URL": sandbox.accounts_url,
        "TARGET_ZOHO_LEADS_FIELD_MAPPING": (
            "Last_Name=name,Phone=phone,Phone=wxPhone,CDP_ID=anonymous_id"
        ),
        "TARGET_ZOHO_LEADS_DEFAULT_VALUES": '{"Lead_Source": "CDP"}',
        "TARGET_ZOHO_LEADS_UNIQUE_LEAD": "true",
        "TARGET_ZOHO_LEADS_TRIGGER": '["workflow"]',
        "TARGET_ZOHO_LEADS_MAX_CONCURRENCY": "2",
    }
    events = [
        {"name": "Zhang", "wxPhone": "13900139004", "anonymous_id": "t1"},
        {"name": "Zhang", "phone": "139-0013-9004", "anonymous_id": "t2"},
    ]
    done = subprocess.run(
        [*target_command(), "--config", "ENV"],
        input=singer_lines("web", events).encode(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert stored(sandbox, "Last_Name", "Phone", "CDP_ID", "Lead_Source") == [
        {"Last_Name": "Zhang", "Phone": "13900139004", "CDP_ID": "t2", "Lead_Source": "CDP"}
    ]
    bodies = [
        r["json"]
        for r in sandbox.requests()
        if r["method"] == "POST" and r["path"] == "/crm/v8/Leads"
    ]
    assert bodies[0]["trigger"] == ["workflow"]


def test_a_batch_whose_every_record_breaks_the_schema_is_rejected_and_the_run_goes_on(
    sandbox, config, run_target, tmp_path
):
    """Nothing left to write in a batch is not a failure: the records are rejected, STATE passes."""
    schema = {"type": "object", "properties": {"email": {"type": "string"}}}
    stdin = singer_lines("web", [{"email": 5, "anonymous_id": "n1"}], state_every=1, schema=schema)
    run = run_target(config, stdin)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.errors == []
    assert run.states == [{"done": 1}]
    assert sandbox.leads() == []
    rejected = [json.loads(row) for row in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert [(r["code"], r["field"]) for r in rejected] == [("SCHEMA_MISMATCH", "email")]
    assert "0 leads created, 0 updated, 0 unchanged duplicates, 1 rejected" in run.summary("web")
