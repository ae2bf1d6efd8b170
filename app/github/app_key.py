"""Check a GitHub App private key offline, so a broken one is named before any request.

GitHub hands out PEM RSA keys ("BEGIN RSA PRIVATE KEY"). Operators paste OpenSSH keys, public
keys, keys with a mangled body or header; PyJWT would only fail later, at the first tick, with a
traceback about a *public* key. Each case here gets one line that says what to do.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_WHERE = "download a new private key from the App's settings page on GitHub (Private keys)"


def key_problem(pem: str) -> str | None:
    """Return why `pem` cannot sign a GitHub App JWT, or None when it can."""
    text = pem.strip()
    if "OPENSSH PRIVATE KEY" in text:
        return f"the private key is an OpenSSH key, not the App's PEM key: {_WHERE}"
    if "PUBLIC KEY" in text and "PRIVATE KEY" not in text:
        return f"the private key setting holds a public key: {_WHERE}"
    first_line = text.splitlines()[0] if text else ""
    if not (first_line.startswith("-----BEGIN ") and first_line.endswith("PRIVATE KEY-----")):
        return f"the private key does not start with a PEM header ({first_line[:40]!r}): {_WHERE}"
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError:
        return f"the private key is encrypted with a passphrase; GitHub's keys are not: {_WHERE}"
    except (ValueError, UnsupportedAlgorithm) as error:
        # cryptography's messages point at its own FAQ; say what is wrong with the file instead.
        if "MismatchedTags" in str(error):
            return f"the private key is damaged (its BEGIN and END lines differ): {_WHERE}"
        return f"the private key is damaged (its body does not decode): {_WHERE}"
    if not isinstance(key, rsa.RSAPrivateKey):
        return f"the private key is not an RSA key (GitHub Apps sign with RS256): {_WHERE}"
    if key.key_size < 2048:
        return f"the private key has {key.key_size} bits; GitHub's have 2048: {_WHERE}"
    return None
