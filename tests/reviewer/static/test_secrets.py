"""Secret detection on single lines: known token formats and the high-entropy rule."""

from __future__ import annotations

import hashlib

import pytest

from app.secretscan import find_secrets, redact, shannon_entropy
from tests.reviewer.static import fakes


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (f"AWS_ACCESS_KEY_ID={fakes.aws_access_key_id()}", "aws-access-key-id"),
        (f'aws_secret_access_key = "{fakes.aws_secret_access_key()}"', "aws-secret-access-key"),
        (f"token: {fakes.github_token('ghp')}", "github-token"),
        (f"token: {fakes.github_token('gho')}", "github-token"),
        (f"token: {fakes.github_token('ghs')}", "github-token"),
        (f"GH_TOKEN={fakes.github_fine_grained_token()}", "github-token"),
        (f'client = Anthropic(api_key="{fakes.anthropic_key()}")', "anthropic-api-key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private-key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private-key"),
        ("-----BEGIN PRIVATE KEY-----", "private-key"),
        (f"SLACK_BOT_TOKEN={fakes.slack_token()}", "slack-token"),
    ],
)
def test_known_token_formats_are_found(line: str, rule: str) -> None:
    matches = find_secrets(line)

    assert [match.rule for match in matches] == [rule]


@pytest.mark.parametrize(
    "line",
    [
        "token = os.environ['GITHUB_TOKEN']",
        "ghp_short = 1",
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
        "sk-ant-",
        "AKIAIOSFODNN7EXAMPLE  # AWS's documented sample key",
        "def test_anthropic_client_reads_the_api_key_from_settings(monkeypatch):",
        "from reviewer.static.parsers.pyright import parse_pyright",
        "SandboxStdioReadV2Request = _reflection.GeneratedProtocolMessageType",
        "https://github.com/octo-org/octo-repo/blob/main/docs/configuration.md",
    ],
)
def test_ordinary_lines_are_not_secrets(line: str) -> None:
    assert find_secrets(line) == []


def test_the_match_column_is_one_based_and_the_preview_redacts() -> None:
    token = fakes.github_token()

    [match] = find_secrets(f"x = '{token}'")

    assert match.column == 6
    assert match.preview == f"{token[:4]}… (40 characters)"
    assert token not in match.preview


def test_random_base64_string_is_high_entropy() -> None:
    value = fakes.random_text(32, fakes.BASE64, seed=11)

    [match] = find_secrets(f'DATABASE_URL_SUFFIX = "{value}"')

    assert match.rule == "high-entropy-string"
    assert shannon_entropy(value) > 4.0


def test_high_entropy_rule_can_be_switched_off() -> None:
    value = fakes.random_text(32, fakes.BASE64, seed=11)

    assert find_secrets(f'x = "{value}"', entropy=False) == []


def test_token_format_match_is_not_reported_twice_as_high_entropy() -> None:
    assert [m.rule for m in find_secrets(fakes.anthropic_key())] == ["anthropic-api-key"]


def test_hex_digests_are_not_secrets_without_a_secret_name() -> None:
    digest = hashlib.sha256(b"townhall").hexdigest()

    assert find_secrets(f'EXPECTED_SHA256 = "{digest}"') == []
    assert find_secrets(f"uses: actions/checkout@{digest[:40]}") == []


def test_hex_string_named_as_a_secret_is_high_entropy() -> None:
    value = hashlib.sha256(b"webhook").hexdigest()

    [match] = find_secrets(f'WEBHOOK_SECRET = "{value}"')

    assert match.rule == "high-entropy-string"


def test_integrity_hashes_are_not_secrets() -> None:
    integrity = "sha512-" + fakes.random_text(86, fakes.BASE64, seed=12) + "=="

    assert find_secrets(f'"integrity": "{integrity}",') == []


def test_entropy_of_known_strings() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0
    assert redact("abcdefgh") == "abcd… (8 characters)"


def test_data_uris_are_not_secrets() -> None:
    image = fakes.random_text(120, fakes.BASE64, seed=13)

    assert find_secrets(f'background: url("data:image/png;base64,{image}");') == []
