"""Rewrite README's settings table from `target-zoho-leads --about --format=markdown`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> None:
    """Replace the block between the settings markers with the --about table."""
    script = Path(sys.executable).parent / "target-zoho-leads"
    about = subprocess.run(  # noqa: S603
        [str(script), "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    table = "\n".join(
        line
        for line in about.split("## Settings", 1)[1].split("A full list", 1)[0].splitlines()
        if line.startswith("|")
    )
    text = README.read_text()
    text = re.sub(
        r"(<!-- settings:start -->\n).*?(\n<!-- settings:end -->)",
        lambda m: m.group(1) + table + m.group(2),
        text,
        flags=re.DOTALL,
    )
    README.write_text(text)


if __name__ == "__main__":
    main()
