"""Fake credentials and small diffs for the diff-check tests.

Credentials are assembled at run time from a seeded generator, so no token-shaped literal sits
in the repository for secret scanners (ours included) to trip over.
"""

from __future__ import annotations

import random
import string

ALPHANUMERIC = string.ascii_letters + string.digits
BASE64 = ALPHANUMERIC + "+/"


def random_text(length: int, alphabet: str = ALPHANUMERIC, seed: int = 7) -> str:
    """Return a reproducible random string."""
    generator = random.Random(seed)
    return "".join(generator.choice(alphabet) for _ in range(length))


def github_token(prefix: str = "ghp") -> str:
    """Return a token shaped like a GitHub classic token (`ghp_` + 36 characters)."""
    return f"{prefix}_" + random_text(36)


def github_fine_grained_token() -> str:
    """Return a token shaped like a fine-grained GitHub token."""
    return "github_pat_" + random_text(22, seed=1) + "_" + random_text(59, seed=2)


def aws_access_key_id() -> str:
    """Return an access key ID shaped like AWS's."""
    return "AKIA" + random_text(16, string.ascii_uppercase + string.digits)


def aws_secret_access_key() -> str:
    """Return a 40-character secret shaped like AWS's."""
    return random_text(40, BASE64, seed=3)


def anthropic_key() -> str:
    """Return a key shaped like an Anthropic API key."""
    return "sk-ant-api03-" + random_text(93, ALPHANUMERIC + "-_", seed=4) + "AA"


def slack_token() -> str:
    """Return a bot token shaped like Slack's."""
    return "xoxb-" + random_text(12, string.digits) + "-" + random_text(24, seed=5)


def new_file_diff(path: str, lines: list[str]) -> str:
    """Return the git diff that adds `path` with `lines`."""
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..1111111\n"
        f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def edit_diff(path: str, start: int, lines: list[str]) -> str:
    """Return a one-hunk git diff of `path`; `lines` carry their ' ', '+' or '-' prefix."""
    old = sum(1 for line in lines if not line.startswith("+"))
    new = sum(1 for line in lines if not line.startswith("-"))
    body = "".join(f"{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n"
        f"--- a/{path}\n+++ b/{path}\n@@ -{start},{old} +{start},{new} @@\n{body}"
    )


def deleted_file_diff(path: str, lines: list[str]) -> str:
    """Return the git diff that deletes `path`, which held `lines`."""
    body = "".join(f"-{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\ndeleted file mode 100644\nindex 1111111..0000000\n"
        f"--- a/{path}\n+++ /dev/null\n@@ -1,{len(lines)} +0,0 @@\n{body}"
    )
