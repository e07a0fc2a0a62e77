"""Features: the §11 assessment frame as of any date, model features on top, training panels.

``assessment_frame(tables, as_of)`` is what the rules read; ``model_features(frame)`` adds the
learned scorer's inputs (documented in ``features.catalog``); ``training_panel(tables, dates)``
stacks frames over many assessment dates. All three are lazy polars and point-in-time correct.
"""

from features.asof import assessment_frame
from features.catalog import CATALOG, feature_names
from features.model_features import model_features
from features.panel import training_panel

__all__ = ["CATALOG", "assessment_frame", "feature_names", "model_features", "training_panel"]
