"""What goes on the wire, below ``identity/`` (which uses it) and ``transport/``: the CAs a
connection trusts (``tls``), the hosts each token may reach (``pinning``) and azure-core
transports that sleep on the hook's clock (``clocked``). Nothing here knows App Service."""
