"""Generate an RSA key pair for a local GitHub App identity."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@dataclass(frozen=True)
class AppKeyPair:
    """A GitHub App's signing key (PEM, kept by the app) and its public half (given to the hub)."""

    private_key_pem: str
    public_key_pem: str


def generate_app_keypair(bits: int = 2048) -> AppKeyPair:
    """Create a fresh RSA key pair suitable for RS256 app JWTs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return AppKeyPair(private.decode(), public.decode())
