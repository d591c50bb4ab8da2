//! The model catalog against the outside world:
//!
//! - the committed `core/data/models/catalog.json` is exactly what
//!   `dgdr calibrate import-models ../shared/data/models` produces (regenerate
//!   with `DGDR_BLESS=1 cargo test -p dgdr-tests --test model_catalog`);
//! - every `model_path` of the ground-truth measurements resolves;
//! - parameter counts equal those of the reference implementations
//!   (HuggingFace `transformers` 5.23 instantiating each config on the meta
//!   device) and published figures.
//!
//! Where `../shared/data` is absent (a user's checkout), the tests that need it
//! print a note and pass; the checks of the built-in catalog still run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dgdr_core::catalog::model::{Catalog, Family, ModelError, build_catalog, resolve};
use dgdr_native::calibrate::models::{import_models, read_config_files};

const CATALOG: &str = "core/data/models/catalog.json";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `<workspace root>/../shared/data/<sub>`, if this machine has it.
fn shared(sub: &str) -> Option<PathBuf> {
    let p = workspace_root().join("../shared/data").join(sub);
    if p.exists() {
        Some(p)
    } else {
        println!("note: {} is absent; skipping this check", p.display());
        None
    }
}

#[test]
fn committed_catalog_is_what_the_configs_give() {
    let Some(dir) = shared("models") else { return };
    let text = import_models(&dir).unwrap();
    let path = workspace_root().join(CATALOG);
    if std::env::var("DGDR_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
        println!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == text,
        "{CATALOG} is stale: regenerate it with \
         `DGDR_BLESS=1 cargo test -p dgdr-tests --test model_catalog`"
    );
}

#[test]
fn every_config_parses_or_is_refused_with_a_reason() {
    let Some(dir) = shared("models") else { return };
    let files = read_config_files(&dir).unwrap();
    let catalog = build_catalog(&files).unwrap();
    assert_eq!(catalog.len() + catalog.unsupported().len(), files.len());
    for (id, u) in catalog.unsupported() {
        println!("unsupported: {id}: {} ({})", u.architecture, u.reason);
        assert!(!u.reason.is_empty(), "{id}");
    }
}

/// Splits one CSV line (fields may be double-quoted).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

#[test]
fn every_ground_truth_model_path_resolves() {
    let Some(dir) = shared("ground-truth") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("silicon_calibration.csv")).unwrap();
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap());
    let col = header.iter().position(|h| h == "model_path").unwrap();
    let paths: BTreeSet<String> = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| csv_fields(l)[col].clone())
        .collect();
    assert!(!paths.is_empty());
    for p in &paths {
        let arch = resolve(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        println!(
            "{p}: {} ({}), {:.2}B params, quantization {}",
            arch.architecture,
            arch.family.as_str(),
            arch.params().total as f64 / 1e9,
            arch.quantization.method
        );
    }
}

