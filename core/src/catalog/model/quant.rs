//! Quantization: reading `quantization_config` (config.json) and
//! `hf_quant_config.json`, and resolving which weight tensors of which layers
//! are stored in which format, so weight bytes come out exactly.
//!
//! Formats and their bytes (scales included; per-tensor scalar scales ignored):
//! - FP8 per-tensor/per-channel: 1 byte per weight;
//! - FP8 block (`weight_block_size` [128, 128]): 1 byte + one fp32 scale per block;
//! - NVFP4 (and weight-only W4A16_NVFP4): ½ byte + one fp8 scale per 16 weights;
//! - MXFP4: ½ byte + one e8m0 scale per 32 weights; MXFP8: 1 byte + one per 32;
//! - INT4 (W4A16, symmetric, group g): ½ byte + one 16-bit scale per g weights.
//!
//! Only linear weights are quantized. Embeddings, norms, biases, convolutions and
//! MoE routers stay in the model dtype; the LM head too, unless a mixed-precision
//! file lists it. Excluded modules (`exclude_modules`, `modules_to_not_convert`,
//! `ignore`) are matched against the checkpoint's module names per layer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::arch::ModelArch;
use super::error::ModelError;
use super::json::Cfg;
use super::tensors::{Component, Naming, Tensor, aliases, tensors};

/// Storage format of a weight tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightFormat {
    /// The model's dtype (BF16 mostly).
    Native,
    Fp8,
    Fp8Block,
    Nvfp4,
    Mxfp4,
    Mxfp8,
    Int4,
}

impl WeightFormat {
    /// One-character code used in per-layer format strings.
    pub fn code(self) -> char {
        match self {
            WeightFormat::Native => 'b',
            WeightFormat::Fp8 => 'f',
            WeightFormat::Fp8Block => 'k',
            WeightFormat::Nvfp4 => 'n',
            WeightFormat::Mxfp4 => 'm',
            WeightFormat::Mxfp8 => 'x',
            WeightFormat::Int4 => 'i',
        }
    }

    pub fn from_code(c: char) -> Option<WeightFormat> {
        Some(match c {
            'b' => WeightFormat::Native,
            'f' => WeightFormat::Fp8,
            'k' => WeightFormat::Fp8Block,
            'n' => WeightFormat::Nvfp4,
            'm' => WeightFormat::Mxfp4,
            'x' => WeightFormat::Mxfp8,
            'i' => WeightFormat::Int4,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WeightFormat::Native => "native",
            WeightFormat::Fp8 => "fp8",
            WeightFormat::Fp8Block => "fp8_block",
            WeightFormat::Nvfp4 => "nvfp4",
            WeightFormat::Mxfp4 => "mxfp4",
            WeightFormat::Mxfp8 => "mxfp8",
            WeightFormat::Int4 => "int4",
        }
    }
}

/// Type of the KV cache that a checkpoint asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KvCacheDtype {
    Fp8,
    Bf16,
    Fp16,
}

impl KvCacheDtype {
    pub fn bytes(self) -> u64 {
        match self {
            KvCacheDtype::Fp8 => 1,
            KvCacheDtype::Bf16 | KvCacheDtype::Fp16 => 2,
        }
    }
}

/// Where the quantization facts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantSource {
    /// Not quantized.
    None,
    /// `quantization_config` of config.json.
    Config,
    /// `hf_quant_config.json` (NVIDIA ModelOpt).
    HfQuantConfig,
    /// Inferred from a checkpoint id suffix (`-FP8`, `-NVFP4`): exclusions unknown.
    IdSuffix,
}

/// The resolved quantization of a model's weights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantization {
    /// `none`, `fp8`, `fp8_block`, `nvfp4`, `mxfp4`, `mxfp8`, `int4` or `mixed`.
    pub method: String,
    pub source: QuantSource,
    /// Format of the quantizable linear weights, unless overridden.
    pub linear: WeightFormat,
    /// Block shape of [`WeightFormat::Fp8Block`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8_block: Option<[u64; 2]>,
    /// Group size of [`WeightFormat::Int4`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int4_group_size: Option<u64>,
    /// Per tensor (canonical name), one format code per layer (`.` where the
    /// layer has no such tensor), where some layer differs from `linear`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, String>,
    pub lm_head: WeightFormat,
    /// KV-cache type the checkpoint was calibrated for, if it says.
    pub kv_cache: Option<KvCacheDtype>,
}

