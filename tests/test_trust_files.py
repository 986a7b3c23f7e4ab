"""Output files: opened once at start-up, never through a planted link, never someone else's."""

from __future__ import annotations

import json
import os
import stat

import pytest

from target_zoho_leads.loading.outputs import DryRunFile, OutputFileError, RejectedRecords
from target_zoho_leads.zoho.outcomes import REJECTED, Outcome
from tests.conftest import singer_lines

SETTINGS = ("rejected_records_path", "dry_run_path")
EVENTS = [{"name": "Ann", "email": "ann@example.com", "anonymous_id": "a1"}]


def _open(setting: str, path: str) -> RejectedRecords | DryRunFile:
    return RejectedRecords(path) if setting == "rejected_records_path" else DryRunFile(path)


@pytest.fixture
def victim(tmp_path):
    """Another file of the user's, readable by all, that a planted link points at."""
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    path.chmod(0o644)
    return path


def _unchanged(victim) -> bool:
    return victim.read_text() == "precious\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_symlinked_output_path_is_refused_and_its_target_left_alone(tmp_path, victim, setting):
    """A link to another file: refused by name of the setting; the file keeps content and mode."""
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    with pytest.raises(OutputFileError, match=f"^{setting} names a symbolic link"):
        _open(setting, str(link))
    assert _unchanged(victim)


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_named_pipe_or_a_folder_is_refused_without_blocking(tmp_path, setting):
    """A fifo is never opened (opening it for writing would wait for a reader)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputFileError, match="names a named pipe"):
        _open(setting, str(fifo))
    with pytest.raises(OutputFileError, match="names a folder"):
        _open(setting, str(tmp_path))


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_kernel_file_is_refused_even_where_it_looks_like_a_regular_one(setting):
    """/proc/version is a 'regular file' to stat: run as root, it would be written to."""
    if not os.path.exists("/proc/self/mountinfo"):  # noqa: PTH110
        pytest.skip("no /proc here")
    with pytest.raises(OutputFileError, match="names a file of the proc file system"):
        _open(setting, "/proc/version")


@pytest.mark.parametrize("setting", SETTINGS)
def test_a_hard_link_to_another_file_is_refused(tmp_path, victim, setting):
    """A second name for a file of the user's would empty or grow that file."""
    alias = tmp_path / "out.jsonl"
    alias.hardlink_to(victim)
    with pytest.raises(OutputFileError, match="has other names"):
        _open(setting, str(alias))
    assert _unchanged(victim)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
@pytest.mark.parametrize("setting", SETTINGS)
def test_another_users_file_is_refused_and_not_truncated(tmp_path, setting):
    """Root could write to anyone's file: the target refuses one that is not the runner's."""
    theirs = tmp_path / "theirs.jsonl"
    theirs.write_text("theirs\n")
    os.chown(theirs, 65534, 65534)
    with pytest.raises(OutputFileError, match="owned by another user"):
        _open(setting, str(theirs))
    assert theirs.read_text() == "theirs\n"


def test_a_path_whose_folder_cannot_exist_is_refused_at_once(tmp_path):
    """Found when the file is opened at start-up, not at the first rejection."""
    (tmp_path / "plain").write_text("")
    with pytest.raises(OutputFileError, match=r"^rejected_records_path cannot be written"):
        RejectedRecords(str(tmp_path / "plain" / "rejected.jsonl"))


def test_an_own_file_is_appended_to_and_narrowed_to_its_owner(tmp_path):
    """The rejected-records file grows across runs and is made owner-only, by descriptor."""
    path = tmp_path / "rejected.jsonl"
    path.write_text('{"earlier": 1}\n')
    path.chmod(0o644)
    rejected = RejectedRecords(str(path))
    rejected.add("web", {"email": "x@example.com"}, None, Outcome(REJECTED, code="X"))
    rejected.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"earlier": 1}
    assert json.loads(lines[1])["code"] == "X"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_dry_run_file_is_emptied_once_and_never_reopened_by_name(tmp_path):
    """Removing the file mid-run does not make a new one: the run writes to what it opened."""
    path = tmp_path / "dry.jsonl"
    path.write_text("old run\n")
    dry = DryRunFile(str(path))
    assert path.read_text() == ""
    dry.write([{"Last_Name": "A"}])
    path.unlink()
    dry.write([{"Last_Name": "B"}])
    dry.close()
    assert not path.exists()


def test_a_new_output_file_is_created_owner_only(tmp_path):
    """Created at 0600 in a folder made for it."""
    path = tmp_path / "new" / "dry.jsonl"
    DryRunFile(str(path)).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("setting", SETTINGS)
def test_the_command_refuses_a_symlinked_output_path_before_calling_zoho(
    sandbox, config, run_target, victim, setting
):
    """End to end: exit 1 at start-up naming the setting, no call made, the target untouched."""
    link = victim.parent / "planted.jsonl"
    link.symlink_to(victim)
    config[setting] = str(link)
    run = run_target(config, singer_lines("web", EVENTS))
    assert run.returncode == 1
    assert f"{setting} names a symbolic link" in run.errors[0]
    assert "Traceback" not in run.stderr
    assert sandbox.requests() == []
    assert sandbox.minted_tokens() == []
    assert _unchanged(victim)


def test_the_command_finds_an_unwritable_rejected_records_path_at_start_up(
    sandbox, config, run_target, tmp_path
):
    """Before any lead is written: one line, no traceback, no call to Zoho."""
    (tmp_path / "plain").write_text("")
    config["rejected_records_path"] = str(tmp_path / "plain" / "rejected.jsonl")
    run = run_target(config, singer_lines("web", EVENTS))
    assert run.returncode == 1
    assert "rejected_records_path cannot be written" in run.errors[0]
    assert "Traceback" not in run.stderr
    assert sandbox.requests() == []
    assert sandbox.leads() == []
