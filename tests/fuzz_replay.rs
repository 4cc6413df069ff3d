//! The fuzz targets' committed inputs replayed as ordinary tests: every corpus seed and every
//! crash reproducer under fuzz/ goes through the same harness the fuzzer ran (fuzz/harness.rs),
//! so a fixed crash stays fixed. `cargo fuzz` itself needs a nightly toolchain; this does not.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for kind in ["corpus", "artifacts"] {
        if let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) {
            files.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(files.len() >= 3, "fuzz/corpus/{target} holds {} inputs", files.len());
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{target}: {} panics", f.display());
        }
    }
}

#[test]
fn decode_inputs_replay() {
    replay("decode", harness::decode);
}

#[test]
fn model_inputs_replay() {
    replay("model", harness::model);
}

#[test]
fn csv_inputs_replay() {
    replay("csv", harness::csv);
}

#[test]
fn extractor_inputs_replay() {
    replay("extractor", harness::extractor);
}