/// (id, parameters of the language model, parameters of the vision tower) as
/// HuggingFace `transformers` 5.23 counts them when it instantiates each
/// config (MTP layers are not built there either). Kimi-K2.5 adds its LM head
/// (transformers builds it as a bare model); the Llama-4 configs carry no
/// `vision_config`, so their towers are unknown here.
const REFERENCE: &[(&str, u64, Option<u64>)] = &[
    ("MiniMaxAI/MiniMax-M2.5", 228_689_748_992, None),
    ("MiniMaxAI/MiniMax-M2.7", 228_689_748_992, None),
    ("MiniMaxAI/MiniMax-M3", 426_174_565_632, None),
    ("Qwen/Qwen3-0.6B", 596_049_920, None),
    ("Qwen/Qwen3-1.7B", 1_720_574_976, None),
    ("Qwen/Qwen3-235B-A22B", 235_093_634_560, None),
    ("Qwen/Qwen3-235B-A22B-FP8", 235_093_634_560, None),
    ("Qwen/Qwen3-30B-A3B", 30_532_122_624, None),
    ("Qwen/Qwen3-30B-A3B-FP8", 30_532_122_624, None),
    ("Qwen/Qwen3-32B", 32_762_123_264, None),
    ("Qwen/Qwen3-32B-FP8", 32_762_123_264, None),
    ("Qwen/Qwen3-32B-FP8-Static-PerTensor", 32_762_123_264, None),
    ("Qwen/Qwen3-8B", 8_190_735_360, None),
    ("Qwen/Qwen3-Coder-480B-A35B-Instruct", 480_154_875_392, None),
    (
        "Qwen/Qwen3-VL-235B-A22B-Instruct",
        235_093_634_560,
        Some(576_388_336),
    ),
    (
        "Qwen/Qwen3-VL-2B-Instruct",
        1_720_574_976,
        Some(406_957_056),
    ),
    (
        "Qwen/Qwen3-VL-30B-A3B-Instruct",
        30_532_122_624,
        Some(538_631_408),
    ),
    (
        "Qwen/Qwen3-VL-32B-Instruct",
        32_762_123_264,
        Some(595_266_800),
    ),
    (
        "Qwen/Qwen3-VL-32B-Thinking",
        32_762_123_264,
        Some(595_266_800),
    ),
    (
        "Qwen/Qwen3-VL-4B-Instruct",
        4_022_468_096,
        Some(415_347_712),
    ),
    (
        "Qwen/Qwen3-VL-8B-Instruct",
        8_190_735_360,
        Some(576_388_336),
    ),
    ("Qwen/Qwen3.5-122B-A10B", 122_111_526_912, Some(451_290_864)),
    ("Qwen/Qwen3.5-27B", 26_895_998_464, Some(460_730_096)),
    ("Qwen/Qwen3.5-35B-A3B", 34_660_610_688, Some(446_571_248)),
    ("Qwen/Qwen3.5-397B-A17B", 396_346_350_336, Some(456_010_480)),
    ("XiaomiMiMo/MiMo-7B-Base", 7_622_619_136, None),
    ("XiaomiMiMo/MiMo-V2-Flash", 308_778_768_832, None),
    ("deepseek-ai/DeepSeek-R1", 671_026_404_352, None),
    ("deepseek-ai/DeepSeek-V3", 671_026_404_352, None),
    ("deepseek-ai/DeepSeek-V3.2", 671_877_929_216, None),
    ("google/gemma-4-26B-A4B", 25_233_141_760, Some(572_792_112)),
    (
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
        400_711_848_960,
        None,
    ),
    (
        "meta-llama/Llama-4-Scout-17B-16E-Instruct",
        107_769_861_120,
        None,
    ),
    ("meta-llama/Meta-Llama-3.1-405B", 405_853_388_800, None),
    ("meta-llama/Meta-Llama-3.1-70B", 70_553_706_496, None),
    ("meta-llama/Meta-Llama-3.1-8B", 8_030_261_248, None),
    ("mistralai/Mixtral-8x22B-v0.1", 140_620_634_112, None),
    ("mistralai/Mixtral-8x7B-v0.1", 46_702_792_704, None),
    ("moonshotai/Kimi-K2-Instruct", 1_026_408_209_408, None),
    ("moonshotai/Kimi-K2.5", 1_026_408_209_408, Some(471_143_920)),
    ("nvidia/DeepSeek-V3.1-NVFP4", 671_026_404_352, None),
    ("nvidia/DeepSeek-V3.2-NVFP4", 671_877_929_216, None),
    ("nvidia/GLM-5-NVFP4", 743_911_199_232, None),
    ("nvidia/GLM-5.1-NVFP4", 743_911_199_232, None),
    ("nvidia/GLM-5.2-NVFP4", 743_377_000_704, None),
    ("nvidia/GLM-5.3-NVFP4", 743_377_000_704, None),
    (
        "nvidia/Gemma-4-26B-A4B-NVFP4",
        25_233_141_760,
        Some(572_792_112),
    ),
    (
        "nvidia/Gemma-4-31B-IT-NVFP4",
        30_697_345_280,
        Some(575_741_232),
    ),
    (
        "nvidia/Kimi-K2.5-NVFP4",
        1_026_408_209_408,
        Some(471_143_920),
    ),
    (
        "nvidia/Kimi-K2.6-NVFP4",
        1_026_408_209_408,
        Some(471_143_920),
    ),
    (
        "nvidia/Kimi-K2.7-Code-NVFP4",
        1_026_408_209_408,
        Some(471_143_920),
    ),
    ("nvidia/Llama-3.1-70B-Instruct-FP8", 70_553_706_496, None),
    ("nvidia/MiniMax-M2.5-NVFP4", 228_689_748_992, None),
    ("nvidia/MiniMax-M2.7-NVFP4", 228_689_748_992, None),
    (
        "nvidia/MiniMax-M3-NVFP4",
        426_174_565_632,
        Some(865_567_232),
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",
        31_577_937_344,
        None,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-NVFP4",
        31_577_937_344,
        None,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-FP8",
        120_668_687_360,
        None,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-NVFP4",
        120_668_687_360,
        None,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16",
        549_308_968_960,
        None,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-FP8",
        549_308_968_960,
        None,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-NVFP4",
        549_308_968_960,
        None,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3.5-Lightning-30B-A3B-NVFP4",
        31_577_937_344,
        None,
    ),
    ("nvidia/Nemotron-H-56B-Base-8K", 56_324_350_464, None),
    ("nvidia/Qwen3-235B-A22B-NVFP4", 235_093_634_560, None),
    (
        "nvidia/Qwen3.5-122B-A10B-NVFP4",
        122_111_526_912,
        Some(451_290_864),
    ),
    (
        "nvidia/Qwen3.5-397B-A17B-NVFP4",
        396_346_350_336,
        Some(456_010_480),
    ),
    (
        "nvidia/Qwen3.6-27B-NVFP4",
        26_895_998_464,
        Some(460_730_096),
    ),
    (
        "nvidia/Qwen3.6-35B-A3B-NVFP4",
        34_660_610_688,
        Some(446_571_248),
    ),
    ("openai/gpt-oss-120b", 116_829_156_672, None),
    ("openai/gpt-oss-20b", 20_914_757_184, None),
    ("stepfun-ai/Step-3.7-Flash", 195_844_496_640, None),
    ("stepfun-ai/Step-3.7-Flash-FP8", 195_844_496_640, None),
    ("zai-org/GLM-5", 743_911_199_232, None),
    ("zai-org/GLM-5-FP8", 743_911_199_232, None),
    ("zai-org/GLM-5.1", 743_911_199_232, None),
    ("zai-org/GLM-5.1-FP8", 743_911_199_232, None),
    ("zai-org/GLM-5.2", 743_377_000_704, None),
    ("zai-org/GLM-5.2-FP8", 743_377_000_704, None),
    ("zai-org/GLM-5.3", 743_377_000_704, None),
    ("zai-org/GLM-5.3-FP8", 743_377_000_704, None),
];

