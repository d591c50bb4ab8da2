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

/// Whether the goldens are being regenerated (`UPDATE_GOLDEN=1`).
pub fn updating() -> bool {
    std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Every file under `dir` (recursively), sorted.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    walk(dir, |_| true)
}

/// Every file under `dir` (recursively) with one of `extensions`, sorted.
pub fn files_with(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    walk(dir, |p| {
        p.extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| extensions.contains(&x))
    })
}

fn walk(dir: &Path, keep: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
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
            } else if keep(&p) {
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

/// The JSON schemas rendered manifests are checked against (committed under
/// `tests/schemas/`: the DGD's from the CRD, the ConfigMap's).
pub mod schema {
    use serde_json::Value;
    use std::sync::OnceLock;

    /// `tests/schemas/dynamographdeployment.v1alpha1.json`, relative to `tests/`.
    pub const DGD_FILE: &str = "schemas/dynamographdeployment.v1alpha1.json";
    /// `tests/schemas/configmap.v1.json`, relative to `tests/`.
    pub const CONFIGMAP_FILE: &str = "schemas/configmap.v1.json";

    fn load(file: &str) -> jsonschema::Validator {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the render_schema test with UPDATE_GOLDEN=1 writes it)",
                path.display()
            )
        });
        let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
        jsonschema::draft7::new(&schema).expect("the schema compiles")
    }

    /// The DGD schema.
    pub fn dgd() -> &'static jsonschema::Validator {
        static V: OnceLock<jsonschema::Validator> = OnceLock::new();
        V.get_or_init(|| load(DGD_FILE))
    }

    /// The ConfigMap schema.
    pub fn configmap() -> &'static jsonschema::Validator {
        static V: OnceLock<jsonschema::Validator> = OnceLock::new();
        V.get_or_init(|| load(CONFIGMAP_FILE))
    }

    /// Every violation of `doc`, with its path.
    pub fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
        v.iter_errors(doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }
}
