"""`townhall doctor` against localhub and the scripted model: one line per check, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.serving import ServerThread
from app.standins.localhub import LocalHub, LocalHubControl, generate_app_keypair
from app.standins.scripted_model import ScriptedModel
from app.standins.scripted_model.engine import ServerConfig
from app.store import open_store

TOWNHALL = str(Path(sys.executable).parent / "townhall")
APP_ID = 77


@dataclass
class Deployment:
    """A localhub with the App installed on one repository, a model server, and a store."""

    tmp_path: Path
    hub_url: str
    model_url: str
    private_key: str
    ctl: LocalHubControl

    def env(self, **overrides: str) -> dict[str, str]:
        key_file = self.tmp_path / "app.pem"
        if not key_file.exists():
            key_file.write_text(self.private_key)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TOWNHALL_", "ANTHROPIC_"))}
        env.update(
            {
                "TOWNHALL_DB_URL": str(self.tmp_path / "doctor.db"),
                "TOWNHALL_GITHUB_API_URL": self.hub_url,
                "TOWNHALL_GITHUB_APP_ID": str(APP_ID),
                "TOWNHALL_GITHUB_PRIVATE_KEY_PATH": str(key_file),
                "ANTHROPIC_API_KEY": "test-key",
                "ANTHROPIC_BASE_URL": self.model_url,
            }
        )
        env.update(overrides)
        return env

    def doctor(self, *args: str, **overrides: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [TOWNHALL, "doctor", *args],
            cwd=self.tmp_path,
            env=self.env(**overrides),
            capture_output=True,
            text=True,
            timeout=90,
        )


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    source = tmp_path / "source"
    source.mkdir()
    (source / "README.md").write_text("# demo\n")
    (source / ".townhall.toml").write_text("[votes]\nthreshold = 2\n")
    keys = generate_app_keypair()
    hub = LocalHub(tmp_path / "hub", token_ttl=timedelta(hours=1))
    with (
        ServerThread(hub.create_app()) as hub_server,
        ServerThread(ScriptedModel().create_app()) as model_server,
        LocalHubControl(hub_server.url) as ctl,
    ):
        ctl.create_app("townhall", keys.public_key_pem, app_id=APP_ID, owner="townhall-org")
        ctl.create_repo_from_dir("octo", "calc", source)
        ctl.create_installation(APP_ID, "octo")
        open_store(str(tmp_path / "doctor.db")).close_sync()
        yield Deployment(tmp_path, hub_server.url, model_server.url, keys.private_key_pem, ctl)


def _line(output: str, subject: str) -> str:
    return next(line for line in output.splitlines() if f"  {subject}" in line)


def test_a_healthy_deployment_passes_every_check(deployment: Deployment) -> None:
    result = deployment.doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    for subject in ("settings", "store", "private key", "GitHub App", "octo/calc", "model"):
        assert _line(result.stdout, subject).startswith("ok"), result.stdout
    assert "townhall (id 77)" in result.stdout
    assert ".townhall.toml valid" in result.stdout
    # No delivery has reached this store: a warning that names where to look, not a failure.
    assert _line(result.stdout, "webhooks").startswith("warn")
    assert "webhook URL" in _line(result.stdout, "webhooks")


def _damaged(pem: str) -> str:
    lines = pem.splitlines()
    lines[4] = lines[4][:10] + "!!!!" + lines[4][14:]
    return "\n".join(lines) + "\n"


def _openssh_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda pem: pem.replace("-----BEGIN PRIVATE KEY-----", "-----BEGIN garbage"), "header"),
        (_damaged, "damaged"),
        (lambda pem: _openssh_key(), "OpenSSH"),
        (lambda pem: generate_app_keypair().private_key_pem, "rejected the App's JWT (401)"),
    ],
    ids=["garbage-header", "corrupted-body", "openssh-key", "another-apps-key"],
)
def test_a_broken_key_is_one_clear_line(
    deployment: Deployment, mangle: object, expected: str
) -> None:
    assert callable(mangle)
    deployment.private_key = mangle(deployment.private_key)
    result = deployment.doctor()
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1, result.stdout
    assert expected in failed[0]


def test_an_unreachable_api_url_names_the_setting(deployment: Deployment) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = deployment.doctor(TOWNHALL_GITHUB_API_URL=f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    line = _line(result.stdout, "GitHub App")
    assert line.startswith("FAIL") and "TOWNHALL_GITHUB_API_URL" in line
    assert "Traceback" not in result.stderr


def test_an_invalid_repository_policy_is_named(deployment: Deployment) -> None:
    bare = str(deployment.ctl.repo_path("octo", "calc"))
    work = deployment.tmp_path / "work"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "clone", "-q", bare, str(work)], check=True)
    (work / ".townhall.toml").write_text("[votes]\nthreshold = 'many'\n")
    subprocess.run([*git, "-C", str(work), "commit", "-qam", "break the policy"], check=True)
    subprocess.run([*git, "-C", str(work), "push", "-q", "origin", "HEAD"], check=True)
    result = deployment.doctor()
    assert result.returncode == 1
    line = _line(result.stdout, "octo/calc")
    assert line.startswith("FAIL") and "votes.threshold" in line


def test_a_missing_store_is_not_created(deployment: Deployment) -> None:
    missing = deployment.tmp_path / "elsewhere" / "townhall.db"
    result = deployment.doctor("--offline", TOWNHALL_DB_URL=str(missing))
    assert result.returncode == 1
    assert "townhall db migrate" in _line(result.stdout, "store")
    assert not missing.exists()


def test_a_wrong_model_key_is_named(deployment: Deployment) -> None:
    model = ScriptedModel(config=ServerConfig(api_key="the-right-key"))
    with ServerThread(model.create_app()) as strict:
        result = deployment.doctor(ANTHROPIC_BASE_URL=strict.url)
    line = _line(result.stdout, "model")
    assert result.returncode == 1
    assert line.startswith("FAIL") and "ANTHROPIC_API_KEY" in line


def test_missing_isolation_is_a_failure_with_the_fix(deployment: Deployment) -> None:
    result = deployment.doctor("--offline", TOWNHALL_BWRAP="/nonexistent/bwrap")
    assert result.returncode == 1
    line = _line(result.stdout, "sandbox")
    assert line.startswith("FAIL") and "bubblewrap" in line, line
    unsafe = deployment.doctor(
        "--offline", TOWNHALL_BWRAP="/nonexistent/bwrap", TOWNHALL_UNISOLATED_SANDBOX="1"
    )
    assert _line(unsafe.stdout, "sandbox").startswith("warn")
    assert "UNISOLATED" in _line(unsafe.stdout, "sandbox")
