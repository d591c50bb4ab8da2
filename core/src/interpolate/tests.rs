use super::*;
use crate::catalog::model::Catalog;
use crate::catalog::system::SystemCatalog;
use crate::plan::Parallel;

fn input<'a>(
    model: &'a ModelArch,
    system: &'a SystemSpec,
    p: Mapping,
    d: Mapping,
) -> CurveInput<'a> {
    CurveInput {
        model,
        system,
        backend: ConcreteBackend::Vllm,
        quant: QuantOverrides::default(),
        isl: 3000,
        osl: 300,
        prefill: p,
        decode: d,
        prefill_granularity: PREFILL_GRANULARITY,
        decode_granularity: DECODE_GRANULARITY,
    }
}

fn qwen() -> (ModelArch, &'static SystemSpec) {
    (
        Catalog::builtin().resolve("Qwen/Qwen3-32B").unwrap(),
        SystemCatalog::builtin().lookup("h200_sxm").unwrap(),
    )
}

#[test]
fn linspace_covers_the_range_without_repeats() {
    assert_eq!(linspace(100, 1000, 4), vec![100, 400, 700, 1000]);
    assert_eq!(linspace(100, 100, 16), vec![100]);
    assert_eq!(linspace(100, 103, 16), vec![100, 101, 102, 103]);
    assert_eq!(linspace(500, 100, 3), vec![500]);
}

#[test]
fn max_context_follows_the_model_then_the_workload() {
    let (m, _) = qwen();
    assert_eq!(max_context(&m, 3000), 40960);
    let mut m2 = m.clone();
    m2.max_position_embeddings = 0;
    assert_eq!(max_context(&m2, 3000), 6000);
    assert_eq!(max_context(&m2, 0), FALLBACK_CONTEXT);
}

#[test]
fn prefill_sweep_has_the_granularity_and_rises_with_isl() {
    let (m, s) = qwen();
    let tp2 = Mapping::new(MappingKind::Tp, Parallel::tp(2));
    let p = prefill_profile(&input(&m, s, tp2, tp2)).unwrap();
    assert_eq!(p.prefill_isl.len(), 16);
    assert_eq!(p.prefill_isl.first(), Some(&100.0));
    assert_eq!(p.prefill_isl.last(), Some(&(40960.0 - 512.0)));
    for w in p.prefill_ttft.windows(2) {
        assert!(
            w[1] >= w[0],
            "TTFT must rise with ISL: {:?}",
            p.prefill_ttft
        );
    }
    for (i, (isl, ttft)) in p.prefill_isl.iter().zip(&p.prefill_ttft).enumerate() {
        let thpt = isl / ttft * 1000.0 / 2.0;
        assert!((thpt - p.prefill_thpt_per_gpu[i]).abs() < 1e-6 * thpt);
    }
}

#[test]
fn decode_sweep_spans_kv_usage_and_context() {
    let (m, s) = qwen();
    let tp2 = Mapping::new(MappingKind::Tp, Parallel::tp(2));
    let d = decode_profile(&input(&m, s, tp2, tp2)).unwrap();
    let n = d.x_kv_usage.len();
    assert!(n > 20);
    assert_eq!(d.y_context_length.len(), n);
    assert_eq!(d.z_itl.len(), n);
    assert_eq!(d.z_thpt_per_gpu.len(), n);
    assert!(d.max_kv_tokens > 100_000);
    assert!(d.x_kv_usage.iter().all(|&x| (0.0..=1.0).contains(&x)));
    assert!(
        d.x_kv_usage.iter().any(|&x| x > 0.5),
        "the sweep reaches a full cache"
    );
    let mut ctx: Vec<f64> = d.y_context_length.clone();
    ctx.dedup();
    assert_eq!(ctx.len(), 6, "{ctx:?}");
}

#[test]
fn surfaces_are_monotone_where_physics_demands() {
    let (m, s) = qwen();
    let tp4 = Mapping::new(MappingKind::Tp, Parallel::tp(4));
    let data = profile_data(&input(&m, s, tp4, tp4)).unwrap();
    let ps = PrefillSurface::new(&data.prefill);
    let mut last = 0.0;
    for isl in (100..40000).step_by(250) {
        let t = ps.ttft_ms(f64::from(isl));
        assert!(t >= last && t.is_finite(), "TTFT({isl}) = {t} < {last}");
        last = t;
    }
    let ds = DecodeSurface::new(&data.decode);
    for ctx in [500.0, 3150.0, 9000.0, 20000.0] {
        let mut last = 0.0;
        for k in 0..=100 {
            let kv = f64::from(k) / 100.0;
            let itl = ds.itl_ms(kv, ctx);
            assert!(
                itl >= last - 1e-9 && itl.is_finite(),
                "ITL({kv}, {ctx}) = {itl} < {last}"
            );
            last = itl;
        }
    }
    // The surface reproduces its own sample points.
    for i in 0..data.prefill.prefill_isl.len() {
        let t = ps.ttft_ms(data.prefill.prefill_isl[i]);
        assert!(
            (t - data.prefill.prefill_ttft[i]).abs() <= 1e-9 * t.max(1.0)
                || t > data.prefill.prefill_ttft[i]
        );
    }
}

#[test]
fn planner_bounds_follow_the_sla_headroom() {
    let (m, s) = qwen();
    let tp2 = Mapping::new(MappingKind::Tp, Parallel::tp(2));
    let data = profile_data(&input(&m, s, tp2, tp2)).unwrap();
    let ps = PrefillSurface::new(&data.prefill);
    let ds = DecodeSurface::new(&data.decode);
    let loose = planner_bounds(
        &SlaTarget::TtftItl {
            ttft_ms: 5000.0,
            itl_ms: 60.0,
        },
        300,
        &ps,
        &ds,
        3000,
    );
    let tight = planner_bounds(
        &SlaTarget::TtftItl {
            ttft_ms: 600.0,
            itl_ms: 15.0,
        },
        300,
        &ps,
        &ds,
        3000,
    );
    assert!(loose.prefill_queue_size_upper_bound > tight.prefill_queue_size_upper_bound);
    assert!(
        loose.decode_kv_cache_utilization_upper_bound
            >= tight.decode_kv_cache_utilization_upper_bound
    );
    assert!(loose.decode_kv_cache_utilization_upper_bound <= 0.95);
    assert!(tight.prefill_queue_size_lower_bound <= tight.prefill_queue_size_upper_bound);
}

#[test]
fn decode_surface_between_context_lines_tracks_a_direct_sweep() {
    // The surface at a context between its sampled lines against the engine
    // itself at that context: within 15% over the KV range both cover.
    let (m, s) = qwen();
    let tp4 = Mapping::new(MappingKind::Tp, Parallel::tp(4));
    let ci = input(&m, s, tp4, tp4);
    let data = decode_profile(&ci).unwrap();
    let ds = DecodeSurface::new(&data);
    let p = prepared(&ci, &tp4).unwrap();
    let ctx = 4250.0;
    let max_kv = data.max_kv_tokens as f64;
    for b in [8.0, 32.0, 64.0, 128.0] {
        let direct = p.lone_decode_ms(ctx, &[b])[0];
        let usage = b * ctx / max_kv;
        let fitted = ds.itl_ms(usage, ctx);
        let err = (fitted - direct).abs() / direct;
        assert!(
            err < 0.15,
            "batch {b}: surface {fitted:.2} ms vs direct {direct:.2} ms"
        );
    }
}
