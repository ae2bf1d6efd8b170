"""Pure parts of the sandbox: the environment allowlist and the output cap."""

from __future__ import annotations

import pytest

from app.sandbox.env import is_secret_name, looks_like_secret, sandbox_env
from app.sandbox.output import CappedBuffer


@pytest.mark.parametrize(
    "name",
    [
        "GITHUB_TOKEN",
        "github_token",
        "OPENAI_API_KEY",
        "ANTHROPIC_BASE_URL",
        "TOWNHALL_DB_URL",
        "GH_HOST",
        "MODAL_TOKEN_ID",
        "AWS_ACCESS_KEY_ID",
        "DB_PASSWORD",
        "NPM_AUTH",
        "SSH_PRIVATE",
        "MY_SECRET",
        "SESSION_COOKIE",
        "KEY",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name", ["CI", "LANG", "PYTHONPATH", "KEYBOARD", "MONKEY_BUSINESS", "NODE_ENV"]
)
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize(
    "value",
    [
        "https://x-access-token:abc@github.com/o/r.git",
        "ghp_" + "a" * 36,
        "github_pat_11ABC",
        "sk-ant-api03-xyz",
        "-----BEGIN RSA PRIVATE KEY-----",
    ],
)
def test_secret_values(value: str) -> None:
    assert looks_like_secret(value)


def test_sandbox_env_is_exactly_the_allowlist() -> None:
    env = sandbox_env(
        home="/h", tmpdir="/t", extra={"CI": "1", "PIP_INDEX_URL": "https://pypi.org"}
    )
    assert env == {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/h",
        "TMPDIR": "/t",
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "CI": "1",
        "PIP_INDEX_URL": "https://pypi.org",
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"HOME": "/root"}, "HOME is set by the sandbox"),
        ({"GITHUB_TOKEN": "x"}, "GITHUB_TOKEN looks like a secret"),
        (
            {"PIP_INDEX_URL": "https://u:pw@example.com/simple"},
            "PIP_INDEX_URL contains a credential",
        ),
    ],
)
def test_sandbox_env_refuses_secrets(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sandbox_env(home="/h", tmpdir="/t", extra=extra)


def test_capped_buffer_keeps_everything_under_the_cap() -> None:
    buffer = CappedBuffer(64)
    for chunk in (b"hello ", b"world"):
        buffer.feed(chunk)
    assert buffer.text() == "hello world" and not buffer.truncated


def test_capped_buffer_keeps_head_and_tail_over_the_cap() -> None:
    buffer = CappedBuffer(40)  # 10 bytes of head, 30 of tail
    for index in range(100):
        buffer.feed(f"{index:03d}\n".encode())
    text = buffer.text()
    assert buffer.truncated and buffer.total == 400
    assert text.startswith("000\n001\n00")
    assert text.endswith("093\n094\n095\n096\n097\n098\n099\n") and "360 bytes" in text


def test_capped_buffer_counts_a_single_huge_chunk() -> None:
    buffer = CappedBuffer(16)
    buffer.feed(b"a" * 4 + b"b" * 1000 + b"c" * 12)
    assert buffer.text() == "aaaa\n[... 1000 bytes of output omitted ...]\ncccccccccccc"
