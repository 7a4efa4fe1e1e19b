"""contrib/systemd: a service and a timer for the import and for the export (issue 16, item 5)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "contrib" / "systemd"
EXECUTABLE = "/opt/dotsync/.venv/bin/dotsync"
COMMANDS = {"import": "integration sync", "export": "dotmailer export"}


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  (keys are case-sensitive)
    parser.read(UNITS / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize("kind", ["import", "export"])
def test_service_and_timer(kind: str) -> None:
    service = _unit(f"dotsync-{kind}.service")["Service"]
    assert service["ExecStart"] == f"{EXECUTABLE} {COMMANDS[kind]}"
    assert service["EnvironmentFile"] == "/etc/dotsync.env"
    assert service["User"] == "dotsync"
    assert service["Type"] == "oneshot"
    assert service["SuccessExitStatus"] == "75"  # skipped for the lock is not a failure
    timer = _unit(f"dotsync-{kind}.timer")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["OnCalendar"] == ("*:0/4" if kind == "import" else "*:2/4")
    assert timer["Timer"]["Unit"] == f"dotsync-{kind}.service"
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at a stand-in executable, keep everything else.
    fake = tmp_path / "dotsync"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    fake.chmod(0o755)
    names = sorted(p.name for p in UNITS.iterdir() if p.suffix in (".service", ".timer"))
    assert len(names) == 4
    for name in names:
        text = (UNITS / name).read_text(encoding="utf-8").replace(EXECUTABLE, str(fake))
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stderr.lower(), result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr
