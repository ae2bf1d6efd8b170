"""Find credentials in a line of text: known token formats and high-entropy strings.

Shared by the reviewer's diff checks and the worker's check before it publishes, so both
refuse the same leaks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# Shortest string the entropy rule looks at; shorter random strings are too often legitimate.
MIN_ENTROPY_LENGTH = 20
# A base64-alphabet string is flagged when its entropy reaches this share of the most a string
# of its length can have (log2 of min(length, 64)): random tokens score about 0.9 or more,
# identifiers and prose well below. Measured on ~130k strings from installed packages.
BASE64_ENTROPY_SHARE = 0.8
# Identifiers mix words with a digit or two ("SandboxStdioReadV2Request"); random tokens seldom
# hold runs of four letters of one case. Strings mostly made of such runs are not flagged.
MAX_WORD_SHARE = 0.4
# Hex digests are everywhere (commit SHAs, checksums, pinned actions), so a hex string counts
# only when the line names it as a secret and its entropy is that of random hex (max 4.0).
HEX_MIN_LENGTH = 32
HEX_ENTROPY = 3.0

_TOKEN = re.compile(rf"[A-Za-z0-9+/_\-]{{{MIN_ENTROPY_LENGTH},}}={{0,2}}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_WORD = re.compile(r"[a-z]{4,}|[A-Z][a-z]{3,}|[A-Z]{4,}")
_SECRET_NAME = re.compile(r"(?i)(?:secret|token|passw|pwd|api[_-]?key|private[_-]?key|credential)")
# Subresource-integrity and lockfile-style digests: `sha512-<base64>`, `sha256:<hex>`.
_DIGEST = re.compile(r"(?i)(?:sha\d{1,3}|md5|blake2b?)[-:]")


@dataclass(frozen=True)
class SecretPattern:
    """A known credential format."""

    rule: str
    description: str
    regex: re.Pattern[str]


PATTERNS: tuple[SecretPattern, ...] = (
    SecretPattern(
        "aws-access-key-id",
        "AWS access key ID",
        re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b"),
    ),
    SecretPattern(
        "aws-secret-access-key",
        "AWS secret access key",
        re.compile(
            r"(?i)aws.{0,20}?(?:secret|access).{0,20}?[=:]\s*['\"]?"
            r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
    ),
    SecretPattern(
        "github-token",
        "GitHub token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ),
    SecretPattern(
        "anthropic-api-key", "Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")
    ),
    SecretPattern(
        "private-key",
        "private key block",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    ),
    SecretPattern("slack-token", "Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    SecretPattern(
        "slack-webhook",
        "Slack webhook URL",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_\-]{20,}"),
    ),
)


HIGH_ENTROPY_RULE = "high-entropy-string"

# Environment variables. Name parts that mark a credential (`GITHUB_TOKEN`, `OPENAI_API_KEY`,
# `DB_PASSWORD`, ...); the sandbox and `[sandbox].env` of `.townhall.toml` refuse such names.
_SECRET_ENV_WORDS = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|APIKEY|PRIVATE|COOKIE|SESSION|(^|_)(KEY|PASS|AUTH|PAT)(_|$))"
)
# Whole families of variables that belong to the trusted side.
_SECRET_ENV_PREFIXES = (
    "ANTHROPIC_",
    "TOWNHALL_",
    "GITHUB_",
    "GH_",
    "MODAL_",
    "TURSO_",
    "LIBSQL_",
    "AWS_",
)
# Values that carry a credential whatever the variable is called.
_SECRET_ENV_VALUES = re.compile(
    r"://[^/\s:@]+:[^/\s@]+@"
    r"|gh[opsu]_[A-Za-z0-9]{20}|github_pat_|sk-ant-"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY"
)


def is_secret_name(name: str) -> bool:
    """Return whether an environment variable's name says it holds a secret."""
    upper = name.upper()
    return upper.startswith(_SECRET_ENV_PREFIXES) or _SECRET_ENV_WORDS.search(upper) is not None


