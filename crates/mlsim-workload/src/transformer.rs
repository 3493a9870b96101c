//! Transformer inference as a workload: a model description (TOML under
//! `models/`, or a Hugging Face `config.json`), the ops of one decoder layer
//! in prefill and decode (with the KV cache), and precision schemes that
//! give weights, activations and KV cache their own dtype.
//!
//! Counting rules (per layer, `T` tokens processed: `batch x prompt` in
//! prefill, `batch` in decode; `C` the context attended to):
//! - QKV projection: GEMM `T x (H + 2 KVH) hd x d`; output projection
//!   `T x d x H hd`; FFN up `T x f x d` (gated: `T x 2f x d`), down
//!   `T x d x f`. Weights are read once per op in the weight dtype;
//!   activations (input and output) in the activation dtype.
//! - Attention scores `QK^T` and context `PV`: `batch x H` GEMMs of
//!   `q x C x hd` and `q x hd x C` (`q` = prompt in prefill, 1 in decode);
//!   prefill is causal (half the FLOPs). Each reads K (or V) for `C` tokens
//!   and `KVH` heads from the KV cache, in the KV dtype; prefill writes the
//!   `T` new tokens' K and V once.
//! - Two norms and the FFN activation: elementwise over `T x d` (`T x f`).
//! - Per model, not per layer: the embedding lookup (`T x d` reads of the
//!   table) and the LM head GEMM `b x V x d` for the `b` sequences'
//!   last tokens.

use std::str::FromStr;

use mlsim_quant::Dtype;
use serde::Deserialize;

/// Why a model file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The text is not a valid model description.
    #[error("{file}: {message}")]
    Invalid {
        /// File name as given.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// The feed-forward block's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FfnKind {
    /// Two matrices and an activation (GPT-2: GELU).
    Mlp,
    /// Gated (SwiGLU: up and gate projections, SiLU, down).
    Gated,
}

/// A decoder-only transformer.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Short name (`llama-3-8b`).
    pub name: String,
    /// Where the numbers come from (the published config).
    pub source: String,
    /// Model width `d`.
    pub hidden_size: u64,
    /// Query heads `H`.
    pub heads: u64,
    /// Key/value heads `KVH` (GQA; equal to `heads` for multi-head).
    pub kv_heads: u64,
    /// Head dimension `hd`.
    pub head_dim: u64,
    /// FFN width `f`.
    pub ffn_size: u64,
    /// MLP or gated FFN.
    pub ffn_kind: FfnKind,
    /// Decoder layers.
    pub layers: u64,
    /// Vocabulary `V`.
    pub vocab_size: u64,
    /// A mixture of experts in place of the FFN (`[moe]`); none for a
    /// dense model.
    #[serde(default)]
    pub moe: Option<Moe>,
}

/// A mixture-of-experts FFN: `experts` FFNs of `ffn_size` each, every
/// token routed to `experts_per_token` of them.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Moe {
    /// Experts per layer.
    pub experts: u64,
    /// Experts each token is routed to (top-k).
    pub experts_per_token: u64,
    /// Chips the experts are spread over (expert parallelism): each holds
    /// experts / this and gets this share of the routed tokens. 1 in a
    /// model file; the serving model's shards set it.
    #[serde(default = "one")]
    pub expert_shards: u64,
}

fn one() -> u64 {
    1
}

impl Moe {
    /// Experts on one chip.
    pub fn local_experts(&self) -> u64 {
        self.experts / self.expert_shards
    }

    /// Expected distinct experts of one chip that `tokens` tokens reach,
    /// routing uniformly at random: E (1 - (1 - k/E)^routed tokens per
    /// expert choice), at least one.
    pub fn active_experts(&self, tokens: u64) -> f64 {
        let e = self.experts as f64;
        let k = self.experts_per_token as f64;
        let local = self.local_experts() as f64;
        (local * (1.0 - (1.0 - k / e).powf(tokens as f64))).max(1.0)
    }

