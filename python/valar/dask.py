"""Labelling on Dask: files spread over a cluster's workers, one DataFrame back.

Workers need the package (``pip install ./python`` on each) and the audio: a filesystem every
worker mounts at the same path, or URLs that fsspec opens (``s3://``, ``gs://``, ``http://``
…, with the matching fsspec backend installed on the workers).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional, Sequence, Union

import pandas as pd

from . import _signal
from ._labeller import Labeller, to_label_csv, write_atomic

_LABELLERS: dict = {}


def _labeller(model: Optional[str], segment: Optional[float]) -> Labeller:
    # One loaded model per worker process and recipe, reused by every task it runs.
    key = (model, segment)
    if key not in _LABELLERS:
        _LABELLERS[key] = Labeller(model, segment)
    return _LABELLERS[key]


def _is_url(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def _renamed(df: pd.DataFrame, names: dict) -> pd.DataFrame:
    files = [names.get(f, f) for f in df.index.get_level_values("file")]
    df.index = pd.MultiIndex.from_arrays(
        [files, df.index.get_level_values("start"), df.index.get_level_values("end")], names=["file", "start", "end"]
    )
    return df


def _label_chunk(paths: Sequence[str], model: Optional[str], segment: Optional[float]) -> pd.DataFrame:
    """Runs on a worker: labels `paths` (local paths, file:// or other fsspec URLs) in order;
    the frame names each file as it was given."""
    labeller = _labeller(model, segment)
    if not any(_is_url(p) for p in paths):
        local = [p[len("file://") :] if p.startswith("file://") else p for p in paths]
        return _renamed(labeller.process_files(local), dict(zip(local, paths)))
    import fsspec

    folder = tempfile.mkdtemp(prefix="valar-dask-")
    try:
        local = []
        for i, p in enumerate(paths):
            if not _is_url(p):
                local.append(p[len("file://") :] if p.startswith("file://") else p)
                continue
            # Fetched whole (streamed in 1 MB blocks) under its own extension, labelled, removed.
            copy = os.path.join(folder, f"{i}-{os.path.basename(p.split('?')[0]) or 'audio'}")
            with fsspec.open(p, "rb") as src, open(copy, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            local.append(copy)
        return _renamed(labeller.process_files(local), dict(zip(local, paths)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _files(paths_or_folder) -> tuple:
    """(files, root): a folder gives the files `valar label FOLDER` takes, relative names
    counted from it; a list is taken as it is."""
    if isinstance(paths_or_folder, (str, os.PathLike)) and not _is_url(os.fspath(paths_or_folder)):
        root = os.fspath(paths_or_folder)
        if os.path.isdir(root):
            return _signal.files_under(root, None), root
        return [root], None
    return [os.fspath(p) for p in paths_or_folder], None


def label(
    paths_or_folder: Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]],
    client=None,
    segment: Optional[float] = None,
    *,
    model: Union[str, os.PathLike, None] = None,
    files_per_task: int = 8,
    out: Union[str, os.PathLike, None] = None,
) -> pd.DataFrame:
    """Labels every file (or every ``segment``-second window) across a Dask cluster and
    returns one frame in file order, the rows ``valar label`` gives for the same files.

    ``client``: a ``distributed.Client`` (local or ``Client("tcp://scheduler:8786")``); None:
    the current client if there is one, else Dask's local scheduler. Files go out in tasks of
    ``files_per_task``. ``model``: a model folder every worker can read (None: the bundled
    model). ``out``: also write the result, ``.csv`` as ``valar label``'s CSV (byte for byte),
    ``.parquet`` with pyarrow; written whole or not at all.
    """
    if out is not None and not os.fspath(out).endswith((".csv", ".parquet")):
        raise ValueError(f"{os.fspath(out)}: write .csv or .parquet")
    files, root = _files(paths_or_folder)
    if files_per_task < 1:
        raise ValueError("files_per_task must be at least 1")
    model = None if model is None else os.path.abspath(os.fspath(model))
    chunks = [files[i : i + files_per_task] for i in range(0, len(files), files_per_task)]
    if client is None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):
            client = None
    if not chunks:
        frames = []
    elif client is not None:
        futures = client.map(_label_chunk, chunks, model=model, segment=segment, pure=False)
        frames = client.gather(futures)
    else:
        import dask

        frames = list(dask.compute(*[dask.delayed(_label_chunk)(c, model, segment) for c in chunks]))
    if frames:
        df = pd.concat(frames)
    else:
        df = _empty(segment)
    df.attrs["segment"] = segment
    if out is not None:
        _write(df, out, root)
    return df


def _empty(segment) -> pd.DataFrame:
    from ._labeller import LABEL_COLUMNS

    index = pd.MultiIndex.from_arrays([[], pd.to_timedelta([]), pd.to_timedelta([])], names=["file", "start", "end"])
    df = pd.DataFrame(columns=LABEL_COLUMNS, index=index)
    df.attrs["segment"] = segment
    return df


def _write(df: pd.DataFrame, out, root) -> None:
    out = os.fspath(out)
    if out.endswith(".csv"):
        to_label_csv(df, out, root=root)
    elif out.endswith(".parquet"):
        flat = df.reset_index()
        flat["start"] = flat["start"].dt.total_seconds()
        flat["end"] = flat["end"].dt.total_seconds()
        write_atomic(out, lambda tmp: flat.to_parquet(tmp, index=False))
    else:
        raise ValueError(f"{out}: write .csv or .parquet")
