//! Native vs wasm parity: every corpus document, validated by the native core
//! and by the core's `.wasm` under wasmtime, gives byte-identical responses.

use dgdr_core::api::{self, Op};
use dgdr_native::wasm_runtime::{Limits, WasmCore};
use dgdr_tests::{core_wasm, files_with, shared_dir, workspace_root};
use serde_json::json;
use std::sync::OnceLock;

/// The core's module, compiled once for all the tests of this file
/// (compiling it is most of their time).
fn compiled() -> &'static WasmCore {
    static CORE: OnceLock<WasmCore> = OnceLock::new();
    CORE.get_or_init(|| {
        WasmCore::from_file(&core_wasm(), Limits::default()).expect("wasm core loads")
    })
}

fn requests() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![workspace_root().join("tests/corpus")];
    if let Some(s) = shared_dir() {
        dirs.push(s.join("dynamo/samples"));
        dirs.push(s.join("dynamo/conformance"));
    }
    for dir in dirs {
        for f in files_with(&dir, &["yaml", "yml", "json"]) {
            if f.components().any(|c| c.as_os_str() == "expected") {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            for opts in [
                json!({}),
                json!({"purpose": "what-if", "gpuDiscovery": false}),
            ] {
                let req = json!({"text": text, "options": opts}).to_string();
                out.push((f.display().to_string(), req.into_bytes()));
            }
        }
    }
    // A few inline cases, so the test means something even without a corpus.
    for text in [
        "model: Qwen/Qwen3-32B\nimage: x\n",
        "model: ''\nworkload: {isl: two, requestRate: 1, concurrency: 2}\nsla: {ttf: 1, itl: -1}\n",
        "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeploymentRequest\nspec:\n  model: m\n  backend: vllm\n  profilingConfig:\n    profilerImage: i\n    config: {sla: {ttft: fast}}\n",
        "{not json",
        "- a\n- b\n",
    ] {
        out.push((
            format!("inline: {text:?}"),
            json!({"text": text}).to_string().into_bytes(),
        ));
    }
    out
}

#[test]
fn validation_is_byte_identical_native_and_wasm() {
    let core = compiled();
    let reqs = requests();
    assert!(reqs.len() >= 5);
    for (name, req) in &reqs {
        let native = api::call(Op::Validate as u32, req);
        let sandboxed = core
            .call(Op::Validate as u32, req)
            .expect("wasm call succeeds");
        assert!(
            native == sandboxed,
            "{name}: native and wasm differ\nnative: {}\nwasm:   {}",
            String::from_utf8_lossy(&native),
            String::from_utf8_lossy(&sandboxed)
        );
    }
    eprintln!("parity: {} requests byte-identical", reqs.len());
}

#[test]
fn sandbox_limits_hold() {
    let core = compiled().with_limits(Limits {
        memory_bytes: 64 << 20,
        fuel: 1_000,
    });
    let req = json!({"text": "model: m\n"}).to_string();
    assert!(
        core.call(Op::Validate as u32, req.as_bytes()).is_err(),
        "fuel limit must stop the call"
    );
}

/// The rapid profile, natively and in the sandbox: the same manifests, the
/// same candidates, the same curves, byte for byte.
#[test]
fn profile_is_byte_identical_native_and_wasm() {
    let core = compiled().with_limits(Limits {
        memory_bytes: 1 << 30,
        fuel: 2_000_000_000_000,
    });
    let root = workspace_root();
    let mut files = files_with(&root.join("examples"), &["yaml"]);
    files.extend(files_with(
        &root.join("tests/corpus/upstream/samples"),
        &["yaml"],
    ));
    let mut succeeded = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let req = json!({"text": text}).to_string();
        let native = api::call(Op::Profile as u32, req.as_bytes());
        let sandboxed = core
            .call(Op::Profile as u32, req.as_bytes())
            .expect("wasm call succeeds");
        assert!(
            native == sandboxed,
            "{}: native and wasm profiles differ ({} vs {} bytes)",
            f.display(),
            native.len(),
            sandboxed.len()
        );
        if native.starts_with(br#"{"ok":true"#) {
            succeeded += 1;
        }
    }
    assert!(succeeded >= 2, "only {succeeded} profiles succeeded");
    eprintln!(
        "parity: {} profiles byte-identical ({succeeded} successful)",
        files.len()
    );
}
