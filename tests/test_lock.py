"""requirements.txt agrees with setup.cfg: every declared requirement has exactly one pin per
Python version, and that pin satisfies the declared range. Refresh with `make lock`."""
from __future__ import annotations

import configparser
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = [dict(default_environment(), python_version=v, python_full_version=f"{v}.0")
                for v in ("3.11", "3.12", "3.13")]


def _declared() -> list[Requirement]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines() + cfg["options.extras_require"]["test"].splitlines()
    return [Requirement(line) for line in (ln.strip() for ln in lines) if line]


def _entries() -> list[tuple[str, list[str]]]:
    """(requirement, its --hash values) per entry; an entry continues over lines ending in a backslash."""
    text = (ROOT / "requirements.txt").read_text().replace("\\\n", " ")
    entries = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split(" --hash=")
        entries.append((requirement.strip(), [o.strip() for o in options]))
    return entries


def _pins(environment: dict) -> dict[str, str]:
    pins: dict[str, str] = {}
    for entry in _entries():
        line, hashes = entry
        assert hashes, f"requirements.txt: {line!r} has no --hash (the lock holds the file hashes pip checks)"
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        (spec,) = req.specifier
        assert spec.operator == "==", f"requirements.txt: {line!r} is not an exact pin"
        name = canonicalize_name(req.name)
        assert name not in pins, f"requirements.txt pins {req.name} twice for Python {environment['python_version']}"
        pins[name] = spec.version
    return pins


def test_every_declared_requirement_is_pinned_within_its_range():
    problems = []
    for environment in ENVIRONMENTS:
        pins = _pins(environment)
        for req in _declared():
            pin = pins.get(canonicalize_name(req.name))
            if pin is None:
                problems.append(f"Python {environment['python_version']}: {req.name} is declared in setup.cfg but not in requirements.txt")
            elif not req.specifier.contains(pin, prereleases=True):
                problems.append(f"Python {environment['python_version']}: {req.name}=={pin} in requirements.txt is outside setup.cfg's '{req.specifier}'")
    assert problems == [], "setup.cfg and requirements.txt disagree (run `make lock`):\n" + "\n".join(problems)


def test_the_installer_and_build_backend_are_pinned():
    # make installs pip, then the lock, then the package without build isolation: all three pinned.
    pins = _pins(ENVIRONMENTS[0])
    assert {"pip", "setuptools", "wheel", "uv"} <= set(pins)
