"""Sphinx configuration: MyST Markdown, built offline (no intersphinx), warnings are errors."""

from __future__ import annotations

import airflow_provider_appservice

project = "airflow-provider-appservice"
author = "airflow-provider-appservice maintainers"
release = airflow_provider_appservice.__version__
version = release
extensions = ["myst_parser"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_title = "Azure App Service provider for Apache Airflow"
