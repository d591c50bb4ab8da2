//! Worker command lines per backend (SPEC §5.3).
//!
//! Every disaggregated worker gets `--disaggregation-mode prefill|decode`
//! (upstream once rendered workers without it, SPEC §9). Parallel flags are
//! always written, also when 1, so a reader sees the whole layout.

use super::RenderError;
use crate::catalog::model::KvCacheDtype;
use crate::plan::EngineConfig;
use serde_json::{Map, Value, json};

/// The role of a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Aggregated: prefill and decode on one engine.
    Agg,
    Prefill,
    Decode,
}

impl Role {
    /// `agg`, `prefill` or `decode` (vLLM's `DYN_BENCHMARK_MODE`, file names).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agg => "agg",
            Role::Prefill => "prefill",
            Role::Decode => "decode",
        }
    }

    /// The DGD `subComponentType` and `--disaggregation-mode` value; `None` for agg.
    pub fn disagg_mode(self) -> Option<&'static str> {
        match self {
            Role::Agg => None,
            Role::Prefill => Some("prefill"),
            Role::Decode => Some("decode"),
        }
    }
}

/// How the worker names the model: where it loads the weights from, and the
/// name clients use.
#[derive(Debug, Clone, Copy)]
pub struct ModelNames<'a> {
    /// The HuggingFace id, or the directory inside the model-cache PVC.
    pub path: &'a str,
    /// `spec.model`, the name served to clients.
    pub served: &'a str,
}

/// vLLM's connector for disaggregated KV transfer (as in the examples).
pub const VLLM_KV_TRANSFER_CONFIG: &str = r#"{"kv_connector":"NixlConnector","kv_role":"kv_both"}"#;

/// The SGLang disaggregation bootstrap port (as in the examples).
pub const SGLANG_BOOTSTRAP_PORT: u16 = 12345;

/// TRT-LLM's KV-cache block size and token-budget granularity (SPEC §5.3).
pub const TRTLLM_BLOCK: u32 = 32;

fn push(args: &mut Vec<String>, flag: &str, value: impl ToString) {
    args.push(flag.to_string());
    args.push(value.to_string());
}

fn disagg(args: &mut Vec<String>, role: Role) {
    if let Some(mode) = role.disagg_mode() {
        push(args, "--disaggregation-mode", mode);
    }
}

/// `python3 -m dynamo.vllm` arguments.
pub fn vllm(m: ModelNames<'_>, cfg: &EngineConfig, moe: bool, role: Role) -> Vec<String> {
    let p = cfg.parallel;
    let mut a = Vec::new();
    push(&mut a, "--model", m.path);
    push(&mut a, "--served-model-name", m.served);
    push(&mut a, "--tensor-parallel-size", p.tp);
    push(&mut a, "--pipeline-parallel-size", p.pp);
    push(&mut a, "--data-parallel-size", p.dp);
    if moe && p.moe_ep > 1 {
        a.push("--enable-expert-parallel".to_string());
    }
    push(&mut a, "--max-num-seqs", cfg.max_batch_size);
    push(&mut a, "--max-num-batched-tokens", cfg.max_num_tokens);
    push(&mut a, "--max-model-len", cfg.max_seq_len);
    if let Some(kv) = cfg.kv_cache_dtype {
        let v = match kv {
            KvCacheDtype::Fp8 => "fp8",
            // vLLM's `auto` is the model's own 16-bit type.
            KvCacheDtype::Bf16 | KvCacheDtype::Fp16 => "auto",
        };
        push(&mut a, "--kv-cache-dtype", v);
    }
    if let Some(b) = cfg.block_size {
        push(&mut a, "--block-size", b);
    }
    if let Some(f) = cfg.gpu_memory_fraction {
        push(&mut a, "--gpu-memory-utilization", f);
    }
    disagg(&mut a, role);
    if role == Role::Prefill {
        push(&mut a, "--kv-transfer-config", VLLM_KV_TRANSFER_CONFIG);
    }
    a
}