#[test]
fn counts_equal_the_reference_implementation() {
    let c = Catalog::builtin();
    let mut failures = Vec::new();
    for (id, total, vision) in REFERENCE {
        let Some(arch) = c.get(id) else {
            failures.push(format!("{id}: not in the catalog"));
            continue;
        };
        let p = arch.params();
        if p.total != *total || p.vision != *vision {
            failures.push(format!(
                "{id}: {} + vision {:?}, reference {total} + vision {vision:?} ({:+})",
                p.total,
                p.vision,
                p.total as i128 - *total as i128
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// How a model card counts active parameters.
#[derive(Clone, Copy)]
enum Active {
    /// Embedding table included (Qwen, DeepSeek, Mistral, Meta).
    WithEmbedding(f64),
    /// Embedding table left out (OpenAI, Moonshot, NVIDIA Nemotron-3 Nano).
    WithoutEmbedding(f64),
}

/// Published figures (model cards, papers): (id, total, active, tolerance).
/// Tolerances are 1% where the figure has three or more digits and wider where
/// it is rounded harder ("37B", "22B", "3.3B", "17B"), or where the published
/// total includes a vision tower this config does not describe (Llama-4 Scout).
const PUBLISHED: &[(&str, f64, Option<Active>, f64)] = &[
    ("meta-llama/Llama-3.1-8B-Instruct", 8.03e9, None, 0.01),
    ("meta-llama/Llama-3.1-70B", 70.6e9, None, 0.01),
    ("meta-llama/Llama-3.1-405B", 405.9e9, None, 0.01),
    ("Qwen/Qwen3-32B", 32.8e9, None, 0.01),
    ("Qwen/Qwen3-8B", 8.2e9, None, 0.01),
    (
        "Qwen/Qwen3-30B-A3B",
        30.5e9,
        Some(Active::WithEmbedding(3.3e9)),
        0.02,
    ),
    (
        "Qwen/Qwen3-235B-A22B",
        235e9,
        Some(Active::WithEmbedding(22e9)),
        0.01,
    ),
    (
        "Qwen/Qwen3-Coder-480B-A35B-Instruct",
        480e9,
        Some(Active::WithEmbedding(35e9)),
        0.015,
    ),
    (
        "deepseek-ai/DeepSeek-V3",
        671e9,
        Some(Active::WithEmbedding(37e9)),
        0.015,
    ),
    (
        "deepseek-ai/DeepSeek-R1",
        671e9,
        Some(Active::WithEmbedding(37e9)),
        0.015,
    ),
    (
        "mistralai/Mixtral-8x7B-v0.1",
        46.7e9,
        Some(Active::WithEmbedding(12.9e9)),
        0.01,
    ),
    (
        "mistralai/Mixtral-8x22B-v0.1",
        141e9,
        Some(Active::WithEmbedding(39e9)),
        0.01,
    ),
    (
        "openai/gpt-oss-120b",
        116.83e9,
        Some(Active::WithoutEmbedding(5.13e9)),
        0.01,
    ),
    (
        "openai/gpt-oss-20b",
        20.91e9,
        Some(Active::WithoutEmbedding(3.61e9)),
        0.01,
    ),
    (
        "moonshotai/Kimi-K2-Instruct",
        1.03e12,
        Some(Active::WithoutEmbedding(32e9)),
        0.015,
    ),
    (
        "meta-llama/Llama-4-Scout-17B-16E-Instruct",
        109e9,
        Some(Active::WithEmbedding(17e9)),
        0.015,
    ),
    (
        "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
        400e9,
        Some(Active::WithEmbedding(17e9)),
        0.015,
    ),
    ("nvidia/Llama-3_3-Nemotron-Super-49B-v1", 49.9e9, None, 0.01),
    // DeepSeek-V4 release: "284B parameters (13B activated)" and "1.6T (49B
    // activated)", the activated ones without the input embedding.
    (
        "deepseek-ai/DeepSeek-V4-Flash",
        284e9,
        Some(Active::WithoutEmbedding(13e9)),
        0.04,
    ),
    (
        "deepseek-ai/DeepSeek-V4-Pro",
        1.6e12,
        Some(Active::WithoutEmbedding(49e9)),
        0.03,
    ),
    (
        "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",
        31.6e9,
        Some(Active::WithoutEmbedding(3.2e9)),
        0.01,
    ),
];

#[test]
fn counts_match_published_figures() {
    let mut failures = Vec::new();
    for (id, total, active, tol) in PUBLISHED {
        let arch = resolve(id).unwrap_or_else(|e| panic!("{id}: {e}"));
        let p = arch.params();
        // Published totals of multimodal models include the vision tower.
        let t = (p.total + p.vision.unwrap_or(0)) as f64;
        let err = (t - total) / total;
        println!(
            "{id}: total {:.3}B vs {:.3}B ({:+.2}%)",
            t / 1e9,
            total / 1e9,
            err * 100.0
        );
        if err.abs() > *tol {
            failures.push(format!("{id}: total {t} vs {total} ({:+.2}%)", err * 100.0));
        }
        let (got, want) = match active {
            None => continue,
            Some(Active::WithEmbedding(a)) => (p.active, *a),
            Some(Active::WithoutEmbedding(a)) => (p.active_without_embedding, *a),
        };
        let err = (got as f64 - want) / want;
        println!(
            "  active {:.3}B vs {:.3}B ({:+.2}%)",
            got as f64 / 1e9,
            want / 1e9,
            err * 100.0
        );
        if err.abs() > *tol {
            failures.push(format!(
                "{id}: active {got} vs {want} ({:+.2}%)",
                err * 100.0
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn mtp_layers_are_reported_not_served() {
    let a = resolve("deepseek-ai/DeepSeek-V3").unwrap();
    let mtp = a.mtp.as_ref().unwrap();
    assert_eq!(mtp.layers, 1);
    // DeepSeek: "685B = 671B main model + 14B MTP module" (the 14B includes
    // the MTP module's own copies of the embedding and head, 1.85B).
    let with_copies = mtp.params.unwrap() + 2 * 129_280 * 7168;
    assert!(
        (with_copies as f64 / 14e9 - 1.0).abs() < 0.05,
        "{with_copies}"
    );
    assert_eq!(a.num_layers, 61);
}

#[test]
fn kv_cache_bytes_follow_the_attention_kind() {
    // (id, bytes per token with a 2-byte cache, once every window is full)
    let cases = [
        // GQA: 2 · 8 KV heads · 128 · 2 B · 32 layers.
        ("meta-llama/Llama-3.1-8B", 2 * 8 * 128 * 2 * 32),
        // MLA: (512 + 64) · 2 B · 61 layers.
        ("deepseek-ai/DeepSeek-V3", (512 + 64) * 2 * 61),
        // MLA + DSA indexer key (128) on every layer.
        ("deepseek-ai/DeepSeek-V3.2", (512 + 64 + 128) * 2 * 61),
        // gpt-oss: 18 full layers of 8 KV heads · 64; the 18 sliding layers cap at 128.
        ("openai/gpt-oss-120b", 2 * 8 * 64 * 2 * 18),
        // Qwen3.5-397B: 15 full-attention layers of 2 KV heads · 256.
        ("Qwen/Qwen3.5-397B-A17B", 2 * 2 * 256 * 2 * 15),
        // Nemotron-3 Super: 8 attention layers of 2 KV heads · 128.
        (
            "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-FP8",
            2 * 2 * 128 * 2 * 8,
        ),
    ];
    for (id, want) in cases {
        let a = resolve(id).unwrap();
        assert_eq!(a.kv_bytes_per_token(2), want, "{id}");
    }
    // DeepSeek-V4-Flash: one 512-wide entry per 4 tokens (with the indexer's
    // 128-wide key) on the 21 ratio-4 layers and per 128 tokens on the 20
    // ratio-128 layers; every one of the 43 layers keeps the raw KV of the
    // last 128 tokens.
    let v4 = resolve("deepseek-ai/DeepSeek-V4-Flash").unwrap();
    assert_eq!(v4.family, Family::CompressedMoe);
    assert_eq!(
        v4.kv_bytes_per_token(2),
        21 * (512 + 128) * 2 / 4 + 20 * 512 * 2 / 128
    );
    assert_eq!(v4.windowed_kv_bytes_per_token(2), 43 * 512 * 2);
    assert_eq!(
        v4.kv_bytes_for_sequence(1000, 1),
        1000 * (21 * (512 + 128) / 4 + 20 * 512 / 128) + 128 * 43 * 512
    );
    let oss = resolve("openai/gpt-oss-120b").unwrap();
    assert_eq!(oss.windowed_kv_bytes_per_token(2), 2 * 8 * 64 * 2 * 18);
    assert_eq!(
        oss.kv_bytes_for_sequence(1000, 2),
        1000 * 2 * 8 * 64 * 2 * 18 + 128 * 2 * 8 * 64 * 2 * 18
    );
    assert_eq!(oss.state_bytes_per_sequence(), 0);
    let q = resolve("Qwen/Qwen3.5-397B-A17B").unwrap();
    assert_eq!(q.family, Family::HybridLinearAttention);
    // 45 gated-delta-net layers: conv state (2·16·128 + 64·128) · 3 · 2 B and
    // fp32 recurrent state 64 · 128 · 128 · 4 B.
    assert_eq!(
        q.state_bytes_per_sequence(),
        45 * ((2 * 16 * 128 + 64 * 128) * 3 * 2 + 64 * 128 * 128 * 4)
    );
}

#[test]
fn weight_bytes_follow_the_quantization() {
    // (id, bytes of weights / parameters, within)
    let cases = [
        ("Qwen/Qwen3-32B", 2.0, 0.001),
        ("Qwen/Qwen3-32B-FP8", 1.06, 0.03),
        ("nvidia/Qwen3-32B-NVFP4", 0.62, 0.05),
        ("openai/gpt-oss-120b", 0.55, 0.05),
        ("deepseek-ai/DeepSeek-R1", 1.0, 0.03),
    ];
    for (id, per_param, within) in cases {
        let a = resolve(id).unwrap();
        let ratio = a.weight_bytes() as f64 / a.params().total as f64;
        println!(
            "{id}: {:.1} GB of weights, {ratio:.3} B/param",
            a.weight_bytes() as f64 / 1e9
        );
        assert!((ratio - per_param).abs() < within, "{id}: {ratio}");
    }
}

#[test]
fn every_builtin_model_is_consistent() {
    let c = Catalog::builtin();
    assert!(c.load_error().is_none());
    for id in c.ids() {
        let a = resolve(id).unwrap();
        let p = a.params();
        let parts = p.embedding
            + p.lm_head
            + p.attention
            + p.indexer
            + p.mixer
            + p.dense_mlp
            + p.routed_experts
            + p.shared_experts
            + p.router
            + p.moe_latent
            + p.norms;
        assert_eq!(parts, p.total, "{id}");
        assert!(p.active <= p.total && p.active > 0, "{id}");
        assert_eq!(a.is_moe(), p.routed_experts > 0, "{id}");
        assert!(a.weight_bytes() > 0, "{id}");
        if a.quantization.is_quantized() {
            assert!(
                a.weight_bytes() < 2 * p.total,
                "{id}: quantized but not smaller"
            );
        }
        let kv = a.kv_bytes_for_sequence(4096, 2);
        assert!(kv > 0, "{id}: no KV cache");
        assert_eq!(
            a.layers.attention.chars().count() as u64,
            a.num_layers,
            "{id}"
        );
    }
}

#[test]
fn paths_and_unknown_ids_are_errors_with_hints() {
    let err = resolve("/models/my-llama").unwrap_err();
    assert!(matches!(err, ModelError::PathNeedsHost { .. }));
    let d = err.to_diagnostic("spec.model");
    assert_eq!(d.path, "spec.model");
    assert!(d.hint.contains("config.json"));
    let err = resolve("meta-llama/Llama-3.1-8b-instruct-v9").unwrap_err();
    match err {
        ModelError::UnknownModel { closest, .. } => assert!(!closest.is_empty()),
        other => panic!("{other}"),
    }
}
