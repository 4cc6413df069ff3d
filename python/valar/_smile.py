"""`valar.Smile`: eGeMAPSv02 with opensmile-python's interface and output."""

from __future__ import annotations

import enum
import os
from typing import Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _signal, _valar
from ._signal import Time


class FeatureSet(enum.Enum):
    """The feature sets valar computes (opensmile.FeatureSet's name for it)."""

    eGeMAPSv02 = "egemaps/v02/eGeMAPSv02"


class FeatureLevel(enum.Enum):
    """opensmile.FeatureLevel's levels that eGeMAPSv02 has in valar."""

    Functionals = "func"
    LowLevelDescriptors = "lld"


def _feature_set(value) -> FeatureSet:
    # opensmile.FeatureSet members, valar's, and their names or values as strings.
    name = getattr(value, "name", None) or str(getattr(value, "value", value))
    if name.split("/")[-1].lower() == "egemapsv02":
        return FeatureSet.eGeMAPSv02
    raise ValueError(f"feature set {value!r} is not available in valar: it computes eGeMAPSv02 only")


def _feature_level(value) -> FeatureLevel:
    text = str(getattr(value, "value", value)).lower()
    if text in ("func", "functionals"):
        return FeatureLevel.Functionals
    if text in ("lld", "lowleveldescriptors", "low_level_descriptors"):
        return FeatureLevel.LowLevelDescriptors
    raise ValueError(f"feature level {value!r} is not available in valar: use 'functionals' or 'lld'")