/// `python3 -m dynamo.sglang` arguments.
///
/// SGLang's `--tp` counts every GPU of a pipeline stage; with attention data
/// parallelism (`--enable-dp-attention`, MoE models) attention runs
/// `tp/dp`-way inside each of the `dp` ranks. So for our layout (tp within a
/// rank) `--tp` is `tp × dp` when attention is data-parallel, and `tp` when
/// `dp` means plain data-parallel replicas (dense models). An expert-parallel
/// group wider than the routing's `top_k` across attention-DP ranks runs
/// DeepEP's all-to-all (`--moe-a2a-backend deepep`), the path the
/// performance model times for it.
pub fn sglang(
    m: ModelNames<'_>,
    cfg: &EngineConfig,
    moe: bool,
    top_k: Option<u32>,
    role: Role,
) -> Vec<String> {
    let p = cfg.parallel;
    let dp_attention = moe && p.dp > 1;
    let wide_ep = moe && top_k.is_some_and(|k| p.wide_expert_parallel(k.into()));
    let tp_flag = if dp_attention {
        u64::from(p.tp) * u64::from(p.dp)
    } else {
        u64::from(p.tp)
    };
    let mut a = Vec::new();
    push(&mut a, "--model-path", m.path);
    push(&mut a, "--served-model-name", m.served);
    push(&mut a, "--tp", tp_flag);
    if p.pp > 1 {
        push(&mut a, "--pp-size", p.pp);
    }
    push(&mut a, "--dp", p.dp);
    if moe && p.moe_ep > 1 {
        push(&mut a, "--ep", p.moe_ep);
    }
    if dp_attention {
        a.push("--enable-dp-attention".to_string());
    }
    if wide_ep {
        push(&mut a, "--moe-a2a-backend", "deepep");
    }
    push(&mut a, "--max-running-requests", cfg.max_batch_size);
    push(&mut a, "--chunked-prefill-size", cfg.max_num_tokens);
    push(&mut a, "--context-length", cfg.max_seq_len);
    if let Some(kv) = cfg.kv_cache_dtype {
        let v = match kv {
            KvCacheDtype::Fp8 => "fp8_e4m3",
            KvCacheDtype::Bf16 | KvCacheDtype::Fp16 => "auto",
        };
        push(&mut a, "--kv-cache-dtype", v);
    }
    if let Some(b) = cfg.block_size {
        push(&mut a, "--page-size", b);
    }
    if let Some(f) = cfg.gpu_memory_fraction {
        push(&mut a, "--mem-fraction-static", f);
    }
    // Dynamo's frontend tokenizes (as in the examples).
    a.push("--skip-tokenizer-init".to_string());
    if role != Role::Agg {
        disagg(&mut a, role);
        push(&mut a, "--disaggregation-transfer-backend", "nixl");
        push(
            &mut a,
            "--disaggregation-bootstrap-port",
            SGLANG_BOOTSTRAP_PORT,
        );
        push(&mut a, "--host", "0.0.0.0");
    }
    a
}

/// `max_num_tokens` rounded up to TRT-LLM's granularity of 32.
pub fn trtllm_max_num_tokens(n: u32) -> Result<u32, RenderError> {
    n.div_ceil(TRTLLM_BLOCK)
        .checked_mul(TRTLLM_BLOCK)
        .ok_or_else(|| RenderError::InvalidPlan(format!("max_num_tokens {n} is too large")))
}

/// `python3 -m dynamo.trtllm` arguments. `engine_config` is the path of the
/// engine-overrides YAML ([`trtllm_engine_config`]), when there is one.
///
/// TRT-LLM's `tensor_parallel_size` counts every GPU of a pipeline stage
/// (attention-DP ranks included; for MoE it equals `moe_tp × moe_ep`), and
/// `--enable-attention-dp` splits attention over them.
pub fn trtllm(
    m: ModelNames<'_>,
    cfg: &EngineConfig,
    moe: bool,
    role: Role,
    engine_config: Option<&str>,
) -> Result<Vec<String>, RenderError> {
    let p = cfg.parallel;
    let mut a = Vec::new();
    push(&mut a, "--model-path", m.path);
    push(&mut a, "--served-model-name", m.served);
    push(
        &mut a,
        "--tensor-parallel-size",
        u64::from(p.tp) * u64::from(p.dp),
    );
    push(&mut a, "--pipeline-parallel-size", p.pp);
    if moe {
        push(&mut a, "--expert-parallel-size", p.moe_ep);
    }
    if p.dp > 1 {
        a.push("--enable-attention-dp".to_string());
    }
    push(&mut a, "--max-batch-size", cfg.max_batch_size);
    push(
        &mut a,
        "--max-num-tokens",
        trtllm_max_num_tokens(cfg.max_num_tokens)?,
    );
    push(&mut a, "--max-seq-len", cfg.max_seq_len);
    push(&mut a, "--kv-block-size", TRTLLM_BLOCK);
    if let Some(path) = engine_config {
        push(&mut a, "--extra-engine-args", path);
    }
    disagg(&mut a, role);
    Ok(a)
}

