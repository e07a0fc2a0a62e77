"""GB 32100 check of a whole column of USCCs at memory speed — re-exported from :mod:`tiering.uscc`.

The vectorised check (numpy over the Arrow buffer, ~0.1 s per million codes, rule for rule the
verdict of :func:`tiering.uscc.validate`) lives with the scalar check in ``tiering/uscc.py`` so the
simulator, the contracts and the API share one implementation.

>>> import polars as pl
>>> uscc_problems(pl.Series(["91420100177855421C", "91420100177855421D"])).to_list()
[None, 'USCC-CHECK']
"""

from tiering.uscc import PROBLEMS, complete_codes, uscc_problems

__all__ = ["PROBLEMS", "complete_codes", "uscc_problems"]
