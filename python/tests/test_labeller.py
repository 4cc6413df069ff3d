"""valar.Labeller against `valar label` on the same files: the same rows, byte for byte once
written with to_label_csv."""

import numpy as np
import pytest
import soundfile as sf
import valar
from conftest import run_valar


@pytest.mark.parametrize("segment", [None, 1.0])
def test_same_rows_as_valar_label(speech, valar_bin, tmp_path, segment):
    cli = tmp_path / "cli.csv"
    seg = ["--segment", segment] if segment else []
    run_valar(valar_bin, "label", speech, "-o", cli, *seg)
    df = valar.Labeller(segment=segment).process_folder(str(speech))
    ours = tmp_path / "py.csv"
    valar.to_label_csv(df, ours, root=speech)
    assert ours.read_text() == cli.read_text()
    files = df.index.get_level_values("file")
    silence = df[files.str.endswith("silence.wav")]
    assert (silence.error == "no speech").all() and silence.activation.isna().all()
    broken = df[files.str.endswith("broken.wav")]
    assert len(broken) == 1 and "broken.wav" in broken.error.iloc[0]
    speech_rows = df[df.activation.notna()]
    assert set(speech_rows.activation) <= {"high", "low"} and set(speech_rows.valence) <= {"negative", "positive"}
    assert speech_rows.activation_score.between(0, 1).all() and speech_rows.valence_score.between(0, 1).all()


def test_adapt_matches_valar_label_adapt(speech, valar_bin, tmp_path):
    cli = tmp_path / "cli.csv"
    run_valar(valar_bin, "label", speech, "-o", cli, "--adapt")
    labeller = valar.Labeller(adapt=True)
    df = labeller.process_folder(str(speech))
    assert labeller.adapted  # 26 files with speech ≥ ADAPT_MIN_ROWS
    ours = tmp_path / "py.csv"
    valar.to_label_csv(df, ours, root=speech)
    assert ours.read_text() == cli.read_text()
    # Adapting the features only, as `--adaptation features`: other labels for this model.
    cli_features = tmp_path / "cli-features.csv"
    run_valar(valar_bin, "label", speech, "-o", cli_features, "--adapt", "--adaptation", "features")
    features_only = tmp_path / "py-features.csv"
    valar.to_label_csv(valar.Labeller(adapt=True, adaptation="features").process_folder(str(speech)), features_only, root=speech)
    assert features_only.read_text() == cli_features.read_text() != cli.read_text()
    with pytest.raises(ValueError, match="unknown adaptation 'code'.*features, representation"):
        valar.Labeller(adapt=True, adaptation="code").process_folder(str(speech))
    # Too few rows: nothing adapted, and the labeller says so.
    few = valar.Labeller(adapt=True)
    few.process_files([str(speech / "emodb-00.flac")])
    assert not few.adapted


def test_adapt_per_folder_matches_valar_label(speech, valar_bin, tmp_path):
    """Two folders of 24 files (one with speech enough) and one of two: the same rows as
    valar label --adapt-per-folder, and the small folder named."""
    import shutil

    root = tmp_path / "speakers"
    files = sorted(p for p in speech.iterdir() if p.suffix in (".flac", ".wav") and p.name not in ("broken.wav", "silence.wav"))
    for name, chosen in [("a", files), ("b", files[::-1]), ("few", files[:2])]:
        (root / name).mkdir(parents=True)
        for i, f in enumerate(chosen):
            shutil.copy(f, root / name / f"{i:02d}{f.suffix}")
    cli = tmp_path / "cli.csv"
    run_valar(valar_bin, "label", root, "-o", cli, "--adapt-per-folder")
    labeller = valar.Labeller(adapt_per_folder=True)
    df = labeller.process_folder(str(root))
    ours = tmp_path / "py.csv"
    valar.to_label_csv(df, ours, root=root)
    assert ours.read_text() == cli.read_text()
    assert labeller.adapted and labeller.unadapted_folders == [str(root / "few")]
    plain = valar.Labeller().process_folder(str(root))
    few = df.index.get_level_values("file").str.contains("/few/")
    assert df[few].equals(plain[few]) and not df[~few].equals(plain[~few])


def test_signals_and_excerpts_label_as_files_do(speech):
    labeller = valar.Labeller(segment=1.0)
    f = speech / "ravdess-03-pcm16.wav"
    x, fs = sf.read(f, dtype="int16")
    a = labeller.process_file(str(f))
    b = labeller.process_signal(x, fs, file=str(f))
    assert a.equals(b)
    # An excerpt's windows count from the file's start.
    c = labeller.process_file(str(f), start=1.0)
    assert c.index.get_level_values("start")[0].total_seconds() == 1.0
    np.testing.assert_allclose(c.activation_score.iloc[0], labeller.process_signal(x[fs:], fs).activation_score.iloc[0])
    with pytest.raises(ValueError, match="segment"):
        valar.Labeller(segment=0.01).process_file(str(f))
    with pytest.raises(valar.ValarError, match="model.json"):
        valar.Labeller(model=str(speech))