    /// Routed token-expert pairs one chip computes: tokens x k / shards.
    pub fn routed_tokens(&self, tokens: u64) -> f64 {
        (tokens * self.experts_per_token) as f64 / self.expert_shards as f64
    }
}

fn invalid(file: &str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        file: file.to_string(),
        message: message.into(),
    }
}

impl ModelConfig {
    /// Check sizes: every dimension at least 1, heads a multiple of KV heads.
    fn validated(self, file: &str) -> Result<Self, ModelError> {
        for (field, v) in [
            ("hidden_size", self.hidden_size),
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("head_dim", self.head_dim),
            ("ffn_size", self.ffn_size),
            ("layers", self.layers),
            ("vocab_size", self.vocab_size),
        ] {
            if v == 0 || v > 1 << 24 {
                return Err(invalid(
                    file,
                    format!("field `{field}`: expected 1 to 2^24, got {v}"),
                ));
            }
        }
        if let Some(m) = self.moe
            && (m.experts == 0
                || m.experts > 1 << 16
                || m.experts_per_token == 0
                || m.experts_per_token > m.experts
                || m.expert_shards == 0
                || !m.experts.is_multiple_of(m.expert_shards))
        {
            return Err(invalid(
                file,
                format!(
                    "field `moe`: expected 1 <= experts_per_token <= experts <= 65536 and experts a multiple of expert_shards, got {} of {} over {}",
                    m.experts_per_token, m.experts, m.expert_shards
                ),
            ));
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(invalid(
                file,
                format!(
                    "field `kv_heads`: {} query heads do not group into {} KV heads",
                    self.heads, self.kv_heads
                ),
            ));
        }
        Ok(self)
    }

    /// Read a model file (TOML, the format of `models/*.toml`).
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ModelError> {
        let cfg: ModelConfig =
            toml::from_str(text).map_err(|e| invalid(file, e.to_string().trim().to_string()))?;
        cfg.validated(file)
    }

    /// Read the common fields of a Hugging Face `config.json`
    /// (`hidden_size`/`n_embd`, `num_attention_heads`/`n_head`,
    /// `num_key_value_heads`, `head_dim`, `intermediate_size`/`n_inner`,
    /// `num_hidden_layers`/`n_layer`, `vocab_size`). The FFN is gated for
    /// Llama-style models (`model_type` llama, mistral, mixtral, qwen2,
    /// gemma, phi3) and an MLP otherwise.
    pub fn from_hf_config(text: &str, file: &str) -> Result<Self, ModelError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| invalid(file, e.to_string()))?;
        let get = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| v.get(*k).and_then(serde_json::Value::as_u64))
        };
        let need = |keys: &[&str]| {
            get(keys).ok_or_else(|| invalid(file, format!("missing `{}`", keys.join("` or `"))))
        };
        let hidden_size = need(&["hidden_size", "n_embd", "d_model"])?;
        let heads = need(&["num_attention_heads", "n_head"])?;
        let kv_heads = get(&["num_key_value_heads"]).unwrap_or(heads);
        let head_dim = get(&["head_dim"]).unwrap_or(hidden_size / heads.max(1));
        let ffn_size = get(&["intermediate_size", "n_inner", "ffn_dim"]).unwrap_or(4 * hidden_size);
        let layers = need(&["num_hidden_layers", "n_layer"])?;
        let vocab_size = need(&["vocab_size"])?;
        let model_type = v
            .get("model_type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let gated = [
            "llama", "mistral", "mixtral", "qwen2", "gemma", "gemma2", "phi3",
        ]
        .contains(&model_type);
        let name = v
            .get("_name_or_path")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(model_type)
            .to_string();
        ModelConfig {
            name,
            source: format!("{file} (Hugging Face config.json)"),
            hidden_size,
            heads,
            kv_heads,
            head_dim,
            ffn_size,
            ffn_kind: if gated { FfnKind::Gated } else { FfnKind::Mlp },
            layers,
            vocab_size,
            moe: get(&["num_local_experts", "n_routed_experts"]).map(|experts| Moe {
                experts,
                experts_per_token: get(&["num_experts_per_tok"]).unwrap_or(2),
                expert_shards: 1,
            }),
        }
        .validated(file)
    }

    /// Weights of one decoder layer (elements).
    pub fn layer_parameters(&self) -> f64 {
        let (d, h, kvh, hd, f) = (
            self.hidden_size as f64,
            self.heads as f64,
            self.kv_heads as f64,
            self.head_dim as f64,
            self.ffn_size as f64,
        );
        let attention = d * (h + 2.0 * kvh) * hd + h * hd * d;
        let ffn = match self.ffn_kind {
            FfnKind::Mlp => 2.0 * d * f,
            FfnKind::Gated => 3.0 * d * f,
        };
        // Every expert is held (the ones on this chip, when sharded), and
        // the router.
        let ffn = match self.moe {
            Some(m) => ffn * m.local_experts() as f64 + d * m.experts as f64,
            None => ffn,
        };
        attention + ffn + 2.0 * d
    }

    /// Every weight (elements): layers, embedding and LM head (untied).
    pub fn parameters(&self) -> f64 {
        self.layers as f64 * self.layer_parameters()
            + 2.0 * (self.vocab_size * self.hidden_size) as f64
    }

    /// KV-cache bytes one token adds across all layers.
    pub fn kv_bytes_per_token(&self, kv: Dtype) -> f64 {
        2.0 * (self.layers * self.kv_heads * self.head_dim) as f64 * kv.bytes_per_element()
    }
}

