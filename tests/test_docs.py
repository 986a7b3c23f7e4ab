"""The docs and sample files say what the code does."""

from __future__ import annotations

import json
import re
import subprocess

from target_zoho_leads.settings.schema import settings_schema
from target_zoho_leads.target import TargetZohoLeads
from tests.conftest import ROOT, target_command

# The docs, by audience: the front page, the pipelines, performance, the reliability report.
DOCS = ("README.md", "orchestrate/README.md", "benchmarks/README.md", "docs/RELIABILITY.md")
PACKAGE = ROOT / "target_zoho_leads"
# The target's own settings, without the SDK's built-ins (which the SDK adds
# to the class's schema in place once a target is built).
OWN_SETTINGS = list(settings_schema()["properties"])


def about_markdown() -> str:
    done = subprocess.run(
        [*target_command(), "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def table_rows(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("|")]


def test_the_readme_settings_table_is_the_about_output():
    """README's settings table equals `target-zoho-leads --about --format=markdown`."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- settings:start -->(.*?)<!-- settings:end -->", readme, re.DOTALL)
    assert block, "README.md lacks the settings block"
    about = about_markdown().split("## Settings", 1)[1].split("A full list", 1)[0]
    assert table_rows(block.group(1)) == table_rows(about)


def test_every_setting_is_marked_secret_where_it_is_a_credential():
    """Credentials are secret in the schema and sensitive in meltano.yml."""
    props = TargetZohoLeads.config_jsonschema["properties"]
    for name in ("client_id", "client_secret", "refresh_token"):
        assert props[name].get("secret") is True
        assert props[name].get("writeOnly") is True
    meltano = (ROOT / "meltano.yml").read_text()
    for name in ("client_id", "client_secret", "refresh_token"):
        assert re.search(rf"- name: {name}\n(?:      .*\n)*?      sensitive: true", meltano), name


def test_the_sample_config_holds_every_setting_but_dry_run_and_plan():
    """sample_config.json shows every setting (dry_run_path and plan_path would stop the writes)."""
    sample = json.loads((ROOT / "sample_config.json").read_text())
    assert set(sample) == set(OWN_SETTINGS) - {"dry_run_path", "plan_path"}


def test_meltano_yml_declares_every_setting():
    """meltano.yml lets users set everything the target reads."""
    meltano = (ROOT / "meltano.yml").read_text()
    declared = set(re.findall(r"^    - name: (\w+)$", meltano, re.MULTILINE))
    assert set(OWN_SETTINGS) <= declared


def test_the_seed_names_are_mapped_to_settings_in_the_readme():
    """The CDP form's names are explained."""
    readme = (ROOT / "README.md").read_text()
    for seed, setting in [
        ("Client ID", "client_id"),
        ("Form Field Mapping", "field_mapping"),
        ("Value Default", "default_values"),
        ("Zoho Accounts URL", "accounts_url"),
        ("Unique Lead", "unique_lead"),
    ]:
        assert f"**{seed}** = `{setting}`" in readme


def test_every_relative_link_in_the_docs_names_a_file_that_exists():
    """A doc's links to other files of the repository resolve from where the doc lives."""
    broken = []
    for doc in DOCS:
        path = ROOT / doc
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if re.match(r"[a-z]+:|#", target):
                continue
            if not (path.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{doc} -> {target}")
    assert not broken


def test_the_readme_layout_names_every_entry_of_the_package_root_and_no_other():
    """README's "Where things live" table has a row for each folder and root module."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- layout:start -->(.*?)<!-- layout:end -->", readme, re.DOTALL)
    assert block, "README.md lacks the layout block"
    named = {
        name
        for row in table_rows(block.group(1))[2:]
        for name in re.findall(r"`([^`]+)`", row.split("|")[1])
    }
    entries = {
        f"{p.name}/" if p.is_dir() else p.name
        for p in PACKAGE.iterdir()
        if p.name not in {"__init__.py", "__main__.py", "__pycache__"}
    }
    assert named == entries


def test_the_package_root_holds_at_most_eight_entries_besides_its_dunder_files():
    """Rooms, not a hall: modules live in folders by job, the root stays readable."""
    entries = [
        p for p in PACKAGE.iterdir() if p.name not in {"__init__.py", "__main__.py", "__pycache__"}
    ]
    assert len(entries) <= 8, sorted(p.name for p in entries)
