"""The routes of the write side of the public API (Langfuse batch ingestion, scores, model
prices), added to the app's route list by `skein.app.routes`."""

from __future__ import annotations

from starlette.routing import Route

from skein.api import ingestion, models, scores


def routes() -> list[Route]:
    return [
        Route("/api/public/ingestion", ingestion.ingest_batch, methods=["POST"]),
        Route("/api/public/scores", scores.create_scores, methods=["POST"]),
        Route("/api/public/scores", scores.list_scores, methods=["GET"]),
        Route("/api/public/v2/scores", scores.list_scores, methods=["GET"]),
        Route("/api/public/v3/scores", scores.list_scores_v3, methods=["GET"]),
        Route("/api/public/scores/{score_id}", scores.get_score, methods=["GET"]),
        Route("/api/public/v2/scores/{score_id}", scores.get_score, methods=["GET"]),
        Route("/api/public/scores/{score_id}", scores.delete_score, methods=["DELETE"]),
        Route("/api/public/models", models.list_models, methods=["GET"]),
        Route("/api/public/models", models.create_model, methods=["POST"]),
        Route("/api/public/models/{model_id}", models.get_model, methods=["GET"]),
        Route("/api/public/models/{model_id}", models.delete_model, methods=["DELETE"]),
    ]
