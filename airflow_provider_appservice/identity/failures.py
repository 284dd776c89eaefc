"""Explain why Entra ID refused a token, from the AADSTS code alone.

azure-identity's exception text embeds the token endpoint's response body; that body
is never shown to users (``test_connection`` and task logs must not echo it), so the
code is extracted and paired with a fix.
"""

from __future__ import annotations

import re

from airflow_provider_appservice.errors import AuthenticationFailed
from airflow_provider_appservice.identity.config import IdentityConfig

_AADSTS = re.compile(r"AADSTS(\d{5,7})")

# AADSTS code -> (what happened, which field to fix)
KNOWN_CODES: dict[str, tuple[str, str]] = {
    "7000215": ("the client secret is wrong", "Client secret (password)"),
    "7000222": ("the client secret has expired", "Client secret (password): create a new secret"),
    "700016": ("no application with this client ID exists in the tenant", "Client ID (login) or tenant_id"),
    "90002": ("the tenant does not exist", "tenant_id"),
    "900023": ("the tenant ID is not valid", "tenant_id"),
    "700027": ("the certificate assertion's signature did not verify", "client_certificate_private_key"),
    "700024": ("the client assertion is outside its valid time range", "the worker's clock"),
    "70021": (
        "no federated credential on the app registration matches the presented token",
        "the app registration's federated credentials (issuer, subject, audience)",
    ),
    "700213": ("no federated credential matches the token's subject", "the federated credential's subject"),
    "500011": ("the requested audience is not known in the tenant", "the audience or tenant_id"),
    "501051": (
        "the app requires an app role assignment and this identity has none",
        "the API's app roles: assign one to this identity",
    ),
}


def describe_auth_failure(config: IdentityConfig, exc: BaseException) -> AuthenticationFailed:
    """One line: who tried, which code Entra ID answered, what to fix. No response body."""
    match = _AADSTS.search(str(exc))
    who = config.principal_label
    if match:
        code = match.group(1)
        what, fix = KNOWN_CODES.get(code, ("Entra ID refused the request", "the connection's identity fields"))
        return AuthenticationFailed(f"Authentication failed for {who}: {what} (AADSTS{code}). Check {fix}.")
    if "Unable to get authority configuration" in str(exc):
        return AuthenticationFailed(
            f"Authentication failed for {who}: Entra ID does not know tenant '{config.tenant_id}' "
            f"in the '{config.cloud.name}' cloud (tenant discovery failed). Check tenant_id and cloud."
        )
    if "ManagedIdentityCredential" in str(exc) or config.auth_type == "managed_identity":
        return AuthenticationFailed(
            f"Authentication failed for {who}: no managed identity answered on this machine "
            f"({type(exc).__name__}). Check that the worker runs with a managed identity and, for a "
            "user-assigned one, that managed_identity_client_id is right."
        )
    return AuthenticationFailed(f"Authentication failed for {who} ({type(exc).__name__}).")
