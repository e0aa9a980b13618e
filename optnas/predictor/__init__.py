"""The neural acquisition function of FBNetV3 (encoder + proxy head + accuracy head), and its storage
as an Optuna artifact of a study (:func:`save_predictor`, :func:`load_predictor_artifact`)."""

from optnas.predictor._artifact import (
    load_latency_table,
    load_predictor_artifact,
    open_artifact_store,
    save_latency_table,
    save_predictor,
)
from optnas.predictor._predictor import Predictor, PredictorConfig

__all__ = [
    "Predictor",
    "PredictorConfig",
    "load_latency_table",
    "load_predictor_artifact",
    "open_artifact_store",
    "save_latency_table",
    "save_predictor",
]
