"""valar.dask.label on a real distributed.LocalCluster with 2 worker processes, against
`valar label` on the same files."""

import pandas as pd
import pytest
import valar
import valar.dask
from conftest import run_valar
from distributed import Client, LocalCluster


def test_urls_and_the_local_scheduler(speech, tmp_path):
    """Runs before the cluster exists, so client=None takes Dask's local scheduler."""
    files = sorted(str(p) for p in speech.glob("emodb-0*.flac"))
    urls = ["file://" + f for f in files]
    by_url = valar.dask.label(urls, client=None)
    assert list(by_url.index.get_level_values("file")) == urls
    plain = valar.Labeller().process_files(files)
    pd.testing.assert_frame_equal(by_url.droplevel("file"), plain.droplevel("file"))
    with pytest.raises(ValueError, match="csv or .parquet"):
        valar.dask.label(files, out=tmp_path / "x.txt")


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


@pytest.mark.parametrize("segment", [None, 1.5])
def test_cluster_labels_as_valar_label(speech, valar_bin, tmp_path, client, segment):
    cli = tmp_path / "cli.csv"
    run_valar(valar_bin, "label", speech, "-o", cli, *(["--segment", segment] if segment else []))
    out = tmp_path / "dask.csv"
    df = valar.dask.label(str(speech), client, segment=segment, files_per_task=3, out=out)
    assert out.read_text() == cli.read_text()
    # Both workers took part, and the frame is the one Labeller gives on one machine.
    loaded = client.run(lambda: len(__import__("valar.dask").dask._LABELLERS))
    assert len(loaded) == 2 and all(n >= 1 for n in loaded.values()), loaded
    local = valar.Labeller(segment=segment).process_folder(str(speech))
    pd.testing.assert_frame_equal(df, local)
