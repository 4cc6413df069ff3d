"""Shared fixtures: the shared corpora, the `valar` binary built beside the package, and small
folders of real speech (copied from the corpora, never committed)."""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    env = os.environ.get("VALAR_SHARED_DIR")
    for candidate in ([Path(env)] if env else []) + [REPO.parent / "shared", REPO / "shared"]:
        if (candidate / "corpora").is_dir():
            return candidate
    pytest.fail("the shared corpora were not found: set VALAR_SHARED_DIR (README: Tests)")


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def valar_bin() -> Path:
    """The CLI of the same checkout (scripts/test.sh builds it before the Python tests)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    exe = target / "release" / "valar"
    if not exe.is_file():
        subprocess.run(["cargo", "build", "--release", "--bin", "valar"], cwd=REPO, check=True)
    return exe


def corpus_files(shared: Path, corpus: str, n: int) -> list:
    """`n` utterances of `corpus` spread evenly over its manifest (reproducible)."""
    lines = (shared / "corpora" / corpus / "manifest.csv").read_text().splitlines()[1:]
    paths = [shared / "corpora" / corpus / line.split(",")[0] for line in lines]
    step = max(1, len(paths) // n)
    return paths[::step][:n]


@pytest.fixture(scope="session")
def speech(shared, tmp_path_factory) -> Path:
    """A folder of 24 real utterances from all four corpora (FLAC, 16 kHz), a 16-bit WAV copy
    of two of them, 2 s of digital silence and a file that is not audio."""
    folder = tmp_path_factory.mktemp("speech")
    for corpus in ["emodb", "ravdess", "baved", "banglaser"]:
        for i, f in enumerate(corpus_files(shared, corpus, 6)):
            shutil.copy(f, folder / f"{corpus}-{i:02d}.flac")
    for name in ["emodb-00", "ravdess-03"]:
        x, fs = sf.read(folder / f"{name}.flac", dtype="int16")
        sf.write(folder / f"{name}-pcm16.wav", x, fs, subtype="PCM_16")
    sf.write(folder / "silence.wav", np.zeros(32000, dtype=np.int16), 16000, subtype="PCM_16")
    (folder / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt this is not audio")
    return folder


def run_valar(exe: Path, *args) -> subprocess.CompletedProcess:
    """Runs the CLI; exit status 1 is what it gives when some file (broken.wav) failed while
    the rest went through."""
    done = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True)
    assert done.returncode in (0, 1) and "panicked" not in done.stderr, done.stderr
    return done
