"""Apache Airflow provider for Azure App Service.

Hooks, operators, sensors and triggers that deploy, operate and call web and
function apps with short-lived, audience-scoped Entra tokens. Importing this
package imports no ``azure.`` module: SDKs load lazily when a task runs.
"""

__version__ = "0.1.0"
