"""The Python package's figures, in one run on the same files:

  python3 python/benchmarks/figures.py [N]   (N files per corpus, default 25)

1. valar.Smile().process_files against opensmile.Smile().process_files (eGeMAPSv02
   functionals), one worker each: CPU seconds (process time, so both are measured the same
   way in-process) and audio seconds per CPU second.
2. valar.dask.label on a distributed.LocalCluster with 1 and with 2 worker processes (one
   thread each): wall seconds and files per second.
"""

import os
import sys
import time
from pathlib import Path

import opensmile
import valar
import valar.dask
from distributed import Client, LocalCluster


def main():
    here = Path(__file__).resolve().parents[2]
    shared = Path(os.environ.get("VALAR_SHARED_DIR", here.parent / "shared"))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    files = []
    for corpus in ["emodb", "ravdess", "baved", "banglaser"]:
        lines = (shared / "corpora" / corpus / "manifest.csv").read_text().splitlines()[1:]
        paths = [str(shared / "corpora" / corpus / line.split(",")[0]) for line in lines]
        files += paths[:: max(1, len(paths) // n)][:n]

    ours = valar.Smile(num_workers=1)
    theirs = opensmile.Smile(opensmile.FeatureSet.eGeMAPSv02, opensmile.FeatureLevel.Functionals, num_workers=1)
    ours.process_files(files[:2])
    theirs.process_files(files[:2])
    t0 = time.process_time()
    df = ours.process_files(files)
    t_ours = time.process_time() - t0
    t0 = time.process_time()
    theirs.process_files(files)
    t_theirs = time.process_time() - t0
    audio_s = sum((end - start).total_seconds() for _, start, end in df.index)
    print(f"{len(files)} files, {audio_s:.0f} s of audio")
    print(f"valar.Smile     {t_ours:7.2f} CPU s  {audio_s / t_ours:7.0f} audio s per CPU s")
    print(f"opensmile.Smile {t_theirs:7.2f} CPU s  {audio_s / t_theirs:7.0f} audio s per CPU s")
    print(f"valar is {t_theirs / t_ours:.2f}x faster per core")

    for workers in [1, 2]:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
            valar.dask.label(files[:workers * 2], client)  # each worker loads the model once
            t0 = time.perf_counter()
            valar.dask.label(files, client, files_per_task=4)
            wall = time.perf_counter() - t0
        print(f"valar.dask.label, {workers} worker(s): {wall:6.2f} s wall, {len(files) / wall:5.1f} files/s")


if __name__ == "__main__":  # Dask starts its workers by re-importing this module
    main()
