"""PEM texts made at test time (no key-shaped text is committed): a key and its certificate."""

from __future__ import annotations

import datetime
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


@cache
def _rsa_key(n: int = 0) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airflow-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: str | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption).decode()


def key_and_certificate(password: str | None = None) -> str:
    """An RSA key and its own certificate, as azure-identity's CertificateCredential takes them."""
    return _key(_rsa_key(), password) + _certificate(_rsa_key())


def key_only() -> str:
    return _key(_rsa_key())


def certificate_only() -> str:
    return _certificate(_rsa_key())


def key_with_another_certificate() -> str:
    return _key(_rsa_key()) + _certificate(_rsa_key(1))


def ec_key_and_certificate() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return _key(key) + _certificate(key)


def unreadable_key() -> str:
    """PEM armour around bytes that are no key (what a mangled paste looks like)."""
    import base64

    label = "PRIVATE KEY"
    return f"-----BEGIN {label}-----\n{base64.b64encode(b'not a key').decode()}\n-----END {label}-----\n"
