"""The target's wheel: the product alone, the sandbox an extra beside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_wheel(project: Path, out: Path) -> zipfile.ZipFile:
    """Build ``project``'s wheel with hatchling, as pip would, and open it."""
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=project,
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_the_target_wheel_holds_no_sandbox_code(tmp_path):
    """A user who installs the target gets the product: the sandbox stays out of its wheel."""
    names = build_wheel(ROOT, tmp_path).namelist()
    assert "target_zoho_leads/target.py" in names
    assert "target_zoho_leads/zoho/client.py" in names
    assert not [name for name in names if "sandbox" in name.lower()]


def test_the_sandbox_is_offered_as_the_sandbox_extra_and_wheels_alone(tmp_path):
    """`pip install ".[sandbox]"` brings the sandbox: its own wheel, named by the extra."""
    wheel = build_wheel(ROOT, tmp_path / "target")
    metadata = next(
        wheel.read(name).decode() for name in wheel.namelist() if name.endswith("METADATA")
    )
    assert "Provides-Extra: sandbox" in metadata
    assert "Requires-Dist: zoho-sandbox @ " in metadata
    names = build_wheel(ROOT / "sandbox", tmp_path / "sandbox").namelist()
    assert "zoho_sandbox/server.py" in names
    assert not [name for name in names if name.startswith("target_zoho_leads/")]