/// The TRT-LLM engine overrides for a worker, as the examples pass them: a
/// YAML file given to `--extra-engine-args`. Disaggregated workers exchange
/// KV caches through the cache transceiver; prefill runs without the overlap
/// scheduler. `None` when there is nothing to override (an aggregated worker
/// with the engine's default KV type and memory fraction).
pub fn trtllm_engine_config(cfg: &EngineConfig, role: Role) -> Option<Value> {
    let mut o = Map::new();
    if role == Role::Prefill {
        o.insert("disable_overlap_scheduler".into(), Value::Bool(true));
    }
    if role != Role::Agg {
        o.insert(
            "cache_transceiver_config".into(),
            json!({ "backend": "DEFAULT" }),
        );
    }
    let mut kv = Map::new();
    if let Some(dtype) = cfg.kv_cache_dtype {
        let v = match dtype {
            KvCacheDtype::Fp8 => "fp8",
            KvCacheDtype::Bf16 | KvCacheDtype::Fp16 => "auto",
        };
        kv.insert("dtype".into(), Value::from(v));
    }
    if let Some(f) = cfg.gpu_memory_fraction {
        kv.insert("free_gpu_memory_fraction".into(), Value::from(f));
    }
    if !kv.is_empty() {
        o.insert("kv_cache_config".into(), Value::Object(kv));
    }
    (!o.is_empty()).then_some(Value::Object(o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Parallel;

    fn cfg(parallel: Parallel) -> EngineConfig {
        EngineConfig {
            parallel,
            max_batch_size: 64,
            max_num_tokens: 8000,
            max_seq_len: 5000,
            kv_cache_dtype: None,
            block_size: None,
            gpu_memory_fraction: None,
        }
    }

    const M: ModelNames<'static> = ModelNames {
        path: "/opt/model-cache/qwen",
        served: "Qwen/Qwen3-32B",
    };

    fn after<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    }

    #[test]
    fn every_disaggregated_worker_has_its_mode() {
        let c = cfg(Parallel::tp(2));
        for role in [Role::Prefill, Role::Decode] {
            let want = role.disagg_mode();
            assert_eq!(
                after(&vllm(M, &c, false, role), "--disaggregation-mode"),
                want
            );
            assert_eq!(
                after(&sglang(M, &c, false, None, role), "--disaggregation-mode"),
                want
            );
            assert_eq!(
                after(
                    &trtllm(M, &c, false, role, None).unwrap(),
                    "--disaggregation-mode"
                ),
                want
            );
        }
        assert!(!vllm(M, &c, false, Role::Agg).contains(&"--disaggregation-mode".to_string()));
    }

    #[test]
    fn vllm_flags() {
        let mut c = cfg(Parallel::dep(8));
        c.kv_cache_dtype = Some(KvCacheDtype::Fp8);
        c.block_size = Some(16);
        let a = vllm(M, &c, true, Role::Prefill);
        assert_eq!(after(&a, "--model"), Some("/opt/model-cache/qwen"));
        assert_eq!(after(&a, "--served-model-name"), Some("Qwen/Qwen3-32B"));
        assert_eq!(after(&a, "--tensor-parallel-size"), Some("1"));
        assert_eq!(after(&a, "--data-parallel-size"), Some("8"));
        assert!(a.contains(&"--enable-expert-parallel".to_string()));
        assert_eq!(after(&a, "--max-num-seqs"), Some("64"));
        assert_eq!(after(&a, "--max-num-batched-tokens"), Some("8000"));
        assert_eq!(after(&a, "--max-model-len"), Some("5000"));
        assert_eq!(after(&a, "--kv-cache-dtype"), Some("fp8"));
        assert_eq!(after(&a, "--block-size"), Some("16"));
        assert_eq!(
            after(&a, "--kv-transfer-config"),
            Some(VLLM_KV_TRANSFER_CONFIG)
        );
        let d = vllm(M, &cfg(Parallel::tp(4)), false, Role::Decode);
        assert!(!d.contains(&"--kv-transfer-config".to_string()));
        assert!(!d.contains(&"--enable-expert-parallel".to_string()));
    }

    #[test]
    fn sglang_counts_attention_dp_in_tp() {
        let a = sglang(M, &cfg(Parallel::dep(8)), true, Some(8), Role::Decode);
        assert_eq!(after(&a, "--tp"), Some("8"));
        assert_eq!(after(&a, "--dp"), Some("8"));
        assert_eq!(after(&a, "--ep"), Some("8"));
        assert!(a.contains(&"--enable-dp-attention".to_string()));
        // EP 8 is not wider than top-k 8: no all-to-all.
        assert_eq!(after(&a, "--moe-a2a-backend"), None);
        let wide = sglang(M, &cfg(Parallel::dep(16)), true, Some(8), Role::Decode);
        assert_eq!(after(&wide, "--moe-a2a-backend"), Some("deepep"));
        assert_eq!(after(&a, "--disaggregation-transfer-backend"), Some("nixl"));
        assert_eq!(after(&a, "--disaggregation-bootstrap-port"), Some("12345"));
        let t = sglang(M, &cfg(Parallel::tep(4)), true, Some(2), Role::Agg);
        assert_eq!(after(&t, "--tp"), Some("4"));
        assert_eq!(after(&t, "--ep"), Some("4"));
        assert!(!t.contains(&"--enable-dp-attention".to_string()));
        // Expert-parallel but without attention DP: no token exchange.
        assert_eq!(after(&t, "--moe-a2a-backend"), None);
        assert!(!t.contains(&"--disaggregation-transfer-backend".to_string()));
        assert_eq!(after(&t, "--max-running-requests"), Some("64"));
        assert_eq!(after(&t, "--chunked-prefill-size"), Some("8000"));
    }

    #[test]
    fn trtllm_flags() {
        let a = trtllm(
            M,
            &cfg(Parallel::dep(8)),
            true,
            Role::Decode,
            Some("/e/decode.yaml"),
        )
        .unwrap();
        assert_eq!(after(&a, "--tensor-parallel-size"), Some("8"));
        assert_eq!(after(&a, "--expert-parallel-size"), Some("8"));
        assert!(a.contains(&"--enable-attention-dp".to_string()));
        // 8000 rounded up to a multiple of 32.
        assert_eq!(after(&a, "--max-num-tokens"), Some("8000"));
        assert_eq!(after(&a, "--kv-block-size"), Some("32"));
        assert_eq!(after(&a, "--extra-engine-args"), Some("/e/decode.yaml"));
        let mut c = cfg(Parallel::tp(2));
        c.max_num_tokens = 8001;
        let d = trtllm(M, &c, false, Role::Agg, None).unwrap();
        assert_eq!(after(&d, "--max-num-tokens"), Some("8032"));
        assert!(!d.contains(&"--expert-parallel-size".to_string()));
        assert_eq!(trtllm_max_num_tokens(1).unwrap(), 32);
        assert_eq!(trtllm_max_num_tokens(64).unwrap(), 64);
        assert!(trtllm_max_num_tokens(u32::MAX).is_err());
    }

    #[test]
    fn trtllm_engine_overrides() {
        let c = cfg(Parallel::tp(1));
        assert_eq!(trtllm_engine_config(&c, Role::Agg), None);
        let p = trtllm_engine_config(&c, Role::Prefill).unwrap();
        assert_eq!(p["disable_overlap_scheduler"], true);
        assert_eq!(p["cache_transceiver_config"]["backend"], "DEFAULT");
        let d = trtllm_engine_config(&c, Role::Decode).unwrap();
        assert!(d.get("disable_overlap_scheduler").is_none());
        let mut f = cfg(Parallel::tp(1));
        f.kv_cache_dtype = Some(KvCacheDtype::Fp8);
        let a = trtllm_engine_config(&f, Role::Agg).unwrap();
        assert_eq!(a["kv_cache_config"]["dtype"], "fp8");
    }
}