impl Quantization {
    /// Unquantized weights.
    pub fn none() -> Self {
        Quantization {
            method: "none".into(),
            source: QuantSource::None,
            linear: WeightFormat::Native,
            fp8_block: None,
            int4_group_size: None,
            overrides: BTreeMap::new(),
            lm_head: WeightFormat::Native,
            kv_cache: None,
        }
    }

    /// Every quantizable linear weight in `format` (a checkpoint known only by
    /// its id suffix).
    pub fn uniform(format: WeightFormat) -> Self {
        Quantization {
            method: format.as_str().into(),
            source: QuantSource::IdSuffix,
            linear: format,
            fp8_block: (format == WeightFormat::Fp8Block).then_some([128, 128]),
            int4_group_size: None,
            overrides: BTreeMap::new(),
            lm_head: WeightFormat::Native,
            kv_cache: None,
        }
    }

    pub fn is_quantized(&self) -> bool {
        self.source != QuantSource::None
    }

    /// Format of a quantizable tensor in `layer`.
    pub fn format_of(&self, name: &str, layer: Option<u64>) -> WeightFormat {
        let Some(layer) = layer else {
            return self.linear;
        };
        self.overrides
            .get(name)
            .and_then(|codes| {
                codes
                    .chars()
                    .nth(usize::try_from(layer).unwrap_or(usize::MAX))
            })
            .and_then(WeightFormat::from_code)
            .unwrap_or(self.linear)
    }

    /// Bytes of `t` stored in `format`, with the model dtype of `dtype_bytes`.
    pub fn tensor_bytes(&self, t: &Tensor, format: WeightFormat, dtype_bytes: u64) -> u64 {
        let params = t.params();
        let blocks = |group: u64| t.count * t.rows * t.cols.div_ceil(group);
        match format {
            WeightFormat::Native => params * dtype_bytes,
            WeightFormat::Fp8 => params,
            WeightFormat::Fp8Block => {
                let [br, bc] = self.fp8_block.unwrap_or([128, 128]);
                params + t.count * t.rows.div_ceil(br.max(1)) * t.cols.div_ceil(bc.max(1)) * 4
            }
            WeightFormat::Nvfp4 => params.div_ceil(2) + blocks(16),
            WeightFormat::Mxfp4 => params.div_ceil(2) + blocks(32),
            WeightFormat::Mxfp8 => params + blocks(32),
            WeightFormat::Int4 => {
                params.div_ceil(2) + blocks(self.int4_group_size.unwrap_or(128).max(1)) * 2
            }
        }
    }
}

/// The rules a quantization file states, before they are resolved against a
/// model's tensors.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuantRules {
    source: QuantSource,
    /// Format of targeted linear weights (when not mixed).
    default: WeightFormat,
    /// Only the routed experts are quantized (gpt-oss MXFP4).
    experts_only: bool,
    /// The routed experts are stored in this format instead (DeepSeek-V4's
    /// `expert_dtype: fp4` beside block-FP8 everything else).
    experts: Option<WeightFormat>,
    fp8_block: Option<[u64; 2]>,
    int4_group_size: Option<u64>,
    /// Normalized exclusion patterns.
    excludes: Vec<Exclusion>,
    /// Mixed precision: normalized module name → format; unlisted modules stay native.
    layers: Option<BTreeMap<String, WeightFormat>>,
    kv_cache: Option<KvCacheDtype>,
}

