"""The install files agree: the locks are pinned with hashes, and nothing is declared twice apart.

- requirements.in (runtime, loose ranges) -> requirements.txt (the lock, every package
  `name==version` with its sha256 hashes), compiled by `make lock` (uv pip compile);
- requirements-dev.in (tests, lint, profiling, locking) -> requirements-dev.txt, compiled
  against requirements.txt, so a tool never moves a runtime pin;
- pyproject.toml's [project] dependencies are requirements.in's names and ranges.

`make setup` installs both locks with `pip install --require-hashes`, so a line without a
hash, a package missing from the lock or a dev tool in the runtime lock breaks installs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomli
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_IN, RUNTIME_LOCK = ROOT / "requirements.in", ROOT / "requirements.txt"
DEV_IN, DEV_LOCK = ROOT / "requirements-dev.in", ROOT / "requirements-dev.txt"
LOCKS = [RUNTIME_LOCK, DEV_LOCK]

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)(?:\s*;[^\\]*)?$")
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")
# Rasa 3.6 runs on TensorFlow; none of these may ever come in through a dependency.
NEVER = {"torch", "torchvision", "torchaudio", "triton"}
NEVER_PREFIX = ("nvidia-",)


def in_file_requirements(path: Path) -> dict[str, Requirement]:
    """The requirements of a .in file by canonical name (options such as -c skipped)."""
    out = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        req = Requirement(line)
        out[canonicalize_name(req.name)] = req
    return out


def lock_entries(path: Path) -> list[tuple[str, str, list[str]]]:
    """(name, version, hashes) for every requirement in a lock; a malformed entry fails."""
    entries: list[tuple[str, str, list[str]]] = []
    # A requirement and its --hash options are one logical line, continued with backslashes.
    logical, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("--hash") else raw
        if not line.strip():
            continue
        current += " " + line.strip().rstrip("\\").strip()
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    assert not current, f"{path.name}: ends in the middle of a continued line"
    for entry in logical:
        requirement, *options = entry.split(" --hash=")
        match = PIN.match(requirement.strip())
        assert match, f"{path.name}: {requirement!r} is not pinned as name==version"
        hashes = ["--hash=" + o.strip() for o in options]
        assert hashes, f"{path.name}: {requirement} has no --hash"
        for h in hashes:
            assert HASH.match(h), f"{path.name}: {requirement}: {h!r} is not a sha256 hash"
        entries.append((canonicalize_name(match["name"]), match["version"], hashes))
    return entries


def locked(path: Path) -> dict[str, str]:
    return {name: version for name, version, _hashes in lock_entries(path)}


def pyproject_dependencies() -> dict[str, Requirement]:
    data = tomli.loads((ROOT / "pyproject.toml").read_text())
    return {
        canonicalize_name(Requirement(d).name): Requirement(d)
        for d in data["project"]["dependencies"]
    }


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_line_of_the_locks_is_pinned_with_a_hash(lock: Path) -> None:
    for raw in lock.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # Anything else is a requirement, one of its hashes, or its continuation.
        assert line.startswith("--hash=sha256:") or PIN.match(line.rstrip("\\ ").strip()), (
            f"{lock.name}: unexpected line {raw!r}"
        )
    entries = lock_entries(lock)
    assert entries, f"{lock.name} pins nothing"
    names = [name for name, _version, _hashes in entries]
    assert len(names) == len(set(names)), f"{lock.name}: a package is pinned twice"


def test_the_parser_rejects_an_unhashed_or_unpinned_line(tmp_path: Path) -> None:
    unhashed = tmp_path / "unhashed.txt"
    unhashed.write_text("rasa==3.6.21\n")
    with pytest.raises(AssertionError, match="has no --hash"):
        lock_entries(unhashed)
    loose = tmp_path / "loose.txt"
    loose.write_text("rasa>=3.6 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(AssertionError, match="not pinned"):
        lock_entries(loose)


def test_pyproject_dependencies_are_requirements_in() -> None:
    declared, wanted = pyproject_dependencies(), in_file_requirements(RUNTIME_IN)
    assert declared, "pyproject.toml declares no runtime dependencies"
    assert set(declared) <= set(wanted), (
        f"in pyproject.toml, not requirements.in: {sorted(set(declared) - set(wanted))}"
    )
    assert set(wanted) <= set(declared), (
        f"in requirements.in, not pyproject.toml: {sorted(set(wanted) - set(declared))}"
    )
    for name, req in declared.items():
        assert req.specifier == wanted[name].specifier, (
            f"{name}: pyproject.toml says {req.specifier}, requirements.in {wanted[name].specifier}"
        )


@pytest.mark.parametrize(
    ("source", "lock"), [(RUNTIME_IN, RUNTIME_LOCK), (DEV_IN, DEV_LOCK)], ids=["runtime", "dev"]
)
def test_every_direct_requirement_is_locked_within_its_range(source: Path, lock: Path) -> None:
    pins = locked(lock)
    for name, req in in_file_requirements(source).items():
        assert name in pins, f"{name} ({source.name}) is not in {lock.name}: run make lock"
        assert Version(pins[name]) in req.specifier, (
            f"{lock.name} pins {name}=={pins[name]}, outside {source.name}'s {req.specifier}"
        )


def test_dev_tools_are_not_in_the_runtime_files() -> None:
    dev_tools = set(in_file_requirements(DEV_IN))
    assert {"pytest", "hypothesis", "ruff", "import-linter", "py-spy"} <= dev_tools
    runtime = set(locked(RUNTIME_LOCK)) | set(in_file_requirements(RUNTIME_IN))
    assert not dev_tools & runtime, f"dev tools in the runtime files: {sorted(dev_tools & runtime)}"
    assert not dev_tools & set(pyproject_dependencies())


def test_dev_lock_agrees_with_the_runtime_lock() -> None:
    assert "-c requirements.txt" in DEV_IN.read_text(), (
        "compile the dev lock against the runtime lock"
    )
    runtime, dev = locked(RUNTIME_LOCK), locked(DEV_LOCK)
    differ = {n: (runtime[n], dev[n]) for n in set(runtime) & set(dev) if runtime[n] != dev[n]}
    assert not differ, f"pinned differently in the two locks (runtime, dev): {differ}"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_no_torch_or_cuda_builds(lock: Path) -> None:
    names = set(locked(lock))
    bad = sorted(n for n in names if n in NEVER or n.startswith(NEVER_PREFIX))
    assert not bad, f"{lock.name} pulls in {bad}: Rasa 3.6 uses TensorFlow on the CPU"
    assert locked(RUNTIME_LOCK).get("tensorflow") == "2.12.0"
