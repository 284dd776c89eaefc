"""Certificates: the emulator's throw-away CA (TLS for every emulated host) and the
self-signed client certificates of certificate principals.

A fresh trustme CA per emulator; only its certificate is written to disk (a private 0700
directory); its key never leaves memory.
"""

from __future__ import annotations

import datetime
import os
import ssl
import threading
from dataclasses import dataclass

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


def write_private(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` readable by the owner only (0600, created that way)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


class EmulatorCA:
    """A test CA that issues one server certificate per emulated host name, on demand."""

    def __init__(self, directory: str) -> None:
        self._ca = trustme.CA(organization_name="airflow-provider-appservice emulator")
        self.ca_path = os.path.join(directory, "emulator-ca.pem")
        # The CA certificate is public; 0644 lets subprocesses of other users trust it.
        with open(self.ca_path, "wb") as f:
            f.write(self._ca.cert_pem.bytes())
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def server_context(self, host: str) -> ssl.SSLContext:
        """A server-side SSLContext whose certificate names exactly ``host`` (cached)."""
        with self._lock:
            ctx = self._contexts.get(host)
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_alpn_protocols(["http/1.1"])
                self._ca.issue_cert(host).configure_cert(ctx)
                self._contexts[host] = ctx
            return ctx


@dataclass(frozen=True)
class ClientCertificate:
    """A certificate principal's credential material, as a user would download it."""

    pem: bytes  # private key (encrypted when a password is set) followed by the certificate
    pkcs12: bytes
    certificate: x509.Certificate


def make_client_certificate(common_name: str, password: str | None) -> ClientCertificate:
    """Self-signed RSA certificate, like the ones people upload to an app registration.

    RSA because azure-identity and msal sign assertions with RS256/PS256 only.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    pem = key_pem + cert.public_bytes(serialization.Encoding.PEM)
    pfx = pkcs12.serialize_key_and_certificates(common_name.encode(), key, cert, None, encryption)
    return ClientCertificate(pem=pem, pkcs12=pfx, certificate=cert)
