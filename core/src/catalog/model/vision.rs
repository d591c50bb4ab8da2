//! Vision towers of multimodal models: parameter counts from their
//! `vision_config`, following each family's reference implementation.
//! Where a config does not say enough, the tower is recorded with an unknown
//! count and a note saying why: never a guess.

use serde_json::{Map, Value};

use super::arch::Vision;
use super::error::ModelError;
use super::json::Cfg;

/// The vision tower of a multimodal config, if it has one.
pub(crate) fn vision(
    architecture: &str,
    top: Cfg<'_>,
    text_hidden: u64,
) -> Result<Option<Vision>, ModelError> {
    let multimodal = architecture.ends_with("ForConditionalGeneration");
    let Some(vc) = top.object("vision_config")? else {
        if multimodal {
            return Ok(Some(Vision {
                params: None,
                note: "the architecture has a vision tower, but config.json has no \
                       `vision_config`: its size is unknown"
                    .into(),
            }));
        }
        return Ok(None);
    };
    let c = Cfg::new(vc, "vision_config.");
    let counted = match architecture {
        "Qwen3VLForConditionalGeneration"
        | "Qwen3VLMoeForConditionalGeneration"
        | "Qwen3_5ForConditionalGeneration"
        | "Qwen3_5MoeForConditionalGeneration" => Some((qwen3_vl(c)?, "Qwen3-VL vision tower")),
        "Gemma4ForConditionalGeneration" => Some((
            gemma4(c, text_hidden)?,
            "Gemma-4 vision tower and projection",
        )),
        "KimiK25ForConditionalGeneration" => Some((
            moonvit(c, text_hidden)?,
            "MoonViT tower and patch-merger projector",
        )),
        "MiniMaxM3SparseForConditionalGeneration" => minimax_m3(top, c)?.map(|n| {
            (
                n,
                "CLIP vision tower and patch-merge projector (transformers minimax_m3_vl)",
            )
        }),
        _ => None,
    };
    let mut note = match counted {
        Some((_, what)) => format!("{what}, counted from vision_config"),
        None => {
            format!("vision_config of {architecture} is not modelled: the tower's size is unknown")
        }
    };
    if top.has("audio_config") {
        note.push_str("; an audio tower is present and not counted");
    }
    Ok(Some(Vision {
        params: counted.map(|(n, _)| n),
        note,
    }))
}

/// A count computed in 128 bits, back in 64 (configs with absurd sizes are
/// refused rather than overflowing).
fn fit(n: u128) -> Result<u64, ModelError> {
    u64::try_from(n).map_err(|_| {
        ModelError::invalid("vision_config", "gives an implausibly large vision tower")
    })
}

/// A field of `vision_config` as a 128-bit number.
fn w(v: u64) -> u128 {
    u128::from(v)
}

/// Qwen3-VL / Qwen3.5: patch embedding (3-D conv with bias), learned position
/// table, pre-norm ViT blocks with biases, a patch merger and the DeepStack mergers.
fn qwen3_vl(c: Cfg<'_>) -> Result<u64, ModelError> {
    let h = w(c.pos_u64("hidden_size")?);
    let i = w(c.pos_u64("intermediate_size")?);
    let depth = w(c.pos_u64("depth")?);
    let ch = w(c.u64_or("in_channels", 3)?);
    let p = w(c.pos_u64("patch_size")?);
    let t = w(c.u64_or("temporal_patch_size", 2)?);
    let pos = w(c.u64_or("num_position_embeddings", 0)?);
    let out = w(c.pos_u64("out_hidden_size")?);
    let s = w(c.u64_or("spatial_merge_size", 2)?);
    let deepstack = c
        .u64s("deepstack_visual_indexes")?
        .unwrap_or_default()
        .len() as u128;
    let patch = h * ch * t * p * p + h;
    let block = 4 * h + (3 * h * h + 3 * h) + (h * h + h) + (i * h + i) + (h * i + h);
    let m = h * s * s;
    let merger = 2 * h + (m * m + m) + (out * m + out);
    let deep = 2 * m + (m * m + m) + (out * m + out);
    fit(patch + pos * h + depth * block + merger + deepstack * deep)
}

/// Gemma-4: patch projection, 2-D position table, gated-MLP ViT layers with
/// q/k norms and four norms, and the projection into the text model.
fn gemma4(c: Cfg<'_>, text_hidden: u64) -> Result<u64, ModelError> {
    let h = w(c.pos_u64("hidden_size")?);
    let i = w(c.pos_u64("intermediate_size")?);
    let layers = w(c.pos_u64("num_hidden_layers")?);
    let heads = c.pos_u64("num_attention_heads")?;
    let kv = w(c.u64_or("num_key_value_heads", heads)?);
    let hd = w(c.u64_or("head_dim", c.pos_u64("hidden_size")? / heads)?);
    let heads = w(heads);
    let p = w(c.pos_u64("patch_size")?);
    let pos = w(c.pos_u64("position_embedding_size")?);
    let layer =
        (heads * hd * h) + 2 * (kv * hd * h) + (h * heads * hd) + 2 * hd + 3 * i * h + 4 * h;
    fit(layers * layer + h * 3 * p * p + 2 * pos * h + w(text_hidden) * h)
}

