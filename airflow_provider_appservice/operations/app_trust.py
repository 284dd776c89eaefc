"""Where a trigger may send an app token: re-derived from ARM, never taken from its kwargs.

The health and container triggers carry the hosts and base URL the worker resolved, but trigger
kwargs are stored in Airflow's database and read back: untrusted (a rewritten row must not
send a token elsewhere). So at run time the trigger reads the site from ARM again and
:func:`trusted_endpoint` compares: every host the kwargs name must be one of the site's host
names or in the connection's ``allowed_hosts``, else :class:`TokenPinningError` before any
token is asked for. The hosts the app pipeline is pinned to are ARM's, not the kwargs'.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow_provider_appservice.errors import TaskArgumentError, TokenPinningError
from airflow_provider_appservice.identity.config import IdentityConfig
from airflow_provider_appservice.operations.endpoint import AppEndpoint, check_base_url
from airflow_provider_appservice.operations.sites import SiteInfo
from airflow_provider_appservice.transport.app import app_hosts


def trusted_endpoint(
    label: str, site: SiteInfo, identity: IdentityConfig, hosts: Iterable[object], base_url: object
) -> AppEndpoint:
    """The endpoint to use: the base URL from the kwargs once its host (and every host listed)
    is one ARM reports for the site or the connection's owner allowed; pinned to ARM's hosts."""
    arm_hosts = tuple(app_hosts(site.host_names) or [site.default_host_name])
    allowed = {h.lower().rstrip(".") for h in (*arm_hosts, *identity.allowed_hosts)}
    named = {str(h).lower().rstrip(".") for h in hosts} if not isinstance(hosts, str) else {hosts.lower()}
    try:
        base_host = check_base_url(str(base_url))
    except TaskArgumentError:
        base_host = f"an unusable base URL ({str(base_url)[:100]!r})"
    strangers = sorted(named - allowed) + ([] if base_host in allowed else [base_host])
    if strangers:
        raise TokenPinningError(
            f"The wait on '{label}' was told to reach {', '.join(strangers)}, which is neither a host name "
            f"ARM reports for the site nor in connection '{identity.conn_id}''s allowed_hosts; nothing was sent "
            "(trigger arguments are stored in the database and are checked again). Clear the task to start afresh"
        )
    return AppEndpoint(str(base_url).rstrip("/"), arm_hosts)
