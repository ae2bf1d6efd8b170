"""Environments without network for tests: a local wheelhouse stands in for PyPI.

Detected Python setup pins pip, runs `pip install pytest` into the checkout's .venv and
installs ruff (and mypy) into .townhall-tools. Tests reach no network, so pip is pointed at a
directory of wheels made here: the machine's bundled pip relabelled as the pinned version, and
small stand-ins whose scripts run this interpreter's own tools (the `pytest` one also makes the
virtualenv import this interpreter's packages, through a .pth file). This interpreter's
directories are visible read-only in the sandbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from app.sandbox import LocalOptions, LocalSandboxes
from app.stacks.python import DEFAULT_TOOL_PINS, PIP_PIN

BIN = Path(sys.executable).parent
SITE_PACKAGES = next(Path(p) for p in sys.path if p.endswith("site-packages"))


def _wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> None:
    dist = f"{name}-{version}"
    wheel_files = {
        **files,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: townhall-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    record = "".join(f"{path},,\n" for path in [*wheel_files, f"{dist}.dist-info/RECORD"])
    with zipfile.ZipFile(directory / f"{dist}-py3-none-any.whl", "w") as archive:
        for path, text in {**wheel_files, f"{dist}.dist-info/RECORD": record}.items():
            info = zipfile.ZipInfo(path)
            info.external_attr = 0o100755 << 16  # a regular file, executable: scripts stay so
            archive.writestr(info, text)


def _pip_wheel(directory: Path) -> None:
    """The pip this machine bundles for new virtualenvs, relabelled as the version setup pins."""
    bundled = [
        *Path("/usr/share/python-wheels").glob("pip-*.whl"),
        *Path(sys.base_prefix).glob("lib/python3*/ensurepip/_bundled/pip-*.whl"),
    ]
    source = bundled[0]
    old = source.name.split("-")[1]
    new = PIP_PIN.split("==")[1]
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(source) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            name = name.replace(f"pip-{old}.dist-info/", f"pip-{new}.dist-info/")
            if name.endswith(".dist-info/METADATA"):
                data = data.replace(f"Version: {old}".encode(), f"Version: {new}".encode(), 1)
            if not name.endswith("RECORD"):
                files[name] = data
    record = "".join(f"{name},,\n" for name in [*files, f"pip-{new}.dist-info/RECORD"])
    files[f"pip-{new}.dist-info/RECORD"] = record.encode()
    with zipfile.ZipFile(directory / f"pip-{new}-py3-none-any.whl", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def build_wheelhouse(directory: Path) -> Path:
    """Write the stand-in wheels (pip, pytest, ruff, mypy) into `directory`; return it."""
    directory.mkdir(parents=True, exist_ok=True)
    _pip_wheel(directory)
    _wheel(
        directory,
        "pytest",
        "8.99.0",
        {
            "townhall_host_packages.pth": f"{SITE_PACKAGES}\n",
            "pytest-8.99.0.data/scripts/pytest": (
                '#!/bin/sh\nexec "$(dirname "$0")/python" -m pytest "$@"\n'
            ),
        },
    )
    for tool in ("ruff", "mypy"):
        version = DEFAULT_TOOL_PINS[tool]
        script = f'#!/bin/sh\nexec {BIN / tool} "$@"\n'
        _wheel(directory, tool, version, {f"{tool}-{version}.data/scripts/{tool}": script})
    return directory


# Shared by every test process (xdist workers too): environments are built once per plan and
# reused across sessions, like a real cache; its lock files make concurrent builds share one.
# Keyed by this interpreter: the stand-in tools' wheels exec this virtualenv's own tools, so a
# second checkout (CI's fresh clone) must not reuse wheels that point into another one.
_PREFIX_KEY = hashlib.sha256(str(Path(sys.prefix).resolve()).encode()).hexdigest()[:12]
SHARED = Path(tempfile.gettempdir()) / "townhall-tests" / _PREFIX_KEY


def offline_options(**options: object) -> LocalOptions:
    """Sandbox options whose setup installs from the local wheelhouse, with a shared cache."""
    wheelhouse = SHARED / "wheels"
    if not (wheelhouse / "ready").is_file():
        fresh = Path(tempfile.mkdtemp(prefix="wheels-", dir=_made(SHARED)))
        build_wheelhouse(fresh)
        (fresh / "ready").write_text("")
        with contextlib.suppress(OSError):  # another process made it meanwhile: keep theirs
            fresh.rename(wheelhouse)
    env = {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    settings: dict[str, object] = {"cache_dir": SHARED / "environments", **options}
    return LocalOptions(
        isolation="bwrap",
        read_only=(Path(sys.prefix), Path(sys.base_prefix), wheelhouse),
        env=env,
        **settings,  # type: ignore[arg-type]
    )


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def offline_sandboxes() -> LocalSandboxes:
    """Local sandboxes whose environments install offline (see `offline_options`)."""
    return LocalSandboxes(offline_options())
