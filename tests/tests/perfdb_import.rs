//! The distilled perf tables committed under `core/data/perfdb/` are exactly
//! what `dgdr calibrate import-aic` makes of `../shared/data/perfdb`, and
//! lookups at measured points give back the measurements.
//!
//! Skips (with a note) where `../shared` is absent. With `DGDR_BLESS=1` it
//! rewrites the committed files instead of failing on a difference.

use dgdr_core::perf::table::{
    AttentionQuery, MlaQuery, MoeQuery, Op, PerfDb, Source, SystemData, encode_system,
};
use dgdr_native::calibrate::aic::{ImportOptions, ImportSummary, distil_tables};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Half a storage step at the importer's default resolution (2^(1/128) − 1)
/// and a hair.
const HALF_STEP: f64 = 0.00544;

fn shared_perfdb() -> Option<(PathBuf, ImportOptions)> {
    let Some(shared) = dgdr_tests::shared_dir() else {
        eprintln!("note: ../shared is absent; skipping the perfdb import check");
        return None;
    };
    let dir = shared.join("data/perfdb");
    if !dir.join("query_versions.yaml").is_file() {
        eprintln!("note: ../shared/data/perfdb is absent; skipping the perfdb import check");
        return None;
    }
    let opts = ImportOptions {
        systems_dir: Some(shared.join("data/systems")),
        ..ImportOptions::new(committed_dir())
    };
    Some((dir, opts))
}

fn committed_dir() -> PathBuf {
    dgdr_tests::workspace_root().join("core/data/perfdb")
}

type Imported = (BTreeMap<String, SystemData>, ImportSummary, ImportOptions);

/// The import (about a minute in a debug build), done once for all tests.
fn imported() -> Option<&'static Imported> {
    static IMPORTED: OnceLock<Option<Imported>> = OnceLock::new();
    IMPORTED
        .get_or_init(|| {
            let (dir, opts) = shared_perfdb()?;
            let (systems, summary) = distil_tables(&dir, &opts, &mut |_| {}).expect("import");
            Some((systems, summary, opts))
        })
        .as_ref()
}

#[test]
fn perfdb_import_reproduces_committed_files() {
    let Some((systems, summary, opts)) = imported() else {
        return;
    };
    let files: BTreeMap<&String, Vec<u8>> = systems
        .iter()
        .map(|(s, d)| (s, encode_system(d, opts.bits).expect("encode")))
        .collect();
    if std::env::var_os("DGDR_BLESS").is_some() {
        for (system, bytes) in &files {
            std::fs::write(committed_dir().join(format!("{system}.bin")), bytes).expect("write");
        }
        println!("{summary}");
    }
    let committed: Vec<String> = dgdr_tests::files_with(&committed_dir(), &["bin"])
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(String::from))
        .collect();
    let produced: Vec<String> = files.keys().map(|s| s.to_string()).collect();
    assert_eq!(
        committed, produced,
        "committed files differ from the systems imported"
    );
    for (system, bytes) in &files {
        let path = committed_dir().join(format!("{system}.bin"));
        let old = std::fs::read(&path).expect("committed file");
        assert!(
            old == *bytes,
            "{} differs from a fresh import ({} vs {} bytes): re-run with DGDR_BLESS=1 \
             (or `dgdr calibrate import-aic`) and review",
            path.display(),
            old.len(),
            bytes.len()
        );
    }
    // Every system has all three backends and the core ops.
    assert_eq!(produced.len(), 8);
    for t in &summary.tables {
        assert!(
            t.points > 0,
            "{}/{}/{} kept nothing",
            t.system,
            t.backend,
            t.op
        );
    }
    for s in systems.values() {
        let backends: Vec<&str> = s.backends.iter().map(|b| b.backend.as_str()).collect();
        assert_eq!(backends, ["sglang", "trtllm", "vllm"], "{}", s.system);
        for b in &s.backends {
            for op in [
                Op::Gemm,
                Op::ContextAttention,
                Op::GenerationAttention,
                Op::Moe,
                Op::Nccl,
                Op::CustomAllreduce,
            ] {
                assert!(
                    b.tables.iter().any(|t| t.op == op),
                    "{} {} lacks {op}",
                    s.system,
                    b.backend
                );
            }
        }
    }
}