/// Reads the quantization rules: `hf_quant_config.json` when given, else the
/// `quantization_config` of config.json (top level or `text_config`).
pub(crate) fn parse_rules(
    config: &Map<String, Value>,
    text: Option<&Map<String, Value>>,
    hf_quant: Option<&Value>,
) -> Result<Option<QuantRules>, ModelError> {
    if let Some(hq) = hf_quant {
        let root = hq
            .as_object()
            .ok_or_else(|| ModelError::invalid("hf_quant_config.json", "must be an object"))?;
        let q = match root.get("quantization") {
            Some(Value::Object(q)) => q,
            _ => root,
        };
        return modelopt_rules(
            Cfg::new(q, "hf_quant_config.quantization."),
            QuantSource::HfQuantConfig,
        )
        .map(Some);
    }
    let qc = match config.get("quantization_config") {
        Some(Value::Object(q)) => Some((q, "quantization_config.")),
        _ => match text.and_then(|t| t.get("quantization_config")) {
            Some(Value::Object(q)) => Some((q, "text_config.quantization_config.")),
            _ => None,
        },
    };
    let Some((q, prefix)) = qc else {
        return Ok(None);
    };
    let c = Cfg::new(q, prefix);
    let method = c.str("quant_method")?.unwrap_or("");
    match method {
        "fp8" => fp8_rules(c).map(Some),
        "modelopt" => modelopt_rules(c, QuantSource::Config).map(Some),
        "mxfp4" => Ok(Some(QuantRules {
            source: QuantSource::Config,
            default: WeightFormat::Mxfp4,
            experts_only: true,
            experts: None,
            fp8_block: None,
            int4_group_size: None,
            excludes: patterns(c.strings("modules_to_not_convert")?.unwrap_or_default())?,
            layers: None,
            kv_cache: None,
        })),
        "compressed-tensors" => compressed_tensors_rules(c).map(Some),
        other => Err(ModelError::UnsupportedQuantization {
            method: other.to_string(),
            reason: "dgdr reads fp8, modelopt (FP8, NVFP4, mixed), mxfp4 and \
                     compressed-tensors (int4/fp4 groups) checkpoints"
                .into(),
        }),
    }
}

fn fp8_rules(c: Cfg<'_>) -> Result<QuantRules, ModelError> {
    if c.has("quantized_layers") || c.str("quant_algo")? == Some("MIXED_PRECISION") {
        return Err(ModelError::UnsupportedQuantization {
            method: "fp8 + MIXED_PRECISION".into(),
            reason: "a block-FP8 checkpoint with NVFP4 layers mixed in is not modelled".into(),
        });
    }
    let block = match c.u64s("weight_block_size")? {
        None => None,
        Some(b) => match b.as_slice() {
            [r, k] if *r > 0 && *k > 0 => Some([*r, *k]),
            _ => {
                return Err(ModelError::invalid(
                    c.field("weight_block_size"),
                    "must be two positive numbers",
                ));
            }
        },
    };
    let mut excludes = c.strings("modules_to_not_convert")?.unwrap_or_default();
    excludes.extend(c.strings("ignored_layers")?.unwrap_or_default());
    Ok(QuantRules {
        source: QuantSource::Config,
        default: if block.is_some() {
            WeightFormat::Fp8Block
        } else {
            WeightFormat::Fp8
        },
        experts_only: false,
        experts: None,
        fp8_block: block,
        int4_group_size: None,
        excludes: patterns(excludes)?,
        layers: None,
        kv_cache: kv_from_scheme(c)?,
    })
}

fn modelopt_rules(c: Cfg<'_>, source: QuantSource) -> Result<QuantRules, ModelError> {
    let algo = c.str("quant_algo")?.unwrap_or("");
    let group = c.u64("group_size")?;
    let mut excludes = c.strings("exclude_modules")?.unwrap_or_default();
    excludes.extend(c.strings("ignore")?.unwrap_or_default());
    let mut kv_cache = match c.str("kv_cache_quant_algo")? {
        None => None,
        Some(a) => kv_from_algo(a),
    };
    if kv_cache.is_none() {
        kv_cache = kv_from_scheme(c)?;
    }
    let (default, layers) = if algo == "MIXED_PRECISION" {
        let mut map = BTreeMap::new();
        if let Some(ql) = c.object("quantized_layers")? {
            for (name, spec) in ql {
                let a = spec.get("quant_algo").and_then(Value::as_str).unwrap_or("");
                let format = algo_format(a).ok_or_else(|| ModelError::UnsupportedQuantization {
                    method: a.to_string(),
                    reason: format!("layer `{name}` uses a ModelOpt algorithm dgdr does not model"),
                })?;
                if let Some(key) = normalize_module(name) {
                    map.insert(key, format);
                }
            }
        }
        (WeightFormat::Native, Some(map))
    } else {
        let format = algo_format(algo).ok_or_else(|| ModelError::UnsupportedQuantization {
            method: algo.to_string(),
            reason: "dgdr models the ModelOpt algorithms FP8, FP8_PB_WO, NVFP4, W4A16_NVFP4, \
                     MXFP8, W4A16_AWQ and MIXED_PRECISION"
                .into(),
        })?;
        (format, None)
    };
    Ok(QuantRules {
        source,
        default,
        experts_only: false,
        experts: None,
        fp8_block: Some([128, 128]),
        int4_group_size: group.or(Some(128)),
        excludes: patterns(excludes)?,
        layers,
        kv_cache,
    })
}