class Smile:
    """eGeMAPSv02 functionals (88) or LLDs (25 per 10 ms frame), computed natively in Rust at
    the signal's own rate, numerically faithful to openSMILE 3.

    A drop-in for ``opensmile.Smile``: the same constructor arguments for this feature set,
    the same ``process_*`` methods, and DataFrames with the same index (``file``, ``start``,
    ``end`` as Timedeltas) and column names.

    Channels as in opensmile: channel 0 by default (``channels=0, mixdown=False``), as
    ``valar extract`` takes a file's first channel; ``channels=[0, 1], mixdown=True`` averages
    a signal's channels. Files are always read at their first channel (another selection
    raises ``ValueError``: read the samples and use ``process_signal``). ``num_workers`` files
    are analysed in parallel by Rust threads.
    """

    def __init__(
        self,
        feature_set: Union[str, FeatureSet] = FeatureSet.eGeMAPSv02,
        feature_level: Union[str, FeatureLevel] = FeatureLevel.Functionals,
        *,
        channels: Union[int, Sequence[int], None] = 0,
        mixdown: bool = False,
        num_workers: Optional[int] = 1,
        **unsupported,
    ):
        ignored = {"options", "loglevel", "logfile", "verbose", "multiprocessing", "keep_nat"}
        rest = set(unsupported) - ignored
        if rest:
            raise TypeError(f"valar.Smile does not take {sorted(rest)}")
        if unsupported.get("options"):
            raise ValueError("valar.Smile takes no openSMILE config options: eGeMAPSv02 is fixed")
        self.feature_set = _feature_set(feature_set)
        self.feature_level = _feature_level(feature_level)
        self.channels = channels
        self.mixdown = mixdown
        self.num_workers = num_workers

    @property
    def _lld(self) -> bool:
        return self.feature_level is FeatureLevel.LowLevelDescriptors

    @property
    def feature_names(self) -> list:
        """Column names, as openSMILE names them."""
        return list(_valar.lld_names() if self._lld else _valar.feature_names())

    @property
    def num_features(self) -> int:
        return len(self.feature_names)

    # -- building frames -------------------------------------------------------------------
    def _frame(self, result, file: Optional[str], offset: float, end: Optional[float]) -> pd.DataFrame:
        functionals, lld, times, rows, duration = result
        if self._lld:
            values = np.frombuffer(lld, dtype=np.float64).reshape(rows, _valar.n_lld())
            spans = np.frombuffer(times, dtype=np.float64).reshape(rows, 2) + offset
            starts, ends = spans[:, 0], spans[:, 1]
        else:
            values = np.frombuffer(functionals, dtype=np.float64).reshape(1, -1)
            starts = np.array([offset])
            ends = np.array([offset + duration if end is None else end])
        arrays = [_signal.timedelta(starts), _signal.timedelta(ends)]
        names = ["start", "end"]
        if file is not None:
            arrays.insert(0, [file] * len(starts))
            names.insert(0, "file")
        index = pd.MultiIndex.from_arrays(arrays, names=names)
        return pd.DataFrame(values.copy(), index=index, columns=self.feature_names)

    def _first_channel_of_files(self) -> None:
        """Files are read at their first channel: refuse a selection that asks for more."""
        first = self.channels in (0, [0], (0,)) or (self.channels is None and not self.mixdown)
        if not first:
            raise ValueError(
                f"valar reads a file's first channel (opensmile's default), not channels={self.channels!r} "
                f"with mixdown={self.mixdown}: read the samples (e.g. with soundfile) and use process_signal"
            )

    # -- the opensmile-python interface ------------------------------------------------------
    def process_signal(
        self,
        signal: np.ndarray,
        sampling_rate: int,
        *,
        file: Optional[str] = None,
        start: Time = None,
        end: Time = None,
    ) -> pd.DataFrame:
        """Features of a signal: shape (samples,) or (channels, samples); float32, float64,
        int8/16/32 or uint8 (integers scaled as PCM)."""
        rate = _signal.check_rate(sampling_rate)
        x = _signal.mono_float32(signal, self.channels, self.mixdown)
        a, b = _signal.seconds(start), _signal.seconds(end)
        x = _signal.crop(x, rate, a, b)
        result = _valar.extract_signal(x.tobytes(), rate, self._lld)
        # opensmile's functionals row ends where the excerpt ends: `end`, else the signal's end.
        full_end = b if b is not None else np.shape(signal)[-1] / rate
        return self._frame(result, file, a or 0.0, full_end)

    def process_file(self, file: str, *, start: Time = None, end: Time = None, root: Optional[str] = None) -> pd.DataFrame:
        """Features of one file (WAV, FLAC, OGG/Vorbis, MP3 at 8–192 kHz) at its own rate;
        ``start``/``end`` analyse an excerpt."""
        self._first_channel_of_files()
        path = _signal.join_root([file], root)[0]
        a, b = _signal.seconds(start), _signal.seconds(end)
        result = _valar.extract_file(path, self._lld, a, b)
        return self._frame(result, path, a or 0.0, b)

    def process_files(
        self,
        files: Sequence[str],
        *,
        starts: Union[Time, Sequence[Time]] = None,
        ends: Union[Time, Sequence[Time]] = None,
        root: Optional[str] = None,
    ) -> pd.DataFrame:
        """Features of many files, in order (``num_workers`` at a time)."""
        self._first_channel_of_files()
        paths = _signal.join_root(files, root)
        starts = _signal.per_file(starts, len(paths), "starts")
        ends = _signal.per_file(ends, len(paths), "ends")
        if not paths:
            return self._empty()
        if all(s is None for s in starts) and all(e is None for e in ends):
            results = _valar.extract_files(paths, self._lld, self.num_workers)
            frames = [self._frame(r, p, 0.0, None) for r, p in zip(results, paths)]
        else:
            frames = [self.process_file(p, start=s, end=e) for p, s, e in zip(paths, starts, ends)]
        return pd.concat(frames)

    def process_folder(
        self,
        root: str,
        *,
        filetype: Union[str, Sequence[str], None] = "wav",
        include_root: bool = True,
    ) -> pd.DataFrame:
        """Features of every file of ``filetype`` under ``root`` (recursively; None: every
        format valar decodes)."""
        files = _signal.files_under(root, filetype)
        df = self.process_files(files)
        if not include_root and len(df):
            rel = [os.path.relpath(f, root) for f in df.index.get_level_values("file")]
            df.index = pd.MultiIndex.from_arrays(
                [rel, df.index.get_level_values("start"), df.index.get_level_values("end")], names=["file", "start", "end"]
            )
        return df

    def _empty(self) -> pd.DataFrame:
        index = pd.MultiIndex.from_arrays([[], pd.to_timedelta([]), pd.to_timedelta([])], names=["file", "start", "end"])
        return pd.DataFrame(np.empty((0, self.num_features)), index=index, columns=self.feature_names)

    def __call__(self, signal: np.ndarray, sampling_rate: int) -> np.ndarray:
        """The features as an array (features × frames), as opensmile.Smile is callable."""
        return self.process_signal(signal, sampling_rate).to_numpy().T

    def __repr__(self) -> str:
        return f"valar.Smile(feature_set={self.feature_set.name!r}, feature_level={self.feature_level.name!r})"