/// The model files shipped in `models/`: (name, TOML text).
pub const MODELS: [(&str, &str); 5] = [
    ("gpt2", include_str!("../../../models/gpt2.toml")),
    (
        "llama-3-8b",
        include_str!("../../../models/llama-3-8b.toml"),
    ),
    (
        "llama-3-70b",
        include_str!("../../../models/llama-3-70b.toml"),
    ),
    (
        "mistral-7b",
        include_str!("../../../models/mistral-7b.toml"),
    ),
    (
        "mixtral-8x7b",
        include_str!("../../../models/mixtral-8x7b.toml"),
    ),
];

/// A shipped model by name, or a file: `*.json` is read as a Hugging Face
/// `config.json`, anything else as a model TOML file.
pub fn load_model(name_or_path: &str) -> Result<ModelConfig, ModelError> {
    if let Some((name, text)) = MODELS.iter().find(|(n, _)| *n == name_or_path) {
        return ModelConfig::from_toml(text, &format!("models/{name}.toml"));
    }
    let text = std::fs::read_to_string(name_or_path).map_err(|e| {
        invalid(
            name_or_path,
            format!(
                "not a shipped model ({}) and not a readable file: {e}",
                MODELS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    if name_or_path.ends_with(".json") {
        ModelConfig::from_hf_config(&text, name_or_path)
    } else {
        ModelConfig::from_toml(&text, name_or_path)
    }
}

/// Which phase of inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "phase", rename_all = "lowercase")]
pub enum Phase {
    /// Processing `batch` prompts of `prompt` tokens.
    Prefill {
        /// Sequences.
        batch: u64,
        /// Prompt length.
        prompt: u64,
    },
    /// Generating one token for `batch` sequences that attend to `context`
    /// tokens (the new one included).
    Decode {
        /// Sequences.
        batch: u64,
        /// Tokens attended to.
        context: u64,
    },
}

/// Dtypes of weights, activations (GEMM compute inputs) and KV cache.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Scheme {
    /// Name (`w4a16`).
    pub name: String,
    /// Weight storage.
    pub weights: Dtype,
    /// Activations, and the dtype GEMMs compute in.
    pub activations: Dtype,
    /// KV cache storage.
    pub kv: Dtype,
}

impl Scheme {
    /// The named schemes: `fp32`, `w16a16` (fp16), `bf16`, `w8a8` (int8
    /// weights and activations, fp16 KV), `w8a16` and `w4a16` (int8 / int4
    /// weights, fp16 compute), `fp8` (fp8 e4m3 weights, activations and KV
    /// cache), `fp8kv` (fp16 with an fp8 KV cache), and the block-scaled
    /// schemes, each with an fp8 e4m3 KV cache: `mxfp6` and `mxfp4` (MX
    /// weights and activations), `nvfp4` (NVFP4 weights and activations),
    /// `w4a8` (MXFP4 weights, fp8 e4m3 activations: the weights are
    /// dequantized to fp8 as they are loaded, except on chips whose matrix
    /// units take both formats, Blackwell and CDNA 4).
    pub const NAMES: [&'static str; 12] = [
        "fp32", "w16a16", "bf16", "w8a8", "w8a16", "w4a16", "fp8", "fp8kv", "mxfp6", "mxfp4",
        "nvfp4", "w4a8",
    ];

    /// Whether the weights must be converted to the compute dtype as they
    /// are loaded (weight-only quantization).
    pub fn weight_only(&self) -> bool {
        self.weights != self.activations
    }

    /// The format activations are kept in between ops: the compute format
    /// when it is 16 bits or wider, else bf16. Serving engines quantize a
    /// GEMM's input to fp8, int8 or fp4 on the fly (fused into the norm or
    /// activation before it) and write its output, and every norm,
    /// activation function and attention probability, in 16 bits.
    pub fn activation_storage(&self) -> Dtype {
        if self.activations.element_bits() >= 16 {
            self.activations
        } else {
            Dtype::Bf16
        }
    }
}

impl FromStr for Scheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        use Dtype::*;
        let (w, a, kv) = match s.to_ascii_lowercase().as_str() {
            "fp32" => (Fp32, Fp32, Fp32),
            "w16a16" | "fp16" => (Fp16, Fp16, Fp16),
            "bf16" => (Bf16, Bf16, Bf16),
            "w8a8" => (Int8, Int8, Fp16),
            "w8a16" => (Int8, Fp16, Fp16),
            "w4a16" => (Int4, Fp16, Fp16),
            "fp8" => (Fp8E4m3, Fp8E4m3, Fp8E4m3),
            "fp8kv" => (Fp16, Fp16, Fp8E4m3),
            "mxfp6" => (Mxfp6, Mxfp6, Fp8E4m3),
            "mxfp4" => (Mxfp4, Mxfp4, Fp8E4m3),
            "nvfp4" => (Nvfp4, Nvfp4, Fp8E4m3),
            "w4a8" => (Mxfp4, Fp8E4m3, Fp8E4m3),
            other => {
                return Err(format!(
                    "unknown scheme `{other}`, expected one of {}",
                    Scheme::NAMES.join(", ")
                ));
            }
        };
        Ok(Scheme {
            name: s.to_ascii_lowercase(),
            weights: w,
            activations: a,
            kv,
        })
    }
}

/// What an op computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum OpShape {
    /// `batch` GEMMs of `m x n x k`.
    Gemm {
        /// Independent GEMMs.
        batch: u64,
        /// Rows.
        m: u64,
        /// Columns.
        n: u64,
        /// Reduction.
        k: u64,
    },
    /// An elementwise pass over `n` elements.
    Elementwise {
        /// Elements.
        n: u64,
    },
}

