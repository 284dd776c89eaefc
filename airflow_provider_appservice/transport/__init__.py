"""Layer 2: transport. SDK clients and azure-core pipelines with per-audience token pinning."""