fn compressed_tensors_rules(c: Cfg<'_>) -> Result<QuantRules, ModelError> {
    let unsupported = |reason: &str| ModelError::UnsupportedQuantization {
        method: "compressed-tensors".into(),
        reason: reason.into(),
    };
    let groups = c
        .object("config_groups")?
        .ok_or_else(|| unsupported("no `config_groups`"))?;
    let mut format = None;
    let mut group_size = None;
    for (gname, g) in groups {
        let targets: Vec<&str> = g
            .get("targets")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if targets != ["Linear"] {
            return Err(unsupported(&format!(
                "group `{gname}` targets {targets:?}; only [\"Linear\"] is modelled"
            )));
        }
        let w = g
            .get("weights")
            .and_then(Value::as_object)
            .ok_or_else(|| unsupported(&format!("group `{gname}` has no weights scheme")))?;
        let bits = w.get("num_bits").and_then(Value::as_u64).unwrap_or(0);
        let kind = w.get("type").and_then(Value::as_str).unwrap_or("");
        let gs = w.get("group_size").and_then(Value::as_u64);
        let symmetric = w.get("symmetric").and_then(Value::as_bool).unwrap_or(true);
        let f = match (bits, kind, gs) {
            (4, "int", Some(g)) if symmetric => {
                group_size = Some(g);
                WeightFormat::Int4
            }
            (4, "float", Some(16)) => WeightFormat::Nvfp4,
            (4, "float", Some(32)) => WeightFormat::Mxfp4,
            (8, "float", _) => WeightFormat::Fp8,
            _ => {
                return Err(unsupported(&format!(
                    "weights of {bits}-bit {kind} in groups of {gs:?} (symmetric: {symmetric})"
                )));
            }
        };
        if format.is_some_and(|prev| prev != f) {
            return Err(unsupported("config groups of different formats"));
        }
        format = Some(f);
    }
    let format = format.ok_or_else(|| unsupported("empty `config_groups`"))?;
    Ok(QuantRules {
        source: QuantSource::Config,
        default: format,
        experts_only: false,
        experts: None,
        fp8_block: None,
        int4_group_size: group_size,
        excludes: patterns(c.strings("ignore")?.unwrap_or_default())?,
        layers: None,
        kv_cache: kv_from_scheme(c)?,
    })
}

fn algo_format(algo: &str) -> Option<WeightFormat> {
    Some(match algo {
        "FP8" => WeightFormat::Fp8,
        "FP8_PB_WO" | "FP8_BLOCK" => WeightFormat::Fp8Block,
        "NVFP4" | "W4A16_NVFP4" | "NVFP4_AWQ" => WeightFormat::Nvfp4,
        "MXFP8" => WeightFormat::Mxfp8,
        "MXFP4" => WeightFormat::Mxfp4,
        "W4A16_AWQ" | "INT4_AWQ" => WeightFormat::Int4,
        _ => return None,
    })
}

fn kv_from_algo(algo: &str) -> Option<KvCacheDtype> {
    match algo {
        "FP8" => Some(KvCacheDtype::Fp8),
        _ => None,
    }
}

fn kv_from_scheme(c: Cfg<'_>) -> Result<Option<KvCacheDtype>, ModelError> {
    let Some(s) = c.object("kv_cache_scheme")? else {
        return Ok(None);
    };
    let bits = s.get("num_bits").and_then(Value::as_u64);
    let kind = s.get("type").and_then(Value::as_str);
    Ok(match (bits, kind) {
        (Some(8), Some("float")) => Some(KvCacheDtype::Fp8),
        _ => None,
    })
}

/// Normalizes exclusion patterns (`re:` regexes become globs).
fn patterns(raw: Vec<&str>) -> Result<Vec<Exclusion>, ModelError> {
    let mut out = Vec::new();
    for p in raw {
        if let Some(re) = p.strip_prefix("re:") {
            let globs = regex_to_globs(re).ok_or_else(|| ModelError::UnsupportedQuantization {
                method: "ignore pattern".into(),
                reason: format!("cannot read the regular expression `{p}`"),
            })?;
            out.extend(
                globs
                    .into_iter()
                    .filter_map(|g| normalize_pattern(&g))
                    .map(Exclusion::new),
            );
        } else if let Some(n) = normalize_pattern(p) {
            out.push(Exclusion::new(n));
        }
    }
    Ok(out)
}

