"""valar for Python.

* :class:`Smile` — eGeMAPSv02 (88 functionals or 25 LLDs) computed natively in Rust, a drop-in
  for ``opensmile.Smile`` (same methods, same DataFrames), under MIT/Apache-2.0.
* :class:`Labeller` — activation and valence of speech, the rows ``valar label`` writes.
* :mod:`valar.dask` — the same labelling spread over a Dask cluster.
"""

from ._valar import ADAPT_MIN_ROWS, EXTRACTOR_VERSION, ValarError
from ._labeller import LABEL_COLUMNS, Labeller, to_label_csv
from ._smile import FeatureLevel, FeatureSet, Smile

__all__ = [
    "ADAPT_MIN_ROWS",
    "EXTRACTOR_VERSION",
    "FeatureLevel",
    "FeatureSet",
    "LABEL_COLUMNS",
    "Labeller",
    "Smile",
    "ValarError",
    "to_label_csv",
]
__version__ = "0.1.0"
