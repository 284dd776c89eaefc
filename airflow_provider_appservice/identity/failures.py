"""Explain why no token could be had, with what the connection knows (who, tenant, cloud).

The classification itself (AADSTS code -> permanent, Entra unavailable -> transient) is
``boundary.classify_auth``'s; this adds the sentences only a connection can say. The
credential wrapper (``identity.tokens``) calls it the moment ``get_token`` fails, so every
path — ARM, Kudu, app, Key Vault, sync and async — reports the same failure the same way.
"""

from __future__ import annotations

from airflow_provider_appservice.boundary import classify_auth
from airflow_provider_appservice.errors import AppServiceError
from airflow_provider_appservice.identity.config import IdentityConfig


def describe_auth_failure(config: IdentityConfig, exc: BaseException, who: str | None = None) -> AppServiceError:
    """One line: who tried, which code Entra ID answered (or that it was unavailable), what to fix.

    ``who`` names another principal than the connection's (a Key Vault bootstrap identity).
    """
    who = who or config.principal_label
    text = str(exc)
    context = ""
    if "AADSTS" not in text and "HTTP Error: " not in text:
        if "Unable to get authority configuration" in text:
            context = (
                f"Entra ID does not know tenant '{config.tenant_id}' in the '{config.cloud.name}' cloud "
                "(tenant discovery failed). Check tenant_id and cloud."
            )
        elif "ManagedIdentityCredential" in text or config.auth_type == "managed_identity":
            context = (
                f"no managed identity answered on this machine ({type(exc).__name__}). Check that the worker "
                "runs with a managed identity and, for a user-assigned one, that managed_identity_client_id is right."
            )
    return classify_auth(exc, who=who, context=context)