/// Converts the regular expressions quantization files use (`.*`, `\.`, one
/// level of `(a|b)` alternatives) into globs; `re.match` anchors at the start
/// only, so a trailing `*` is added. `None` for anything else.
fn regex_to_globs(re: &str) -> Option<Vec<String>> {
    let re = re.strip_prefix('^').unwrap_or(re);
    let (re, anchored_end) = match re.strip_suffix('$') {
        Some(r) => (r, true),
        None => (re, false),
    };
    let mut globs = vec![String::new()];
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next()?;
                if next.is_alphanumeric() {
                    return None;
                }
                globs.iter_mut().for_each(|g| g.push(next));
            }
            '.' => {
                if chars.peek() == Some(&'*') {
                    chars.next();
                    globs.iter_mut().for_each(|g| g.push('*'));
                } else {
                    globs.iter_mut().for_each(|g| g.push('?'));
                }
            }
            '(' => {
                let mut group = String::new();
                loop {
                    match chars.next()? {
                        ')' => break,
                        '(' | '*' | '+' | '[' | '\\' | '.' => return None,
                        ch => group.push(ch),
                    }
                }
                let alts: Vec<&str> = group.split('|').collect();
                globs = globs
                    .iter()
                    .flat_map(|g| alts.iter().map(move |a| format!("{g}{a}")))
                    .collect();
            }
            '*' | '+' | '?' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => return None,
            ch => globs.iter_mut().for_each(|g| g.push(ch)),
        }
    }
    if !anchored_end {
        for g in &mut globs {
            if !g.ends_with('*') {
                g.push('*');
            }
        }
    }
    Some(globs)
}

/// Makes a module pattern relative to the decoder layers (`layers.3.self_attn*`),
/// whatever the checkpoint's prefix (`model.`, `model.language_model.`,
/// `backbone.`, `language_model.model.`). `None` for patterns aimed at the
/// multi-token-prediction or vision modules.
fn normalize_pattern(p: &str) -> Option<String> {
    match p.find("layers.") {
        Some(pos) => {
            let before = p.get(..pos).unwrap_or("");
            if before.contains("mtp") || before.contains("vision") || before.contains("visual") {
                return None;
            }
            p.get(pos..).map(str::to_string)
        }
        None => Some(p.to_string()),
    }
}

