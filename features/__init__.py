"""Features: the §11 assessment frame as of any date, model features on top, training panels.

``assessment_frame(tables, as_of)`` is what the rules read; ``model_features(frame)`` adds the
learned scorer's inputs (documented in ``features.catalog``); ``training_panel(tables, dates)``
stacks frames over many assessment dates. All three are lazy polars and point-in-time correct.
"""

from features.asof import assessment_frame

__all__ = ["assessment_frame"]