/// Kimi-K2.5 MoonViT: biased ViT layers, 2-D position table, final norm, and a
/// patch-merger projector into the text model.
fn moonvit(c: Cfg<'_>, text_hidden: u64) -> Result<u64, ModelError> {
    let h = w(c.pos_u64("vt_hidden_size")?);
    let i = w(c.pos_u64("vt_intermediate_size")?);
    let layers = w(c.pos_u64("vt_num_hidden_layers")?);
    let p = w(c.pos_u64("patch_size")?);
    let ph = w(c.pos_u64("init_pos_emb_height")?);
    let pw = w(c.pos_u64("init_pos_emb_width")?);
    let mm = w(c.u64_or("mm_hidden_size", c.pos_u64("vt_hidden_size")?)?);
    let merge: u128 = c
        .u64s("merge_kernel_size")?
        .unwrap_or_else(|| vec![2, 2])
        .iter()
        .map(|k| w(*k))
        .product();
    let t = w(c.u64_or("text_hidden_size", text_hidden)?);
    let layer = 4 * h + 4 * (h * h + h) + (i * h + i) + (h * i + h);
    let m = mm * merge;
    let projector = 2 * mm + (m * m + m) + (t * m + t);
    fit((h * 3 * p * p + h) + ph * pw * h + layers * layer + 2 * h + projector)
}

/// MiniMax-M3-VL: CLIP tower (3-D patch conv, pre-norm, biased layers) and the
/// patch-merge projector. `None` for another token-compression method.
fn minimax_m3(top: Cfg<'_>, c: Cfg<'_>) -> Result<Option<u64>, ModelError> {
    let compression: Option<&Map<String, Value>> = top
        .object("img_token_compression_config")?
        .or(c.object("img_token_compression_config")?);
    let Some(comp) = compression else {
        return Ok(None);
    };
    let cc = Cfg::new(comp, "img_token_compression_config.");
    if cc.str("image_token_compression_method")? != Some("patch_merge") {
        return Ok(None);
    }
    let s = w(cc.u64_or("spatial_merge_size", 2)?);
    let t = w(cc.u64_or("temporal_patch_size", 1)?);
    let h = w(c.pos_u64("hidden_size")?);
    let i = w(c.pos_u64("intermediate_size")?);
    let layers = w(c.pos_u64("num_hidden_layers")?);
    let p = w(c.pos_u64("patch_size")?);
    let ch = w(c.u64_or("num_channels", 3)?);
    let proj = w(top.pos_u64("projector_hidden_size")?);
    let layer = 4 * (h * h + h) + 4 * h + (i * h + i) + (h * i + h);
    let projector = (proj * h + proj)
        + (proj * proj + proj)
        + (proj * proj * s * s + proj)
        + (proj * proj + proj);
    fit(h * ch * t * p * p + 2 * h + layers * layer + projector).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> Map<String, Value> {
        serde_json::from_str::<Value>(json)
            .unwrap()
            .as_object()
            .unwrap()
            .clone()
    }

    /// Counts checked against `transformers` instantiating each model on the
    /// meta device (Qwen3-VL-30B-A3B, gemma-4-26B-A4B, Kimi-K2.5, MiniMax-M3).
    #[test]
    fn towers_match_the_reference_implementations() {
        let cases: [(&str, &str, u64, u64); 4] = [
            (
                "Qwen3VLMoeForConditionalGeneration",
                r#"{"vision_config": {"deepstack_visual_indexes": [8, 16, 24], "depth": 27,
                    "hidden_size": 1152, "in_channels": 3, "intermediate_size": 4304,
                    "num_position_embeddings": 2304, "out_hidden_size": 2048, "patch_size": 16,
                    "spatial_merge_size": 2, "temporal_patch_size": 2}}"#,
                2048,
                538_631_408,
            ),
            (
                "Gemma4ForConditionalGeneration",
                r#"{"vision_config": {"hidden_size": 1152, "intermediate_size": 4304,
                    "num_hidden_layers": 27, "num_attention_heads": 16, "num_key_value_heads": 16,
                    "head_dim": 72, "patch_size": 16, "position_embedding_size": 10240}}"#,
                2816,
                572_792_112,
            ),
            (
                "KimiK25ForConditionalGeneration",
                r#"{"vision_config": {"vt_hidden_size": 1152, "vt_intermediate_size": 4304,
                    "vt_num_hidden_layers": 27, "patch_size": 14, "init_pos_emb_height": 64,
                    "init_pos_emb_width": 64, "mm_hidden_size": 1152, "merge_kernel_size": [2, 2],
                    "text_hidden_size": 7168}}"#,
                7168,
                471_143_920,
            ),
            (
                "MiniMaxM3SparseForConditionalGeneration",
                r#"{"projector_hidden_size": 6144,
                    "img_token_compression_config": {"image_token_compression_method": "patch_merge",
                        "spatial_merge_size": 2, "temporal_patch_size": 2},
                    "vision_config": {"hidden_size": 1280, "intermediate_size": 5120,
                        "num_hidden_layers": 32, "patch_size": 14}}"#,
                6144,
                865_567_232,
            ),
        ];
        for (arch, json, text_hidden, want) in cases {
            let obj = cfg(json);
            let v = vision(arch, Cfg::new(&obj, ""), text_hidden)
                .unwrap()
                .unwrap();
            assert_eq!(v.params, Some(want), "{arch}");
        }
    }

    #[test]
    fn missing_vision_config_is_unknown_not_guessed() {
        let obj = cfg(r#"{"text_config": {}}"#);
        let v = vision("Llama4ForConditionalGeneration", Cfg::new(&obj, ""), 5120)
            .unwrap()
            .unwrap();
        assert_eq!(v.params, None);
        assert!(v.note.contains("no `vision_config`"));
        assert!(
            vision("LlamaForCausalLM", Cfg::new(&obj, ""), 4096)
                .unwrap()
                .is_none()
        );
    }
}