#[test]
fn perfdb_lookups_return_every_measured_point() {
    let Some((systems, _, _)) = imported() else {
        return;
    };
    let db = PerfDb::builtin();
    assert!(db.errors().is_empty(), "{:?}", db.errors());
    let mut checked = 0_usize;
    for (system, data) in systems {
        for be in &data.backends {
            let t = db
                .system(system, &be.backend)
                .expect("decodes")
                .expect("present");
            assert_eq!(t.version(), be.version);
            for table in &be.tables {
                assert_eq!(
                    t.source_version(table.op),
                    Some(table.source_version.as_str())
                );
                assert_eq!(
                    t.points(table.op),
                    table.points.len(),
                    "{system} {} {}",
                    be.backend,
                    table.op
                );
                for ((cats, coords), &ms) in &table.points {
                    let cats: Vec<&str> = cats.iter().map(String::as_str).collect();
                    let q: Vec<u64> = coords.iter().map(|&c| u64::from(c)).collect();
                    let l = t
                        .lookup(table.op, &cats, &q)
                        .expect("a measured point answers");
                    assert_eq!(l.source, Source::Measured { table: table.op });
                    assert!(
                        (l.ms / ms - 1.0).abs() <= HALF_STEP,
                        "{system} {} {} {cats:?} {coords:?}: {} vs {ms}",
                        be.backend,
                        table.op,
                        l.ms
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1_000_000, "{checked}");
}

/// Values read from the Parquet files with an independent reader (pyarrow).
#[test]
fn perfdb_spot_checks_against_parquet() {
    if shared_perfdb().is_none() {
        return;
    }
    let db = PerfDb::builtin();
    let near = |got: Option<dgdr_core::perf::table::Lookup>, want: f64| {
        let l = got.expect("a value");
        assert!(matches!(l.source, Source::Measured { .. }), "{l:?}");
        assert!((l.ms / want - 1.0).abs() <= HALF_STEP, "{} vs {want}", l.ms);
    };
    let sys = |s: &str, b: &str| db.system(s, b).unwrap().unwrap();

    near(
        sys("h100_sxm", "trtllm").gemm("bfloat16", 4096, 4096, 4096),
        0.1742853323618571,
    );
    near(
        sys("b200_sxm", "vllm").gemm("nvfp4", 129, 7168, 2048),
        0.009119999905427298,
    );
    let attn = AttentionQuery {
        attn_dtype: "bfloat16",
        kv_dtype: "bfloat16",
        batch: 4,
        seq_len: 2048,
        num_heads: 32,
        num_kv_heads: 8,
        head_dim: 128,
        window: 0,
    };
    near(
        sys("h200_sxm", "sglang").context_attention(&attn),
        0.3094752073287964,
    );
    // a100 vLLM 0.14.0 files have no window column: full attention.
    near(
        sys("a100_sxm", "vllm").context_attention(&AttentionQuery {
            batch: 1,
            seq_len: 4096,
            ..attn
        }),
        0.899616003036499,
    );
    // Decode: KV length = isl (1) + step (4095).
    let gen_q = AttentionQuery {
        kv_dtype: "fp8",
        batch: 64,
        seq_len: 4096,
        num_heads: 8,
        num_kv_heads: 1,
        ..attn
    };
    near(
        sys("h100_sxm", "trtllm").generation_attention(&gen_q),
        0.03877866764863332,
    );
    let mla = MlaQuery {
        mla_dtype: "bfloat16",
        kv_dtype: "fp8",
        num_heads: 16,
        seq_len: 8192,
        batch: 32,
    };
    near(
        sys("b200_sxm", "trtllm").mla_generation(&mla),
        0.0373279998699824,
    );
    let moe = MoeQuery {
        dtype: "fp8_block",
        num_tokens: 256,
        hidden: 7168,
        inter: 2048,
        topk: 8,
        num_experts: 256,
        moe_tp: 1,
        moe_ep: 8,
    };
    near(sys("h100_sxm", "trtllm").moe(&moe), 0.5058303833007812);
    // gb200 NCCL 2.23 (its system's version) measured this point 5 times: the fastest.
    near(
        sys("gb200", "sglang").allgather("bfloat16", 4, 1 << 20),
        0.01815,
    );
    // l40s vLLM 0.24.0 has no comm table: back-filled from 0.22.0; CUDA graph over eager.
    let l40s = sys("l40s", "vllm");
    assert_eq!(l40s.source_version(Op::CustomAllreduce), Some("0.22.0"));
    near(l40s.allreduce("bfloat16", 2, 65536), 0.010988479852676392);
}
