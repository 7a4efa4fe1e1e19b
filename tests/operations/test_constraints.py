"""Deployment pinning (issue 16, item 8): constraints.txt pins every runtime dependency, and the versions the
tests run against are exactly the pinned ones, so a cron host installing with it gets what CI tested."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"not an exact pin: {line!r}"
            pins[_canonical(name)] = pinned
    return pins


def test_every_runtime_dependency_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["postgres"] + extras.get("mysql", [])
    names = {_canonical(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0]) for spec in wanted}
    assert names <= set(_pins()), names - set(_pins())


def test_the_tested_versions_are_the_pinned_ones() -> None:
    mismatched = {}
    for name, pinned in _pins().items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            mismatched[name] = (pinned, installed)
    assert not mismatched, (
        f"constraints.txt differs from the tested environment (pinned, installed): {mismatched}"
    )


def test_the_readme_production_install_uses_the_constraints() -> None:
    assert "pip install -c constraints.txt" in (ROOT / "README.md").read_text(encoding="utf-8")
