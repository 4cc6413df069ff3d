"""`valar.Labeller`: activation and valence of recordings, the rows `valar label` writes."""

from __future__ import annotations

import os
import tempfile
from typing import Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _signal, _valar
from ._signal import Time

#: Columns of a label frame: those of `valar label`'s CSV after the file (and window) columns.
LABEL_COLUMNS = ["duration_s", "activation", "activation_score", "valence", "valence_score", "voiced_ratio", "error"]


class Labeller:
    """Labels speech with valar's model: for each file (or each ``segment``-second window of
    it) activation ``high``/``low`` and valence ``positive``/``negative``, each with a
    calibrated score, exactly as ``valar label`` does.

    ``model``: a model folder written by ``valar train``; None: ``$VALAR_MODEL``, else the
    bundled model. ``adapt``: standardise each batch (``process_files``/``process_folder``) by
    its own statistics, as ``valar label --adapt`` (it needs at least ``ADAPT_MIN_ROWS`` rows
    with speech and assumes the batch is not all one emotion). ``adapt_per_folder``: each
    folder's files (one folder per speaker) standardised by their own statistics instead, as
    ``valar label --adapt-per-folder``; folders with too few rows stay unadapted and are listed
    in ``unadapted_folders``. ``adaptation``: what adapting standardises, as ``valar label
    --adaptation``: ``"representation"`` (the features, then everything the model's SVMs see,
    its code included) or ``"features"`` only. Rows without speech have empty
    labels and the error ``no speech``; files that cannot be read have their reason in
    ``error`` and never stop the others.

    The frames have opensmile's index (``file``, ``start``, ``end`` as Timedeltas; one row per
    file spans the whole file) and :data:`LABEL_COLUMNS`. :func:`to_label_csv` writes one as
    ``valar label``'s CSV.
    """

    def __init__(
        self,
        model: Union[str, os.PathLike, None] = None,
        segment: Optional[float] = None,
        *,
        adapt: bool = False,
        adapt_per_folder: bool = False,
        adaptation: str = "representation",
        num_workers: Optional[int] = 1,
    ):
        self._core = _valar.Labeller(None if model is None else os.fspath(model))
        self.segment = None if segment is None else float(segment)
        self.adapt = adapt
        self.adapt_per_folder = adapt_per_folder
        self.adaptation = adaptation
        self.num_workers = num_workers
        #: Whether the last batch was adapted (``adapt`` and enough rows; per folder: any folder).
        self.adapted = False
        #: Per folder: the folders of the last batch with too few rows to adapt.
        self.unadapted_folders: list = []

    @property
    def model(self) -> str:
        return self._core.model

    def _frame(self, per_file: Sequence, files: Sequence[Optional[str]]) -> pd.DataFrame:
        names, starts, ends, rows = [], [], [], []
        for file, file_rows in zip(files, per_file):
            for r in file_rows:
                names.append(file)
                starts.append(r[0])
                ends.append(r[1])
                rows.append(r[2:])
        arrays = [_signal.timedelta(np.array(starts, dtype=np.float64)), _signal.timedelta(np.array(ends, dtype=np.float64))]
        index_names = ["start", "end"]
        if any(f is not None for f in files):
            arrays.insert(0, names)
            index_names.insert(0, "file")
        # Text columns stay plain objects (None where empty) on every pandas, pickled or not.
        df = pd.DataFrame(rows, columns=LABEL_COLUMNS, index=pd.MultiIndex.from_arrays(arrays, names=index_names), dtype=object)
        df = df.astype({"duration_s": "float64", "activation_score": "float64", "valence_score": "float64", "voiced_ratio": "float64"})
        df.attrs["segment"] = self.segment
        return df

    def process_file(self, file: str, *, start: Time = None, end: Time = None, root: Optional[str] = None) -> pd.DataFrame:
        """Labels of one file (or of its excerpt from ``start`` to ``end``)."""
        path = _signal.join_root([file], root)[0]
        rows = self._core.label_file(path, self.segment, _signal.seconds(start), _signal.seconds(end))
        return self._frame([rows], [path])

    def process_signal(self, signal: np.ndarray, sampling_rate: int, *, file: Optional[str] = None) -> pd.DataFrame:
        """Labels of a signal: shape (samples,) or (channels, samples), any common dtype; of
        several channels the first is labelled, as of a file."""
        rate = _signal.check_rate(sampling_rate)
        x = _signal.mono_float32(signal)
        return self._frame([self._core.label_signal(x.tobytes(), rate, self.segment)], [file])

    def process_files(self, files: Sequence[str], *, root: Optional[str] = None) -> pd.DataFrame:
        """Labels of many files, in order (``num_workers`` at a time)."""
        paths = _signal.join_root(files, root)
        per_file, groups, short = self._core.label_files(
            paths, self.segment, self.num_workers, self.adapt, self.adapt_per_folder, self.adaptation
        )
        self.adapted, self.unadapted_folders = groups > 0, list(short)
        return self._frame(per_file, paths)

    def process_folder(self, root: str, *, filetype: Union[str, Sequence[str], None] = None) -> pd.DataFrame:
        """Labels of every audio file under ``root`` (recursively; ``filetype``: only these
        extensions), the files ``valar label ROOT`` takes."""
        return self.process_files(_signal.files_under(root, filetype))

    def __repr__(self) -> str:
        return f"valar.Labeller(model={self.model!r}, segment={self.segment!r}, adapt={self.adapt!r}, adapt_per_folder={self.adapt_per_folder!r}, adaptation={self.adaptation!r})"


def to_label_csv(df: pd.DataFrame, path: Union[str, os.PathLike], *, root: Union[str, os.PathLike, None] = None) -> None:
    """Writes a label frame as ``valar label``'s CSV, byte for byte: file names relative to
    ``root`` (the folder labelled; None: each file's own folder) with ``/`` separators, sorted
    as ``valar label`` sorts them, window columns when the frame is segmented. Written to a
    temporary file and renamed, so ``path`` is never half-written."""
    segmented = df.attrs.get("segment") is not None
    header = "file,start_s,end_s," if segmented else "file,"
    header += ",".join(LABEL_COLUMNS)
    files = df.index.get_level_values("file") if "file" in df.index.names else ["signal"] * len(df)
    starts = df.index.get_level_values("start").total_seconds()
    ends = df.index.get_level_values("end").total_seconds()
    lines = {}
    for file, a, b, row in zip(files, starts, ends, df.itertuples(index=False)):
        name = _relative(file, root)
        s = _csv_field(name)
        if segmented:
            s += f",{a:.3f},{b:.3f}"
        s += f",{row.duration_s:.3f}"
        if isinstance(row.activation, str):
            s += f",{row.activation},{row.activation_score:.4f},{row.valence},{row.valence_score:.4f},{row.voiced_ratio:.3f},"
        else:
            s += ",,,,,,"
        if isinstance(row.error, str):
            s += _csv_field(row.error)
        lines.setdefault(name, []).append(s)
    text = header + "\n" + "".join(line + "\n" for name in sorted(lines) for line in lines[name])
    _write_atomic(path, text)


def _relative(file: str, root) -> str:
    base = os.fspath(root) if root is not None else os.path.dirname(file)
    if "://" in file:
        return file
    rel = os.path.relpath(file, base) if base else file
    return rel.replace(os.sep, "/")


def _csv_field(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n\r') else s


def _write_atomic(path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    write_atomic(path, write)


def write_atomic(path, write) -> None:
    """Calls `write(tmp)` on a temporary file beside `path`, then renames it over `path`: the
    file is whole or absent, never half-written."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
