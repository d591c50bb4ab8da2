//! Helpers shared by the cross-crate tests.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `../shared` beside the workspace, when this machine has it (development and
/// CI machines do; a user's machine does not, and tests that need it skip).
pub fn shared_dir() -> Option<PathBuf> {
    let p = workspace_root().join("../shared");
    p.is_dir().then_some(p)
}

/// Every file under `dir` (recursively) with one of `extensions`, sorted.
pub fn files_with(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| extensions.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Builds the core's wasm module (dgdr-wasm with the byte ABI) and returns its
/// path. `DGDR_WASM` names a prebuilt module instead.
pub fn core_wasm() -> PathBuf {
    if let Ok(p) = std::env::var("DGDR_WASM") {
        return PathBuf::from(p);
    }
    let root = workspace_root();
    let target_dir = root.join("target/wasm-parity");
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "build",
            "-p",
            "dgdr-wasm",
            "--target",
            "wasm32-unknown-unknown",
            "--no-default-features",
            "--features",
            "abi",
            "--release",
            "--target-dir",
        ])
        .arg(&target_dir)
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building the wasm core failed (is the target installed? `rustup target add wasm32-unknown-unknown`)"
    );
    target_dir.join("wasm32-unknown-unknown/release/dgdr_wasm.wasm")
}
