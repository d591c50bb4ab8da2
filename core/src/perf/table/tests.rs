use super::*;

const HALF_STEP: f64 = 0.00136; // 2^(1/512) - 1, rounded up

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a / b - 1.0).abs() <= rel
}

fn table(op: Op, points: Vec<(Vec<&str>, Vec<u32>, f64)>) -> TableData {
    TableData {
        op,
        source_version: "1.0".into(),
        points: points
            .into_iter()
            .map(|(c, x, v)| ((c.into_iter().map(String::from).collect(), x), v))
            .collect(),
    }
}

/// GEMM latency = 2 µs + m·n·k / 1e12 ms, on a log grid.
fn gemm_ms(m: u32, n: u32, k: u32) -> f64 {
    0.002 + f64::from(m) * f64::from(n) * f64::from(k) / 1e12
}

const MS: &[u32] = &[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
const NS: &[u32] = &[256, 512, 1024, 4096];

fn synthetic_db() -> (PerfDb, Vec<u8>) {
    let mut gemm = Vec::new();
    for &n in NS {
        for &k in NS {
            for &m in MS {
                gemm.push((vec!["bfloat16"], vec![n, k, m], gemm_ms(m, n, k)));
            }
        }
    }
    // Context attention: 0.01 ms + 1e-6 · batch · isl² ms, sparse in isl × batch.
    let mut ctx = Vec::new();
    for &isl in &[16_u32, 128, 1024, 4096] {
        for &b in &[1_u32, 2, 4, 8] {
            if isl == 4096 && b > 2 {
                continue;
            }
            let v = 0.01 + 1e-6 * f64::from(b) * f64::from(isl) * f64::from(isl);
            ctx.push((vec!["bfloat16", "fp8"], vec![0, 128, 32, 8, isl, b], v));
        }
    }
    let mut comm = Vec::new();
    for &g in &[2_u32, 4, 8] {
        for e in 10..20 {
            let el = 1_u32 << e;
            comm.push((
                vec!["bfloat16"],
                vec![g, el],
                0.005 + f64::from(el) * f64::from(g) * 1e-9,
            ));
        }
    }
    let data = SystemData {
        system: "test_gpu".into(),
        notice: "synthetic".into(),
        backends: vec![BackendData {
            backend: "trtllm".into(),
            version: "1.0".into(),
            tables: vec![
                table(Op::Gemm, gemm),
                table(Op::ContextAttention, ctx),
                table(Op::CustomAllreduce, comm),
            ],
        }],
    };
    let bytes = encode_system(&data, 8).unwrap();
    assert_eq!(
        encode_system(&data, 8).unwrap(),
        bytes,
        "encoding is deterministic"
    );
    (PerfDb::from_files([bytes.as_slice()]).unwrap(), bytes)
}

#[test]
fn table_round_trip_and_coverage() {
    let (db, _) = synthetic_db();
    let cov = db.coverage();
    assert_eq!(cov.len(), 1);
    assert_eq!(
        (cov[0].system, cov[0].backend, cov[0].version),
        ("test_gpu", "trtllm", "1.0")
    );
    let ops: Vec<&str> = cov[0].tables.iter().map(|t| t.op.as_str()).collect();
    assert_eq!(ops, ["gemm", "context_attention", "custom_allreduce"]);
    assert_eq!(
        cov[0].tables[0].points as usize,
        MS.len() * NS.len() * NS.len()
    );
    assert_eq!(db.notice("test_gpu"), Some("synthetic"));
    let t = db.system("test_gpu", "trtllm").unwrap().unwrap();
    assert!(db.system("test_gpu", "vllm").unwrap().is_none());
    assert!(db.system("nope", "trtllm").unwrap().is_none());
    assert_eq!(t.points(Op::Gemm), MS.len() * NS.len() * NS.len());
    let keys: Vec<&[String]> = t.keys(Op::Gemm).collect();
    assert_eq!(keys, [["bfloat16".to_string()]]);
    let mut n = 0;
    t.for_each_point(Op::Gemm, &["bfloat16"], |c, v| {
        assert!(close(f64::from(v), gemm_ms(c[2], c[0], c[1]), HALF_STEP));
        n += 1;
    });
    assert_eq!(n, t.points(Op::Gemm));
}

#[test]
fn table_exact_at_grid_points() {
    let (db, _) = synthetic_db();
    let t = db.system("test_gpu", "trtllm").unwrap().unwrap();
    for &n in NS {
        for &k in NS {
            for &m in MS {
                let l = t.gemm("bfloat16", m.into(), n.into(), k.into()).unwrap();
                assert_eq!(l.source, Source::Measured { table: Op::Gemm });
                assert!(
                    close(l.ms, gemm_ms(m, n, k), HALF_STEP),
                    "{m} {n} {k}: {}",
                    l.ms
                );
            }
        }
    }
}

#[test]
fn table_interpolation_is_monotone_and_affine_exact() {
    let (db, _) = synthetic_db();
    let t = db.system("test_gpu", "trtllm").unwrap().unwrap();
    let mut prev = 0.0;
    for m in 1..=4096_u64 {
        let l = t.gemm("bfloat16", m, 1024, 1024).unwrap();
        assert!(l.ms >= prev, "not monotone at m={m}");
        prev = l.ms;
        if !MS.contains(&(m as u32)) {
            assert_eq!(l.source, Source::Interpolated { table: Op::Gemm });
        }
        // Latency is affine in m: linear interpolation is exact up to the
        // storage rounding.
        assert!(
            close(l.ms, gemm_ms(m as u32, 1024, 1024), 2.0 * HALF_STEP),
            "m={m}"
        );
    }
    // Interpolating in n and k too (bilinear in n·k is exact on a product grid
    // only at grid lines; between them it stays within the bracket).
    let l = t.gemm("bfloat16", 100, 768, 2048).unwrap();
    let lo = gemm_ms(100, 512, 1024);
    let hi = gemm_ms(100, 1024, 4096);
    assert!(l.ms > lo && l.ms < hi);
    assert_eq!(l.source, Source::Interpolated { table: Op::Gemm });
}

#[test]
fn table_extrapolation() {
    let (db, _) = synthetic_db();
    let t = db.system("test_gpu", "trtllm").unwrap().unwrap();
    // Past the grid in m: 2× the work costs ~2× (the slope of the last segment).
    let top = t.gemm("bfloat16", 4096, 4096, 4096).unwrap().ms;
    let l = t.gemm("bfloat16", 8192, 4096, 4096).unwrap();
    assert_eq!(l.source, Source::Extrapolated { table: Op::Gemm });
    assert!(
        close(l.ms, gemm_ms(8192, 4096, 4096), 3.0 * HALF_STEP),
        "{} vs {top}",
        l.ms
    );
    assert!(l.ms > 1.9 * top && l.ms <= 2.0 * top * (1.0 + HALF_STEP));
    // Past the grid in n and k at once.
    let l = t.gemm("bfloat16", 64, 16384, 8192).unwrap();
    assert!(close(l.ms, gemm_ms(64, 16384, 8192), 0.01), "{}", l.ms);
    // Below the grid: the first point (fixed costs do not shrink).
    let l = t.gemm("bfloat16", 64, 128, 1024).unwrap();
    assert_eq!(l.source, Source::Extrapolated { table: Op::Gemm });
    assert_eq!(l.ms, t.gemm("bfloat16", 64, 256, 1024).unwrap().ms);
    // Unknown dtype: no answer (the roofline takes over).
    assert!(t.gemm("nvfp4", 64, 256, 1024).is_none());
    assert!(
        t.moe(&MoeQuery {
            dtype: "bfloat16",
            num_tokens: 1,
            hidden: 1,
            inter: 1,
            topk: 1,
            num_experts: 1,
            moe_tp: 1,
            moe_ep: 1
        })
        .is_none()
    );
}

#[test]
fn table_square_axis_and_exact_axes() {
    let (db, _) = synthetic_db();
    let t = db.system("test_gpu", "trtllm").unwrap().unwrap();
    let q = |isl: u64, batch: u64| AttentionQuery {
        attn_dtype: "bfloat16",
        kv_dtype: "fp8",
        batch,
        seq_len: isl,
        num_heads: 32,
        num_kv_heads: 8,
        head_dim: 128,
        window: 0,
    };
    let want = |isl: f64, b: f64| 0.01 + 1e-6 * b * isl * isl;
    // Between isl grid points the isl² coordinate makes it exact.
    for (isl, b) in [(200_u64, 4_u64), (700, 8), (1500, 2), (3000, 1)] {
        let l = t.context_attention(&q(isl, b)).unwrap();
        assert_eq!(
            l.source,
            Source::Interpolated {
                table: Op::ContextAttention
            }
        );
        assert!(
            close(l.ms, want(isl as f64, b as f64), 2.0 * HALF_STEP),
            "isl {isl}: {}",
            l.ms
        );
    }
    // Sparse corner: isl 4096 was measured only up to batch 2; batch 8 is the
    // last segment continued (exact for latency affine in the batch).
    let l = t.context_attention(&q(4096, 8)).unwrap();
    assert_eq!(
        l.source,
        Source::Extrapolated {
            table: Op::ContextAttention
        }
    );
    assert!(close(l.ms, want(4096.0, 8.0), 0.01), "{}", l.ms);
    // Exact axes: an unmeasured head dim, window or kv dtype has no answer.
    assert!(
        t.context_attention(&AttentionQuery {
            head_dim: 64,
            ..q(128, 1)
        })
        .is_none()
    );
    assert!(
        t.context_attention(&AttentionQuery {
            window: 4096,
            ..q(128, 1)
        })
        .is_none()
    );
    assert!(
        t.context_attention(&AttentionQuery {
            kv_dtype: "bfloat16",
            ..q(128, 1)
        })
        .is_none()
    );
    // Collectives: exact in GPU count, linear in elements, 16-bit alias.
    let l = t.allreduce("half", 4, 1 << 12).unwrap();
    assert_eq!(
        l.source,
        Source::Measured {
            table: Op::CustomAllreduce
        }
    );
    assert!(close(l.ms, 0.005 + 4096.0 * 4.0 * 1e-9, HALF_STEP));
    assert!(t.allreduce("bfloat16", 16, 1 << 12).is_none());
    assert!(t.allgather("bfloat16", 4, 1 << 12).is_none());
    assert!(t.p2p("bfloat16", 1 << 20).is_none());
}

#[test]
fn table_rejects_bad_bytes_and_values() {
    let (_, bytes) = synthetic_db();
    assert_eq!(
        PerfDb::from_files([&b"nope"[..]]).unwrap_err(),
        PerfDbError::NotAPerfDb
    );
    assert!(PerfDb::from_files([&bytes[..bytes.len() / 2]]).is_err());
    // A corrupt block parses (header) but fails on use, without panicking.
    let mut bad = bytes.clone();
    let at = bad.len() - 40;
    bad[at] ^= 0xff;
    if let Ok(db) = PerfDb::from_files([bad.as_slice()]) {
        let _ = db.system("test_gpu", "trtllm");
    }
    let data = SystemData {
        system: "x".into(),
        notice: String::new(),
        backends: vec![BackendData {
            backend: "b".into(),
            version: "v".into(),
            tables: vec![table(Op::Gemm, vec![(vec!["bf16"], vec![1, 1, 1], 0.0)])],
        }],
    };
    assert_eq!(
        encode_system(&data, 8).unwrap_err(),
        PerfDbError::BadValue(0.0)
    );
    let data = SystemData {
        backends: vec![BackendData {
            tables: vec![table(Op::Gemm, vec![(vec!["bf16"], vec![1, 1], 1.0)])],
            ..data.backends[0].clone()
        }],
        ..data
    };
    assert!(matches!(
        encode_system(&data, 8),
        Err(PerfDbError::Shape { .. })
    ));
}

#[test]
fn table_builtin_loads_every_system() {
    let db = PerfDb::builtin();
    assert!(db.errors().is_empty(), "{:?}", db.errors());
    let systems: Vec<&str> = db.systems().collect();
    assert_eq!(
        systems,
        [
            "a100_sxm", "b200_sxm", "b300_sxm", "gb200", "gb300", "h100_sxm", "h200_sxm", "l40s"
        ]
    );
    for c in db.coverage() {
        let t = db.system(c.system, c.backend).unwrap().unwrap();
        assert_eq!(t.version(), c.version);
        for m in c.tables {
            let op = Op::from_name(&m.op).unwrap();
            assert_eq!(
                t.points(op),
                m.points as usize,
                "{} {} {}",
                c.system,
                c.backend,
                m.op
            );
        }
        assert!(db.notice(c.system).unwrap().contains("Apache License"));
    }
    // A sanity value: H100 TensorRT-LLM bf16 GEMM 4096³ takes ~0.15 ms
    // (≈ 0.9 PFLOP/s of 989 peak).
    let t = db.system("h100_sxm", "trtllm").unwrap().unwrap();
    let l = t.gemm("bfloat16", 4096, 4096, 4096).unwrap();
    assert_eq!(l.source, Source::Measured { table: Op::Gemm });
    let tflops = 2.0 * 4096f64.powi(3) / (l.ms * 1e-3) / 1e12;
    assert!((400.0..989.0).contains(&tflops), "{tflops} TFLOP/s");
}
