"""The routes of the read side of the public API (traces, sessions, observations, export,
prompts, OpenAPI), added to the app's route list by `skein.app.routes`."""

from __future__ import annotations

from starlette.routing import Route

from skein.api import export, observations, openapi, prompts, sessions, traces


def routes() -> list[Route]:
    return [
        Route("/api/public/traces", traces.list_traces, methods=["GET"]),
        Route("/api/public/traces", traces.delete_traces, methods=["DELETE"]),
        Route("/api/public/traces/{trace_id:path}", traces.get_trace, methods=["GET"]),
        Route("/api/public/traces/{trace_id:path}", traces.delete_trace, methods=["DELETE"]),
        Route("/api/public/sessions", sessions.list_sessions, methods=["GET"]),
        Route("/api/public/sessions/{session_id:path}", sessions.get_session, methods=["GET"]),
        Route(
            "/api/public/sessions/{session_id:path}", sessions.delete_session, methods=["DELETE"]
        ),
        Route("/api/public/observations", observations.list_observations, methods=["GET"]),
        Route(
            "/api/public/observations/{observation_id:path}",
            observations.get_observation,
            methods=["GET"],
        ),
        Route("/api/public/v2/observations", observations.list_observations_v2, methods=["GET"]),
        Route("/api/public/v2/prompts", prompts.list_prompts, methods=["GET"]),
        Route("/api/public/v2/prompts/{name:path}", prompts.get_prompt, methods=["GET"]),
        Route("/api/public/prompts", prompts.list_prompts, methods=["GET"]),
        Route("/api/public/export/sessions", export.export_sessions, methods=["GET"]),
        Route("/api/public/export/traces", export.export_traces, methods=["GET"]),
        Route("/api/public/openapi.json", openapi.serve_spec, methods=["GET"]),
        Route("/openapi.json", openapi.serve_spec, methods=["GET"]),
    ]
