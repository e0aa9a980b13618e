"""The neural acquisition function of FBNetV3 (encoder + proxy head + accuracy head)."""

from optnas.predictor._predictor import Predictor, PredictorConfig

__all__ = ["Predictor", "PredictorConfig"]
