"""The SDK's record features (stream maps, flattening, record metadata) through the real command.

Plain streams take the target's short record path; a stream with any of
these takes the SDK's own. Both must give the leads a user expects.
"""

from __future__ import annotations

from tests.conftest import singer_lines

PEOPLE = [
    {"name": "wang fang", "contact": {"email": "wang@example.com"}, "anonymous_id": "t1"},
    {"name": "liu yang", "contact": {"email": "liu@example.com"}, "anonymous_id": "t2"},
]


def leads(sandbox, *fields):
    """The sandbox's leads, reduced to ``fields``."""
    return [{f: lead.get(f) for f in fields} for lead in sandbox.leads()]


def test_a_stream_map_transforms_records_before_they_are_mapped(sandbox, config, run_target):
    """stream_maps: an expression rewrites a property and the lead carries the result."""
    config.update(
        field_mapping="Last_Name=name,CDP_ID=anonymous_id",
        stream_maps={"web": {"name": "name.upper()"}},
    )
    run = run_target(config, singer_lines("web", PEOPLE, state_every=1))
    assert run.returncode == 0, run.stderr
    assert leads(sandbox, "Last_Name", "CDP_ID") == [
        {"Last_Name": "WANG FANG", "CDP_ID": "t1"},
        {"Last_Name": "LIU YANG", "CDP_ID": "t2"},
    ]
    assert run.states[-1] == {"done": 2}


def test_a_stream_alias_writes_under_the_new_name(sandbox, config, run_target):
    """stream_maps' __alias__: the summary line names the alias, the leads are written."""
    config.update(field_mapping="Last_Name=name", stream_maps={"web": {"__alias__": "cdp_people"}})
    run = run_target(config, singer_lines("web", PEOPLE))
    assert run.returncode == 0, run.stderr
    assert [lead["Last_Name"] for lead in sandbox.leads()] == ["wang fang", "liu yang"]
    assert run.summary("cdp_people").startswith("Stream 'cdp_people': 2 records read, 2 leads")


def test_flattening_lets_the_mapping_name_a_nested_field(sandbox, config, run_target):
    """flattening_enabled: contact.email arrives as contact__email, which the mapping names."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "anonymous_id": {"type": "string"},
            "contact": {"type": "object", "properties": {"email": {"type": "string"}}},
        },
    }
    config.update(
        field_mapping="Last_Name=name,Email=contact__email",
        flattening_enabled=True,
        flattening_max_depth=1,
    )
    run = run_target(config, singer_lines("web", PEOPLE, schema=schema))
    assert run.returncode == 0, run.stderr
    assert leads(sandbox, "Last_Name", "Email") == [
        {"Last_Name": "wang fang", "Email": "wang@example.com"},
        {"Last_Name": "liu yang", "Email": "liu@example.com"},
    ]


def test_record_metadata_can_be_added_and_mapped(sandbox, config, run_target):
    """add_record_metadata: the SDK's _sdc_ fields reach the mapping like any other."""
    config.update(
        field_mapping="Last_Name=name,Description=_sdc_sequence", add_record_metadata=True
    )
    run = run_target(config, singer_lines("web", PEOPLE, state_every=2))
    assert run.returncode == 0, run.stderr
    stored = leads(sandbox, "Last_Name", "Description")
    assert [lead["Last_Name"] for lead in stored] == ["wang fang", "liu yang"]
    assert all(lead["Description"] for lead in stored)
    assert run.states[-1] == {"done": 2}


def test_a_plain_stream_beside_a_mapped_one_gets_the_same_leads(sandbox, config, run_target):
    """One stream with a map and one without, in one run: each record becomes its lead."""
    config.update(field_mapping="Last_Name=name", stream_maps={"ads": {"name": "name.title()"}})
    stdin = singer_lines("web", PEOPLE[:1]) + singer_lines("ads", PEOPLE[1:])
    run = run_target(config, stdin)
    assert run.returncode == 0, run.stderr
    assert sorted(lead["Last_Name"] for lead in sandbox.leads()) == ["Liu Yang", "wang fang"]