def looks_like_secret(value: str) -> bool:
    """Return whether a value contains a credential (URL userinfo, a token, a private key)."""
    return _SECRET_ENV_VALUES.search(value) is not None


def declared_env_problem(name: str, value: str) -> str | None:
    """Return why a variable a repository declares (`[sandbox].env`) may not be set, or None.

    The repository's own committed file declares these, so a credential-like name alone leaks
    nothing of the operator's: test suites that insist on `OPENAI_API_KEY = "dummy"` are
    common. Refused are the families that belong to Townhall's side (`GITHUB_`, `ANTHROPIC_`,
    ...), which tools inside would take for the operator's, and any value that looks like a
    real credential (a known token format, URL userinfo, a high-entropy string).
    """
    if name.upper().startswith(_SECRET_ENV_PREFIXES):
        families = ", ".join(f"{prefix}*" for prefix in _SECRET_ENV_PREFIXES)
        return f"names in the families {families} belong to Townhall's side"
    if looks_like_secret(value) or find_secrets(value):
        return "the value looks like a real credential; only placeholders may be declared"
    return None


@dataclass(frozen=True)
class SecretMatch:
    """A suspected credential on one line: rule, 1-based column, and a redacted preview."""

    rule: str
    description: str
    column: int
    preview: str


def find_secrets(text: str, *, entropy: bool = True) -> list[SecretMatch]:
    """Return the credentials on one line of text; `entropy` enables the high-entropy rule."""
    matches: list[SecretMatch] = []
    taken: list[tuple[int, int]] = []
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(text):
            group = "secret" if "secret" in pattern.regex.groupindex else 0
            value = match[group]
            # AWS documentation's sample credentials all contain "EXAMPLE".
            if pattern.rule.startswith("aws-") and "EXAMPLE" in value:
                continue
            start, end = match.span(group)
            taken.append((start, end))
            matches.append(SecretMatch(pattern.rule, pattern.description, start + 1, redact(value)))
    if entropy:
        for match in _TOKEN.finditer(text):
            start, end = match.span()
            overlaps = any(
                start < taken_end and taken_start < end for taken_start, taken_end in taken
            )
            if not overlaps and _looks_random(match[0], text, start):
                matches.append(
                    SecretMatch(
                        HIGH_ENTROPY_RULE, "high-entropy string", start + 1, redact(match[0])
                    )
                )
    return sorted(matches, key=lambda found: found.column)


def is_leak(match: SecretMatch) -> bool:
    """Return whether a match is a known credential format (high entropy alone is only a lead)."""
    return match.rule != HIGH_ENTROPY_RULE


def shannon_entropy(text: str) -> float:
    """Return the Shannon entropy of `text` in bits per character."""
    if not text:
        return 0.0
    length = len(text)
    return -sum(count / length * math.log2(count / length) for count in Counter(text).values())


def redact(secret: str) -> str:
    """Return a preview that identifies a secret without repeating it."""
    return f"{secret[:4]}… ({len(secret)} characters)"


def _looks_random(token: str, line: str, start: int) -> bool:
    before = line[max(0, start - 8) : start]
    # The digest name is inside the token (`sha512-`) or just before it (`sha256:`); data URIs
    # (`data:image/png;base64,...`) are inline content, not credentials.
    if _DIGEST.match(token) or _DIGEST.search(before) or before.endswith("base64,"):
        return False
    if _HEX.fullmatch(token):
        return (
            len(token) >= HEX_MIN_LENGTH
            and shannon_entropy(token) >= HEX_ENTROPY
            and _SECRET_NAME.search(line) is not None
        )
    body = token.rstrip("=")
    if not (
        any(char.isupper() for char in body)
        and any(char.islower() for char in body)
        and any(char.isdigit() for char in body)
    ):
        return False
    words = sum(len(word) for word in _WORD.findall(body))
    if words / len(body) >= MAX_WORD_SHARE:
        return False
    ceiling = math.log2(min(len(body), 64))
    return shannon_entropy(body) >= BASE64_ENTROPY_SHARE * ceiling
