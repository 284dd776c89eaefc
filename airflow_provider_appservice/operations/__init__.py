"""Layer 3: App Service operations as plain functions over SDK clients; no Airflow here."""
