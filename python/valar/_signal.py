"""Shared by Smile and Labeller: turning what users pass (arrays of any common dtype and
shape, times as seconds, strings or Timedeltas, files and folders) into what the Rust core
takes, and building opensmile-python's index."""

from __future__ import annotations

import os
from typing import Iterable, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _valar

Time = Union[float, int, str, pd.Timedelta, None]

# Integer PCM is taken at unit scale (v / 2^(b-1); unsigned 8-bit is offset-binary), floats as
# they are; the Rust side then puts every sample on openSMILE's 16-bit grid, as valar's decoder
# does with a file and opensmile-python does before openSMILE: trunc(x · 32768) / 32767. So int16
# samples and the 16-bit WAV holding them give identical numbers, and a float signal gives
# opensmile's.
_INT_SCALE = {np.dtype(np.int8): 1 / 128, np.dtype(np.int16): 1 / 32768, np.dtype(np.int32): 1 / 2147483648}


def seconds(t: Time) -> Optional[float]:
    """A time as opensmile-python accepts it (seconds, a pandas time string, a Timedelta)."""
    if t is None or (isinstance(t, float) and np.isnan(t)):
        return None
    if isinstance(t, pd.Timedelta):
        return t.total_seconds()
    if isinstance(t, str):
        return pd.to_timedelta(t).total_seconds()
    if isinstance(t, (int, float, np.integer, np.floating)):
        return float(t)
    raise TypeError(f"a time must be seconds, a string or a pandas.Timedelta, not {type(t).__name__}")


def timedelta(s: Union[float, np.ndarray]) -> Union[pd.Timedelta, pd.TimedeltaIndex]:
    return pd.to_timedelta(s, unit="s")


def mono_float32(signal, channels=0, mixdown: bool = False) -> np.ndarray:
    """Mono unit-scale float32 samples from a (samples,) or (channels, samples) array of
    float32, float64, int8/16/32 or uint8: integers scaled as PCM. As in opensmile, channel 0
    by default (valar's decoder takes a file's first channel too); with ``mixdown``, the
    selected channels averaged in float64."""
    x = np.asarray(signal)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    if x.ndim != 2:
        raise ValueError(f"a signal must have shape (samples,) or (channels, samples), not {x.shape}")
    if channels is not None:
        picked = [channels] if isinstance(channels, (int, np.integer)) else list(channels)
        if not picked or any(not (-x.shape[0] <= c < x.shape[0]) for c in picked):
            raise ValueError(f"channels {channels!r} out of range for a signal with {x.shape[0]} channel(s)")
        x = x[picked, :]
    if x.shape[0] > 1 and not mixdown:
        raise ValueError(f"{x.shape[0]} channels selected: valar analyses one; pick one with channels= or set mixdown=True")
    if x.dtype == np.uint8:
        gain, x = 1 / 128, x.astype(np.float64) - 128.0
    elif x.dtype in _INT_SCALE:
        gain = _INT_SCALE[x.dtype]
    elif np.issubdtype(x.dtype, np.floating):
        gain = 1.0
    else:
        raise TypeError(f"signal dtype {x.dtype} is not supported (float32, float64, int8, int16, int32, uint8)")
    if x.shape[0] == 1 and x.dtype == np.float32:
        return np.ascontiguousarray(x[0])
    mixed = x.astype(np.float64).sum(axis=0) * (gain / x.shape[0])
    return np.ascontiguousarray(mixed, dtype=np.float32)


def crop(x: np.ndarray, rate: int, start: Optional[float], end: Optional[float]) -> np.ndarray:
    n = len(x)

    def at(t: float) -> int:
        return min(max(int(round(t * rate)), 0), n)

    i = 0 if start is None else at(start)
    j = n if end is None else at(end)
    if j <= i:
        raise ValueError(f"the excerpt from {start} s to {end} s of a {n / rate:.3f} s signal is empty")
    return x[i:j]


def check_rate(sampling_rate) -> int:
    if not isinstance(sampling_rate, (int, np.integer)) or isinstance(sampling_rate, bool):
        raise TypeError(f"sampling_rate must be an integer number of Hz, not {sampling_rate!r}")
    return int(sampling_rate)


def files_under(root: Union[str, os.PathLike], filetype: Union[str, Sequence[str], None]) -> list:
    """Audio files under `root` as valar finds them (recursive, sorted, hidden entries
    skipped), keeping those of `filetype` (an extension, a list of them, or None for all that
    valar decodes)."""
    found = [os.fspath(p) for p in _valar.find_audio_files(os.fspath(root))]
    if filetype is None:
        return found
    wanted = {filetype.lower().lstrip(".")} if isinstance(filetype, str) else {f.lower().lstrip(".") for f in filetype}
    return [f for f in found if os.path.splitext(f)[1].lower().lstrip(".") in wanted]


def join_root(files: Iterable, root) -> list:
    return [os.path.join(os.fspath(root), os.fspath(f)) if root is not None else os.fspath(f) for f in files]


def per_file(values, n: int, what: str) -> list:
    if values is None or isinstance(values, (str, int, float, pd.Timedelta)):
        return [values] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"{len(values)} {what} for {n} files")
    return values