/// One op of the model, with its cost terms.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelOp {
    /// Name (`qkv_proj`, `attn_scores`, ...).
    pub name: &'static str,
    /// Shape.
    pub shape: OpShape,
    /// How many times it runs per token step: `layers` for layer ops, 1
    /// for the embedding and LM head.
    pub count: u64,
    /// FLOPs of one run.
    pub flops: f64,
    /// Weight bytes read by one run.
    pub weight_bytes: f64,
    /// Activation bytes read and written by one run.
    pub activation_bytes: f64,
    /// KV-cache bytes read and written by one run.
    pub kv_bytes: f64,
}

impl ModelOp {
    /// All bytes of one run.
    pub fn bytes(&self) -> f64 {
        self.weight_bytes + self.activation_bytes + self.kv_bytes
    }
}

/// The ops of one inference step of `cfg` in `phase` under `scheme`.
pub fn ops(cfg: &ModelConfig, phase: Phase, scheme: &Scheme) -> Vec<ModelOp> {
    let (batch, q, context) = match phase {
        Phase::Prefill { batch, prompt } => (batch, prompt, prompt),
        Phase::Decode { batch, context } => (batch, 1, context),
    };
    let t = batch * q;
    let (d, h, kvh, hd, f) = (
        cfg.hidden_size,
        cfg.heads,
        cfg.kv_heads,
        cfg.head_dim,
        cfg.ffn_size,
    );
    // Weights, a GEMM's (quantized) input activations, activations as kept
    // between ops (a GEMM's output, norms, attention probabilities), KV.
    let (bw, ba, bs, bkv) = (
        scheme.weights.bytes_per_element(),
        scheme.activations.bytes_per_element(),
        scheme.activation_storage().bytes_per_element(),
        scheme.kv.bytes_per_element(),
    );
    let layers = cfg.layers;
    let fl = |v: u64| v as f64;
    let linear = |name: &'static str, m: u64, n: u64, k: u64, count: u64| ModelOp {
        name,
        shape: OpShape::Gemm { batch: 1, m, n, k },
        count,
        flops: 2.0 * fl(m) * fl(n) * fl(k),
        weight_bytes: bw * fl(k) * fl(n),
        activation_bytes: ba * fl(m) * fl(k) + bs * fl(m) * fl(n),
        kv_bytes: 0.0,
    };
    let causal = if matches!(phase, Phase::Prefill { .. }) {
        0.5
    } else {
        1.0
    };
    let kv_written = if matches!(phase, Phase::Prefill { .. }) {
        bkv * 2.0 * fl(t) * fl(kvh) * fl(hd)
    } else {
        bkv * 2.0 * fl(batch) * fl(kvh) * fl(hd)
    };
    let mut out = vec![
        ModelOp {
            name: "embedding",
            shape: OpShape::Elementwise { n: t * d },
            count: 1,
            flops: 0.0,
            weight_bytes: bw * fl(t) * fl(d),
            activation_bytes: bs * fl(t) * fl(d),
            kv_bytes: 0.0,
        },
        ModelOp {
            name: "norms",
            shape: OpShape::Elementwise { n: 2 * t * d },
            count: layers,
            flops: 2.0 * 5.0 * fl(t) * fl(d),
            weight_bytes: 0.0,
            activation_bytes: 2.0 * 2.0 * bs * fl(t) * fl(d),
            kv_bytes: 0.0,
        },
        {
            let mut op = linear("qkv_proj", t, (h + 2 * kvh) * hd, d, layers);
            // The new tokens' K and V go to the cache.
            op.kv_bytes = kv_written;
            op
        },
        ModelOp {
            name: "attn_scores",
            shape: OpShape::Gemm {
                batch: batch * h,
                m: q,
                n: context,
                k: hd,
            },
            count: layers,
            flops: 2.0 * fl(batch * h) * fl(q) * fl(context) * fl(hd) * causal,
            weight_bytes: 0.0,
            activation_bytes: bs * fl(batch * h) * (fl(q) * fl(hd) + fl(q) * fl(context)),
            kv_bytes: bkv * fl(batch) * fl(context) * fl(kvh) * fl(hd),
        },
        ModelOp {
            name: "attn_context",
            shape: OpShape::Gemm {
                batch: batch * h,
                m: q,
                n: hd,
                k: context,
            },
            count: layers,
            flops: 2.0 * fl(batch * h) * fl(q) * fl(hd) * fl(context) * causal,
            weight_bytes: 0.0,
            activation_bytes: bs * fl(batch * h) * (fl(q) * fl(context) + fl(q) * fl(hd)),
            kv_bytes: bkv * fl(batch) * fl(context) * fl(kvh) * fl(hd),
        },
        linear("out_proj", t, d, h * hd, layers),
    ];
    let up_width = match cfg.ffn_kind {
        FfnKind::Mlp => f,
        FfnKind::Gated => 2 * f,
    };
    match cfg.moe {
        None => {
            out.push(linear("ffn_up", t, up_width, d, layers));
            out.push(ModelOp {
                name: "ffn_act",
                shape: OpShape::Elementwise { n: t * f },
                count: layers,
                flops: 8.0 * fl(t) * fl(f),
                weight_bytes: 0.0,
                activation_bytes: bs * fl(t) * (fl(up_width) + fl(f)),
                kv_bytes: 0.0,
            });
            out.push(linear("ffn_down", t, d, f, layers));
        }
        Some(moe) => {
            // The router scores every expert for every token; the routed
            // token-expert pairs run as one GEMM per active expert, each
            // active expert's weights read once.
            out.push(linear("router", t, moe.experts, d, layers));
            let routed = moe.routed_tokens(t);
            let active = moe.active_experts(t);
            let experts = active.round().max(1.0) as u64;
            let rows = (routed / experts as f64).ceil().max(1.0) as u64;
            let expert_gemm = |name: &'static str, n: u64, k: u64| ModelOp {
                name,
                shape: OpShape::Gemm {
                    batch: experts,
                    m: rows,
                    n,
                    k,
                },
                count: layers,
                flops: 2.0 * routed * fl(n) * fl(k),
                weight_bytes: bw * active * fl(k) * fl(n),
                activation_bytes: ba * routed * fl(k) + bs * routed * fl(n),
                kv_bytes: 0.0,
            };
            out.push(expert_gemm("ffn_up", up_width, d));
            out.push(ModelOp {
                name: "ffn_act",
                shape: OpShape::Elementwise {
                    n: (routed * fl(f)).ceil() as u64,
                },
                count: layers,
                flops: 8.0 * routed * fl(f),
                weight_bytes: 0.0,
                activation_bytes: bs * routed * (fl(up_width) + fl(f)),
                kv_bytes: 0.0,
            });
            out.push(expert_gemm("ffn_down", d, f));
        }
    }
    out.push(linear("lm_head", batch, cfg.vocab_size, d, 1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelConfig {
        ModelConfig {
            name: "tiny".into(),
            source: "hand".into(),
            hidden_size: 64,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            ffn_size: 128,
            ffn_kind: FfnKind::Gated,
            layers: 2,
            vocab_size: 100,
            moe: None,
        }
    }

    /// The tiny model with 4 experts, 2 a token: decode with batch 1 routes
    /// one token to 2 experts (1 - (1 - 2/4)^1 = 1/2 of 4), so FFN up
    /// reads 2 experts' 64 x 256 weights and does 2 x 2 x 256 x 64 =
    /// 65536 FLOPs; 16 tokens reach 4 x (1 - 0.5^16) = 3.99994 experts;
    /// each layer holds all 4 experts' FFNs and the 64 x 4 router.
    #[test]
    fn mixture_of_experts_by_hand() {
        let moe = ModelConfig {
            moe: Some(Moe {
                experts: 4,
                experts_per_token: 2,
                expert_shards: 1,
            }),
            ..tiny()
        };
        let decode = ops(
            &moe,
            Phase::Decode {
                batch: 1,
                context: 8,
            },
            &"w16a16".parse().unwrap(),
        );
        let up = decode.iter().find(|o| o.name == "ffn_up").unwrap();
        assert_eq!(up.flops, 65_536.0);
        assert_eq!(up.weight_bytes, 2.0 * 2.0 * 64.0 * 256.0);
        assert!(decode.iter().any(|o| o.name == "router"));
        let m = moe.moe.unwrap();
        assert!((m.active_experts(16) - 4.0 * (1.0 - 0.5f64.powi(16))).abs() < 1e-12);
        let dense = tiny().layer_parameters();
        let ffn = 3.0 * 64.0 * 128.0;
        assert_eq!(moe.layer_parameters(), dense + 3.0 * ffn + 64.0 * 4.0);
        // Spread over 2 chips: 2 experts each, half the routed tokens.
        let half = Moe {
            expert_shards: 2,
            ..m
        };
        assert_eq!((half.local_experts(), half.routed_tokens(16)), (2, 16.0));
    }

    /// One layer of the tiny model in prefill (batch 1, prompt 8, w16a16),
    /// counted by hand:
    /// QKV 2*8*128*64 = 131072; scores and context 2*4*8*8*16/2 = 4096
    /// each; out 2*8*64*64 = 65536; FFN up 2*8*256*64 = 262144; act 8*8*128
    /// = 8192; down 2*8*64*128 = 131072; norms 2*5*8*64 = 5120.
    #[test]
    fn prefill_layer_flops_by_hand() {
        let ops = ops(
            &tiny(),
            Phase::Prefill {
                batch: 1,
                prompt: 8,
            },
            &"w16a16".parse().unwrap(),
        );
        let flops = |name: &str| ops.iter().find(|o| o.name == name).unwrap().flops;
        assert_eq!(flops("qkv_proj"), 131_072.0);
        assert_eq!(flops("attn_scores"), 4096.0);
        assert_eq!(flops("attn_context"), 4096.0);
        assert_eq!(flops("out_proj"), 65_536.0);
        assert_eq!(flops("ffn_up"), 262_144.0);
        assert_eq!(flops("ffn_act"), 8192.0);
        assert_eq!(flops("ffn_down"), 131_072.0);
        assert_eq!(flops("norms"), 5120.0);
        let layer: f64 = ops.iter().filter(|o| o.count == 2).map(|o| o.flops).sum();
        assert_eq!(
            layer,
            131_072.0 + 4096.0 * 2.0 + 65_536.0 + 262_144.0 + 8192.0 + 131_072.0 + 5120.0
        );
    }

    /// Decode at batch 1, context 32, w4a16: the weights are half a byte;
    /// the KV cache read is 2 (K and V) x 32 tokens x 2 KV heads x 16 x
    /// 2 bytes per layer, plus the new token's K and V written.
    #[test]
    fn decode_bytes_by_hand() {
        let ops = ops(
            &tiny(),
            Phase::Decode {
                batch: 1,
                context: 32,
            },
            &"w4a16".parse().unwrap(),
        );
        let op = |name: &str| ops.iter().find(|o| o.name == name).unwrap().clone();
        assert_eq!(op("qkv_proj").weight_bytes, 0.5 * 64.0 * 128.0);
        assert_eq!(
            op("attn_scores").kv_bytes + op("attn_context").kv_bytes,
            2.0 * 32.0 * 2.0 * 16.0 * 2.0
        );
        assert_eq!(op("qkv_proj").kv_bytes, 2.0 * 2.0 * 16.0 * 2.0);
        let weights: f64 = ops.iter().map(|o| o.weight_bytes * o.count as f64).sum();
        // All layer weights and the LM head once, the embedding row per token.
        let expected =
            0.5 * (2.0 * (64.0 * 128.0 + 64.0 * 64.0 + 3.0 * 64.0 * 128.0) + 64.0 * 100.0 + 64.0);
        assert_eq!(weights, expected);
    }

    /// The block-scaled schemes store their scales with the weights: MXFP4
    /// is 4 bits + one 8-bit scale per 32 = 4.25 bits, NVFP4 4 + 8/16 =
    /// 4.5, MXFP6 6.25; their KV caches are fp8 (1 byte); w4a8 computes in
    /// fp8 on MXFP4 weights; activations between ops stay in bf16.
    #[test]
    fn block_scaled_schemes_count_their_scales() {
        let decode = Phase::Decode {
            batch: 1,
            context: 32,
        };
        for (name, bits, activation_bytes) in [
            ("mxfp4", 4.25, 4.25 / 8.0),
            ("nvfp4", 4.5, 4.5 / 8.0),
            ("mxfp6", 6.25, 6.25 / 8.0),
            ("w4a8", 4.25, 1.0),
        ] {
            let scheme: Scheme = name.parse().unwrap();
            assert_eq!(scheme.kv, Dtype::Fp8E4m3, "{name}");
            assert_eq!(scheme.weight_only(), name == "w4a8", "{name}");
            let list = ops(&tiny(), decode, &scheme);
            let qkv = list.iter().find(|o| o.name == "qkv_proj").unwrap();
            assert_eq!(qkv.weight_bytes, bits / 8.0 * 64.0 * 128.0, "{name}");
            // One token: 64 inputs in the compute format, 128 outputs kept
            // in bf16 (2 bytes); the norms read and write bf16 too.
            assert_eq!(
                qkv.activation_bytes,
                activation_bytes * 64.0 + 2.0 * 128.0,
                "{name}"
            );
            let norms = list.iter().find(|o| o.name == "norms").unwrap();
            assert_eq!(norms.activation_bytes, 2.0 * 2.0 * 2.0 * 64.0, "{name}");
            // The new token's K and V, fp8: 2 x 2 KV heads x 16.
            assert_eq!(qkv.kv_bytes, 2.0 * 2.0 * 16.0, "{name}");
        }
        assert!("mxfp3".parse::<Scheme>().unwrap_err().contains("nvfp4"));
    }

    #[test]
    fn kv_cache_and_parameters_of_llama_3_8b() {
        let cfg = ModelConfig::from_toml(
            include_str!("../../../models/llama-3-8b.toml"),
            "llama-3-8b.toml",
        )
        .unwrap();
        // 2 x 32 layers x 8 KV heads x 128 x 2 bytes = 131072 bytes per token.
        assert_eq!(cfg.kv_bytes_per_token(Dtype::Fp16), 131_072.0);
        // Published size: 8.03 billion parameters.
        assert!(
            (cfg.parameters() / 1e9 - 8.03).abs() < 0.01,
            "{}",
            cfg.parameters()
        );
    }

    #[test]
    fn shipped_models_load() {
        for (name, _) in MODELS {
            assert_eq!(load_model(name).unwrap().name, name);
        }
        assert!(
            load_model("no-such-model")
                .unwrap_err()
                .to_string()
                .contains("not a shipped model")
        );
    }

    #[test]
    fn hf_config_json_is_understood() {
        let json = r#"{"model_type": "gpt2", "n_embd": 768, "n_head": 12, "n_layer": 12, "vocab_size": 50257}"#;
        let cfg = ModelConfig::from_hf_config(json, "config.json").unwrap();
        assert_eq!(
            (
                cfg.hidden_size,
                cfg.heads,
                cfg.kv_heads,
                cfg.head_dim,
                cfg.ffn_size
            ),
            (768, 12, 12, 64, 3072)
        );
        assert_eq!(cfg.ffn_kind, FfnKind::Mlp);
        let bad = ModelConfig::from_hf_config(r#"{"n_embd": 8}"#, "x.json").unwrap_err();
        assert!(
            bad.to_string()
                .contains("missing `num_attention_heads` or `n_head`"),
            "{bad}"
        );
    }
}
