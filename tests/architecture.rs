//! The layering ARCHITECTURE.md promises, held by the sources themselves: nothing outside
//! `src/cli` and `src/app` uses them, the app does not use the CLI, clap lives only in the CLI
//! and the binary, and the eGeMAPS crate depends on nothing heavy.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// (file relative to the root, line) for every line of code (comments skipped) containing any of `needles`.
fn uses(dirs: &[&str], needles: &[&str]) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for d in dirs {
        rust_files(&root().join(d), &mut files);
    }
    let mut hits = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root()).unwrap().display().to_string();
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            if needles.iter().any(|n| code.contains(n)) {
                hits.push((rel.clone(), line.trim().to_string()));
            }
        }
    }
    hits
}

#[test]
fn only_the_binary_uses_the_cli_and_the_app() {
    let bad: Vec<_> = uses(&["src", "crates"], &["crate::cli", "crate::app", "super::cli", "super::app"])
        .into_iter()
        .filter(|(f, l)| {
            let names_cli = l.contains("crate::cli") || l.contains("super::cli");
            // The CLI may open the app (`valar` without arguments); the app never uses the CLI.
            if f.starts_with("src/cli/") {
                false
            } else if f.starts_with("src/app/") {
                names_cli
            } else {
                true
            }
        })
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn clap_lives_only_in_the_cli_and_the_binary() {
    let bad: Vec<_> = uses(&["src", "crates"], &["clap::", "clap ::", "#[arg", "#[command", "ValueEnum"])
        .into_iter()
        .filter(|(f, _)| !(f.starts_with("src/cli/") || f == "src/main.rs"))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_egemaps_crate_depends_on_nothing_heavy() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["tree", "-p", "valar-egemaps", "-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("realfft"), "{tree}");
    for heavy in ["burn", "eframe", "egui", "cpal", "symphonia", "wgpu", "linfa", "hound", "rubato", "clap"] {
        assert!(!tree.lines().any(|l| l.starts_with(&format!("{heavy} ")) || l.starts_with(&format!("{heavy}-"))), "{heavy} in:\n{tree}");
    }
}
