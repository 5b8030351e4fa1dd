"""Skein's Python SDK: tracing on OpenTelemetry with the seed's (Langfuse 3.x style) API.

Import it through the package: `from skein import observe, get_client, session`. The modules:
`client` (`Skein`, `get_client`), `spans` (observations), `decorators` (`observe`),
`context` (`propagate_attributes`, `session`, thread helpers), `processor` (trace-level
attributes over whole traces), `attributes` (keys and value encoding), `config`.
"""
