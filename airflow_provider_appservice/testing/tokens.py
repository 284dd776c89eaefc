"""Minting the emulator's tokens and checking the JWTs clients send to it.

Access tokens are validated by the emulator by lookup in its own table (see ``state.World``),
never by signature, so a JWT-shaped token carries random bytes where a signature would be and
no JWKS is served. Opaque tokens (``token_format="opaque"``) exist for leak tests: Airflow's log
masker already rewrites JWT-shaped strings, so only a non-JWT canary proves masking works.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint(claims: dict[str, Any], token_format: str) -> str:
    """A new token string: ``header.payload.signature`` (JWT shape) or an opaque random string."""
    if token_format == "opaque":
        return secrets.token_urlsafe(48)
    header = {"typ": "JWT", "alg": "RS256", "kid": "emulator", "x5t": "emulator"}
    parts = [
        b64url(json.dumps(header, separators=(",", ":")).encode()),
        b64url(json.dumps(claims, separators=(",", ":")).encode()),
        b64url(secrets.token_bytes(256)),  # not a signature: the emulator validates by lookup
    ]
    return ".".join(parts)


@dataclass(frozen=True)
class ParsedJwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_jwt(token: str) -> ParsedJwt | None:
    """Split and decode a compact JWT without verifying it; None if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return ParsedJwt(header, claims, f"{parts[0]}.{parts[1]}".encode(), signature)


def thumbprints(cert: x509.Certificate) -> tuple[str, str]:
    """(x5t, x5t#S256) of a certificate, base64url as in a JWT header."""
    from cryptography.hazmat.primitives.serialization import Encoding

    der = cert.public_bytes(Encoding.DER)
    return b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())  # noqa: S324


def verify_assertion_signature(jwt: ParsedJwt, cert: x509.Certificate) -> str | None:
    """Check a client assertion against the registered certificate.

    Returns None when valid, else a short reason. RS256 (azure-identity aio, msal without
    SHA-256 thumbprint) and PS256 (msal with ``x5t#S256``) are what the SDKs send.
    """
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return "registered certificate has no RSA key"
    x5t, x5t_s256 = thumbprints(cert)
    # msal pads its thumbprints with "="; compare without padding.
    if "x5t" in jwt.header and str(jwt.header["x5t"]).rstrip("=") != x5t:
        return "x5t does not match the registered certificate"
    if "x5t#S256" in jwt.header and str(jwt.header["x5t#S256"]).rstrip("=") != x5t_s256:
        return "x5t#S256 does not match the registered certificate"
    alg = jwt.header.get("alg")
    pad: padding.AsymmetricPadding
    if alg == "RS256":
        pad = padding.PKCS1v15()
    elif alg == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    else:
        return f"unsupported alg {alg!r}"
    try:
        key.verify(jwt.signature, jwt.signing_input, pad, hashes.SHA256())
    except InvalidSignature:
        return "signature does not verify"
    return None