/// A module name of a mixed-precision map, made relative to the decoder layers,
/// with expert indices folded to 0 (`layers.3.mlp.experts.0.down_proj`).
fn normalize_module(name: &str) -> Option<String> {
    let rel = normalize_pattern(name)?;
    let mut out = String::with_capacity(rel.len());
    let mut rest = rel.as_str();
    while let Some(pos) = rest.find("experts.") {
        let (head, tail) = rest.split_at(pos + "experts.".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && tail.get(digits..).is_some_and(|t| t.starts_with('.')) {
            out.push('0');
            rest = tail.get(digits..).unwrap_or("");
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// `fnmatch`-style match: `*` any run of characters, `?` one byte (module
/// names are ASCII).
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == b'?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == p.len()
}

/// An exclusion pattern, prepared for matching many module names.
#[derive(Debug, Clone, PartialEq)]
struct Exclusion {
    pattern: String,
    /// `pattern.*`, to match children of a globbed module.
    parent: String,
    is_glob: bool,
    /// The one decoder layer a pattern `layers.N.…` can match.
    layer: Option<u64>,
}

impl Exclusion {
    fn new(pattern: String) -> Self {
        let layer = pattern.strip_prefix("layers.").and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let after = rest.get(digits.len()..)?;
            // `layers.1.*` names layer 1 only; `layers.1*` also 10-19, 100-...
            (after.starts_with('.') || after.is_empty())
                .then(|| digits.parse().ok())
                .flatten()
        });
        Exclusion {
            parent: format!("{pattern}.*"),
            is_glob: pattern.contains(['*', '?']),
            layer,
            pattern,
        }
    }

    fn covers(&self, name: &str, layer: u64) -> bool {
        if self.layer.is_some_and(|l| l != layer) {
            return false;
        }
        if self.is_glob {
            glob(&self.pattern, name) || glob(&self.parent, name)
        } else {
            excludes(&self.pattern, name)
        }
    }
}

/// Does exclusion `pattern` cover module `name`? Globs match the whole name or
/// a parent module; plain names match whole dotted components.
fn excludes(pattern: &str, name: &str) -> bool {
    if pattern.contains(['*', '?']) {
        return glob(pattern, name) || glob(&format!("{pattern}.*"), name);
    }
    // Plain names match whole dotted components of `name`.
    let mut start = 0;
    while let Some(pos) = name.get(start..).and_then(|rest| rest.find(pattern)) {
        let at = start + pos;
        let end = at + pattern.len();
        let before_ok = at == 0 || name.as_bytes().get(at - 1) == Some(&b'.');
        let after_ok = end == name.len() || name.as_bytes().get(end) == Some(&b'.');
        if before_ok && after_ok {
            return true;
        }
        start = at + 1;
    }
    false
}

impl QuantRules {
    /// The format of one quantizable tensor of `layer`.
    fn format(&self, t: &Tensor, layer: u64, naming: Naming) -> WeightFormat {
        let names: Vec<String> = aliases(t.name, naming)
            .iter()
            .map(|a| format!("layers.{layer}.{a}"))
            .collect();
        if let Some(map) = &self.layers {
            return names
                .iter()
                .find_map(|n| map.get(n).copied())
                .unwrap_or(WeightFormat::Native);
        }
        if t.component == Component::RoutedExperts
            && let Some(f) = self.experts
        {
            return f;
        }
        if self.experts_only && t.component != Component::RoutedExperts {
            return WeightFormat::Native;
        }
        let excluded = self
            .excludes
            .iter()
            .any(|p| names.iter().any(|n| p.covers(n, layer)));
        if excluded {
            WeightFormat::Native
        } else {
            self.default
        }
    }

    /// Stores the routed experts in `format`, whatever the other rules say.
    pub(crate) fn set_experts(&mut self, format: WeightFormat) {
        self.experts = Some(format);
    }

    /// Resolves the rules against the tensors of `arch`, whose checkpoint names
    /// its modules by `naming`.
    pub(crate) fn resolve(&self, arch: &ModelArch, naming: Naming) -> Quantization {
        let layers = usize::try_from(arch.num_layers).unwrap_or(0);
        let mut per_tensor: BTreeMap<&'static str, Vec<char>> = BTreeMap::new();
        let mut weight_by_format: BTreeMap<WeightFormat, u64> = BTreeMap::new();
        for t in tensors(arch) {
            if !t.quantizable {
                continue;
            }
            let Some(layer) = t.layer else {
                continue;
            };
            let f = self.format(&t, layer, naming);
            *weight_by_format.entry(f).or_default() += t.params();
            let codes = per_tensor
                .entry(t.name)
                .or_insert_with(|| vec!['.'; layers]);
            if let Some(slot) = codes.get_mut(usize::try_from(layer).unwrap_or(usize::MAX)) {
                *slot = f.code();
            }
        }
        // The format holding most weights is the default; others are overrides.
        let linear = weight_by_format
            .iter()
            .max_by_key(|(f, n)| (**n, std::cmp::Reverse(**f)))
            .map(|(f, _)| *f)
            .unwrap_or(self.default);
        let mut overrides = BTreeMap::new();
        for (name, codes) in per_tensor {
            if codes.iter().any(|c| *c != '.' && *c != linear.code()) {
                overrides.insert(name.to_string(), codes.into_iter().collect());
            }
        }
        let lm_head = self
            .layers
            .as_ref()
            .and_then(|m| ["lm_head", "head", "output"].iter().find_map(|k| m.get(*k)))
            .copied()
            .unwrap_or(WeightFormat::Native);
        let used: Vec<WeightFormat> = weight_by_format
            .iter()
            .filter(|(f, n)| **f != WeightFormat::Native && **n > 0)
            .map(|(f, _)| *f)
            .collect();
        let method = match used.as_slice() {
            [] => "none".to_string(),
            [one] => one.as_str().to_string(),
            _ => "mixed".to_string(),
        };
        Quantization {
            method,
            source: self.source,
            linear,
            fp8_block: used
                .contains(&WeightFormat::Fp8Block)
                .then_some(self.fp8_block.unwrap_or([128, 128])),
            int4_group_size: used
                .contains(&WeightFormat::Int4)
                .then_some(self.int4_group_size.unwrap_or(128)),
            overrides,
            lm_head,
            kv_cache: self.kv_cache,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("*.attn.*", "layers.3.attn.wq_a", true),
            ("*.attn.*", "layers.3.self_attn.q_proj", false),
            ("layers.0*", "layers.0.self_attn.q_proj", true),
            ("layers.1*", "layers.12.mlp.gate_proj", true),
            ("layers.1.*", "layers.12.mlp.gate_proj", false),
            ("layers.?.mlp", "layers.7.mlp", true),
            ("lm_head", "lm_head", true),
            ("", "", true),
            ("*", "", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(glob(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn exclusion_semantics() {
        let cases = [
            ("gate", "layers.3.block_sparse_moe.gate", true),
            ("gate", "layers.3.mlp.gate_proj", false),
            ("layers.0.mlp.gate", "layers.0.mlp.gate", true),
            ("layers.0.mlp.gate", "layers.10.mlp.gate", false),
            ("layers.*.self_attn", "layers.4.self_attn.q_proj", true),
            ("layers.4.self_attn*", "layers.4.self_attn.o_proj", true),
            ("layers.4.self_attn*", "layers.40.self_attn.o_proj", false),
        ];
        for (p, n, want) in cases {
            assert_eq!(excludes(p, n), want, "{p} vs {n}");
        }
    }

    #[test]
    fn exclusions_know_their_layer() {
        let cases = [
            ("layers.12.self_attn*", Some(12)),
            ("layers.1.*", Some(1)),
            ("layers.3", Some(3)),
            ("layers.1*", None),
            ("layers.*.mlp", None),
            ("*.attn.*", None),
        ];
        for (p, want) in cases {
            assert_eq!(Exclusion::new(p.to_string()).layer, want, "{p}");
        }
        let e = Exclusion::new("layers.1.*".to_string());
        assert!(e.covers("layers.1.mlp.gate_proj", 1));
        assert!(!e.covers("layers.10.mlp.gate_proj", 10));
    }

    #[test]
    fn regexes_become_globs() {
        let cases: [(&str, Option<Vec<&str>>); 4] = [
            (".*self_attn.*", Some(vec!["*self_attn*"])),
            (
                r".*mlp\.(gate|up|gate_up|down)_proj.*",
                Some(vec![
                    "*mlp.gate_proj*",
                    "*mlp.up_proj*",
                    "*mlp.gate_up_proj*",
                    "*mlp.down_proj*",
                ]),
            ),
            ("^lm_head$", Some(vec!["lm_head"])),
            (r"layers\.\d+", None),
        ];
        for (re, want) in cases {
            let got = regex_to_globs(re);
            let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{re}");
        }
    }

    #[test]
    fn module_names_are_made_relative() {
        let cases = [
            ("model.layers.3.self_attn", Some("layers.3.self_attn")),
            (
                "language_model.model.layers.3.block_sparse_moe.experts.17.w1",
                Some("layers.3.block_sparse_moe.experts.0.w1"),
            ),
            (
                "backbone.layers.5.mixer.in_proj",
                Some("layers.5.mixer.in_proj"),
            ),
            ("mtp.layers.0.mlp", None),
            ("model.vision_tower.encoder.layers.1.mlp", None),
            ("model.layers.2.mlp.experts", Some("layers.2.mlp.experts")),
            ("lm_head", Some("lm_head")),
        ];
        for (name, want) in cases {
            assert_eq!(normalize_module(name).as_deref(), want, "{name}");
        }
    }

    #[test]
    fn format_codes_round_trip() {
        for f in [
            WeightFormat::Native,
            WeightFormat::Fp8,
            WeightFormat::Fp8Block,
            WeightFormat::Nvfp4,
            WeightFormat::Mxfp4,
            WeightFormat::Mxfp8,
            WeightFormat::Int4,
        ] {
            assert_eq!(WeightFormat::from_code(f.code()), Some(f));
        }
        assert_eq!(WeightFormat::from_code('.'), None);
    }

    #[test]
    fn unknown_methods_are_refused() {
        let config: Value =
            serde_json::from_str(r#"{"quantization_config": {"quant_method": "gptq"}}"#).unwrap();
        let err = parse_rules(config.as_object().unwrap(), None, None).unwrap_err();
        assert!(
            matches!(err, ModelError::UnsupportedQuantization { .. }),
            "{err}"
        );
    }
}
