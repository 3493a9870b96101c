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
//! - Multi-head latent attention (`[mla]`, DeepSeek-V3) replaces the QKV
//!   projection and the per-head cache: low-rank query and key-value
//!   projections, a cache of `kv_lora_rank + qk_rope_head_dim` elements a
//!   token and layer; the expanded form in prefill, the weight-absorbed
//!   form in decode ([`Mla`]).
//! - A mixture of experts (`[moe]`) replaces the FFN of all layers but the
//!   first `dense_layers`: a router, the routed experts, shared experts
//!   ([`ops`]).
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
    /// Key/value heads `KVH` (GQA; equal to `heads` for multi-head, and
    /// for multi-head latent attention).
    pub kv_heads: u64,
    /// Head dimension `hd` (with `[mla]`: the query/key head,
    /// `qk_nope_head_dim + qk_rope_head_dim`).
    pub head_dim: u64,
    /// FFN width `f` (with `[moe]`: the width of the dense layers'
    /// FFN, and of each expert unless `moe.expert_ffn_size` says otherwise).
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
    /// Multi-head latent attention in place of the QKV projection and the
    /// per-head KV cache (`[mla]`); none for multi-head or grouped-query
    /// attention.
    #[serde(default)]
    pub mla: Option<Mla>,
}

/// Multi-head latent attention (DeepSeek-V2 and V3): the keys and values
/// of every head are up-projected from one latent vector of
/// `kv_lora_rank` per token, which is what the KV cache holds, with one
/// decoupled RoPE key of `qk_rope_head_dim` shared by the heads; the query
/// goes through a low-rank projection of `q_lora_rank`.
///
/// Prefill runs the expanded form (the latent up-projected to every head's
/// K and V, then ordinary attention with `qk_nope_head_dim +
/// qk_rope_head_dim` for scores and `v_head_dim` for values); decode runs
/// the weight-absorbed form that vLLM and SGLang use: the key
/// up-projection is folded into the query and the value up-projection
/// applied after attention, so every head attends over the cached latent
/// itself (an MQA-like kernel reading `kv_lora_rank + qk_rope_head_dim`
/// elements a token once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mla {
    /// Rank of the query's low-rank projection: `d -> q_lora_rank ->
    /// heads x (qk_nope_head_dim + qk_rope_head_dim)`. Absent: one
    /// full-rank query projection (DeepSeek-V2-Lite).
    #[serde(default)]
    pub q_lora_rank: Option<u64>,
    /// Rank of the joint key-value compression: the latent cached for
    /// every token.
    pub kv_lora_rank: u64,
    /// Query/key dimensions of each head without position encoding.
    pub qk_nope_head_dim: u64,
    /// Decoupled RoPE dimensions: each head's query part, and one key part
    /// shared by all heads and cached beside the latent.
    pub qk_rope_head_dim: u64,
    /// Value dimensions of each head.
    pub v_head_dim: u64,
}

impl Mla {
    /// Elements cached per token per layer: `kv_lora_rank +
    /// qk_rope_head_dim` (no head dimension: not `2 x heads x head_dim`).
    pub fn latent_width(&self) -> u64 {
        self.kv_lora_rank + self.qk_rope_head_dim
    }

    /// Query/key width of one head: `qk_nope_head_dim + qk_rope_head_dim`.
    pub fn qk_head_dim(&self) -> u64 {
        self.qk_nope_head_dim + self.qk_rope_head_dim
    }

    /// Weights of one layer's attention with `heads` heads (elements): the
    /// query path (`d x q_lora_rank + q_lora_rank x H (nope + rope)`, or
    /// `d x H (nope + rope)`), the latent and RoPE key projection `d x
    /// (kv_lora_rank + rope)`, the up-projection `kv_lora_rank x H (nope +
    /// v)`, the output projection `H v x d` and the two latent norms.
    pub fn parameters(&self, d: u64, heads: u64) -> f64 {
        let (d, h) = (d as f64, heads as f64);
        let qk = self.qk_head_dim() as f64;
        let (kv, nope, v) = (
            self.kv_lora_rank as f64,
            self.qk_nope_head_dim as f64,
            self.v_head_dim as f64,
        );
        let query = match self.q_lora_rank {
            Some(r) => d * r as f64 + r as f64 * h * qk + r as f64,
            None => d * h * qk,
        };
        query + d * self.latent_width() as f64 + kv * h * (nope + v) + h * v * d + kv
    }
}

/// A mixture-of-experts FFN: `experts` FFNs of `expert_ffn_size` (else the
/// model's `ffn_size`) each, every token routed to `experts_per_token` of
/// them and passed through the `shared_experts` too; the first
/// `dense_layers` layers keep a dense FFN of `ffn_size`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Moe {
    /// Routed experts per layer.
    pub experts: u64,
    /// Experts each token is routed to (top-k).
    pub experts_per_token: u64,
    /// Chips the experts are spread over (expert parallelism): each holds
    /// experts / this and gets this share of the routed tokens. 1 in a
    /// model file; the serving model's shards set it.
    #[serde(default = "one")]
    pub expert_shards: u64,
    /// Shared experts: FFNs of the expert width that every token passes
    /// through beside its routed ones (DeepSeek's `n_shared_experts`).
    #[serde(default)]
    pub shared_experts: u64,
    /// Width of each expert's FFN (DeepSeek's `moe_intermediate_size`);
    /// the model's `ffn_size` when absent.
    #[serde(default)]
    pub expert_ffn_size: Option<u64>,
    /// The first layers, which keep a dense FFN of the model's `ffn_size`
    /// (DeepSeek's `first_k_dense_replace`).
    #[serde(default)]
    pub dense_layers: u64,
    /// Routing imbalance: routed token-expert pairs of the busiest
    /// expert-parallel chip over the mean (1, the default, is perfectly
    /// balanced). The busiest chip sets the time of the expert FFN and of
    /// its all-to-alls. A serving condition rather than a property of the
    /// model (`mlsim serve --moe-imbalance`); no chip can take more than
    /// every routed pair, so it counts up to `expert_shards`.
    #[serde(default = "balanced")]
    pub imbalance: f64,
}

fn one() -> u64 {
    1
}

fn balanced() -> f64 {
    1.0
}

impl Moe {
    /// Experts on one chip.
    pub fn local_experts(&self) -> u64 {
        self.experts / self.expert_shards
    }

    /// The busiest chip's routed pairs over the mean: `imbalance`, at most
    /// what one chip can take. A token picks k distinct experts, so one
    /// chip gets at most min(k, local experts) of its k pairs: the cap is
    /// shards x min(k, local) / k (every pair when a chip holds k experts
    /// or more; half of them for Mixtral's k = 2 on one expert a chip);
    /// 1 on one chip.
    pub fn busiest(&self) -> f64 {
        let k = self.experts_per_token as f64;
        let per_token = k.min(self.local_experts() as f64);
        let cap = self.expert_shards as f64 * per_token / k;
        self.imbalance.min(cap).max(1.0)
    }

    /// Expected distinct experts of the busiest chip that `tokens` tokens
    /// reach, routing uniformly at random: local experts x (1 - (1 -
    /// k/E)^(tokens x busiest)), at least one (the busiest chip's load
    /// counted as that many more tokens).
    pub fn active_experts(&self, tokens: u64) -> f64 {
        let e = self.experts as f64;
        let k = self.experts_per_token as f64;
        let local = self.local_experts() as f64;
        (local * (1.0 - (1.0 - k / e).powf(tokens as f64 * self.busiest()))).max(1.0)
    }

    /// Routed token-expert pairs the busiest chip computes: tokens x k /
    /// shards x busiest.
    pub fn routed_tokens(&self, tokens: u64) -> f64 {
        (tokens * self.experts_per_token) as f64 / self.expert_shards as f64 * self.busiest()
    }

    /// Tokens one chip passes through the shared experts: all of them on
    /// one chip; with the experts spread, each chip those it dispatches
    /// (tokens / shards) through its own copy.
    pub fn shared_tokens(&self, tokens: u64) -> f64 {
        tokens as f64 / self.expert_shards as f64
    }
}

fn invalid(file: &str, message: impl Into<String>) -> ModelError {
    ModelError::Invalid {
        file: file.to_string(),
        message: message.into(),
    }
}

/// Where `path` (`hidden_size`, `mla.kv_lora_rank`) is set in a TOML
/// model file: `line:column` of its key, else of its table's header.
fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let (table, key) = match path.split_once('.') {
        Some((t, k)) => (Some(t), k),
        None => (None, path),
    };
    let mut current: Option<&str> = None;
    let mut header = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix('[') {
            current = rest.split(']').next().map(str::trim);
            if current.is_some() && current == table {
                header = Some((i + 1, line.len() - trimmed.len() + 1));
            }
            continue;
        }
        if current == table
            && let Some(after) = trimmed.strip_prefix(key)
            && after.trim_start().starts_with('=')
        {
            return Some((i + 1, line.len() - trimmed.len() + 1));
        }
    }
    header
}

/// Checks on a parsed model: the file name, its text (to locate a field)
/// and the first error.
struct Checker<'a> {
    file: &'a str,
    text: Option<&'a str>,
}

impl Checker<'_> {
    /// `file:line:column: field `path`: message`, the location where the
    /// text has one.
    fn error(&self, path: &str, message: impl std::fmt::Display) -> ModelError {
        let file = match self.text.and_then(|t| locate(t, path)) {
            Some((line, col)) => format!("{}:{line}:{col}", self.file),
            None => self.file.to_string(),
        };
        invalid(&file, format!("field `{path}`: {message}"))
    }

    /// A dimension from 1 to 2^24.
    fn dimension(&self, path: &str, v: u64) -> Result<(), ModelError> {
        if v == 0 || v > 1 << 24 {
            return Err(self.error(path, format!("expected 1 to 2^24, got {v}")));
        }
        Ok(())
    }
}

impl ModelConfig {
    /// Check sizes: every dimension at least 1, heads a multiple of KV
    /// heads, a mixture of experts and latent attention that make sense.
    /// `text` (a TOML file's) locates the error.
    fn validated(self, file: &str, text: Option<&str>) -> Result<Self, ModelError> {
        let c = Checker { file, text };
        for (field, v) in [
            ("hidden_size", self.hidden_size),
            ("heads", self.heads),
            ("kv_heads", self.kv_heads),
            ("head_dim", self.head_dim),
            ("ffn_size", self.ffn_size),
            ("layers", self.layers),
            ("vocab_size", self.vocab_size),
        ] {
            c.dimension(field, v)?;
        }
        if let Some(m) = self.moe {
            if m.experts == 0 || m.experts > 1 << 16 {
                return Err(c.error(
                    "moe.experts",
                    format!("expected 1 to 65536, got {}", m.experts),
                ));
            }
            if m.experts_per_token == 0 || m.experts_per_token > m.experts {
                return Err(c.error(
                    "moe.experts_per_token",
                    format!(
                        "expected 1 to the {} experts, got {}",
                        m.experts, m.experts_per_token
                    ),
                ));
            }
            if m.expert_shards == 0 || !m.experts.is_multiple_of(m.expert_shards) {
                return Err(c.error(
                    "moe.expert_shards",
                    format!(
                        "expected a divisor of the {} experts, got {}",
                        m.experts, m.expert_shards
                    ),
                ));
            }
            if m.shared_experts > 1 << 16 {
                return Err(c.error(
                    "moe.shared_experts",
                    format!("expected 0 to 65536, got {}", m.shared_experts),
                ));
            }
            if let Some(f) = m.expert_ffn_size {
                c.dimension("moe.expert_ffn_size", f)?;
            }
            if m.dense_layers >= self.layers {
                return Err(c.error(
                    "moe.dense_layers",
                    format!(
                        "expected fewer than the {} layers (at least one layer of experts), got {}",
                        self.layers, m.dense_layers
                    ),
                ));
            }
            if !(m.imbalance.is_finite() && (1.0..=65536.0).contains(&m.imbalance)) {
                return Err(c.error(
                    "moe.imbalance",
                    format!(
                        "expected the busiest chip's load over the mean, 1 to 65536, got {}",
                        m.imbalance
                    ),
                ));
            }
        }
        if let Some(a) = self.mla {
            if let Some(r) = a.q_lora_rank {
                c.dimension("mla.q_lora_rank", r)?;
            }
            for (field, v) in [
                ("mla.kv_lora_rank", a.kv_lora_rank),
                ("mla.qk_nope_head_dim", a.qk_nope_head_dim),
                ("mla.qk_rope_head_dim", a.qk_rope_head_dim),
                ("mla.v_head_dim", a.v_head_dim),
            ] {
                c.dimension(field, v)?;
            }
            if self.head_dim != a.qk_head_dim() {
                return Err(c.error(
                    "head_dim",
                    format!(
                        "with [mla], expected qk_nope_head_dim + qk_rope_head_dim = {}, got {}",
                        a.qk_head_dim(),
                        self.head_dim
                    ),
                ));
            }
            if self.kv_heads != self.heads {
                return Err(c.error(
                    "kv_heads",
                    format!(
                        "with [mla], expected the {} query heads (each up-projects its own K and V), got {}",
                        self.heads, self.kv_heads
                    ),
                ));
            }
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return Err(c.error(
                "kv_heads",
                format!(
                    "{} query heads do not group into {} KV heads",
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
        cfg.validated(file, Some(text))
    }

    /// Read the common fields of a Hugging Face `config.json`
    /// (`hidden_size`/`n_embd`, `num_attention_heads`/`n_head`,
    /// `num_key_value_heads`, `head_dim`, `intermediate_size`/`n_inner`,
    /// `num_hidden_layers`/`n_layer`, `vocab_size`). The FFN is gated for
    /// Llama-style models (`model_type` llama, mistral, mixtral, qwen2,
    /// gemma, phi3, deepseek_v2, deepseek_v3) and an MLP otherwise. Experts
    /// from `num_local_experts`/`n_routed_experts`, `num_experts_per_tok`,
    /// `n_shared_experts`, `moe_intermediate_size` and
    /// `first_k_dense_replace`; latent attention from `kv_lora_rank`,
    /// `q_lora_rank`, `qk_nope_head_dim`, `qk_rope_head_dim` and
    /// `v_head_dim`.
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
        let mla = match get(&["kv_lora_rank"]) {
            Some(kv_lora_rank) => Some(Mla {
                q_lora_rank: get(&["q_lora_rank"]),
                kv_lora_rank,
                qk_nope_head_dim: need(&["qk_nope_head_dim"])?,
                qk_rope_head_dim: need(&["qk_rope_head_dim"])?,
                v_head_dim: need(&["v_head_dim"])?,
            }),
            None => None,
        };
        let kv_heads = match mla {
            Some(_) => heads,
            None => get(&["num_key_value_heads"]).unwrap_or(heads),
        };
        let head_dim = match mla {
            Some(a) => a.qk_head_dim(),
            None => get(&["head_dim"]).unwrap_or(hidden_size / heads.max(1)),
        };
        let ffn_size = get(&["intermediate_size", "n_inner", "ffn_dim"]).unwrap_or(4 * hidden_size);
        let layers = need(&["num_hidden_layers", "n_layer"])?;
        let vocab_size = need(&["vocab_size"])?;
        let model_type = v
            .get("model_type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let gated = [
            "llama",
            "mistral",
            "mixtral",
            "qwen2",
            "gemma",
            "gemma2",
            "phi3",
            "deepseek_v2",
            "deepseek_v3",
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
                shared_experts: get(&["n_shared_experts"]).unwrap_or(0),
                expert_ffn_size: get(&["moe_intermediate_size"]),
                dense_layers: get(&["first_k_dense_replace"]).unwrap_or(0),
                imbalance: 1.0,
            }),
            mla,
        }
        .validated(file, None)
    }

    /// The model served with routing imbalance `imbalance` (the busiest
    /// expert-parallel chip's routed pairs over the mean, [`Moe::imbalance`]):
    /// refused for a dense model and outside 1 to 65536.
    pub fn with_moe_imbalance(mut self, imbalance: f64) -> Result<Self, String> {
        let Some(moe) = self.moe.as_mut() else {
            return Err(format!(
                "{} has no mixture of experts to be imbalanced",
                self.name
            ));
        };
        if !(imbalance.is_finite() && (1.0..=65536.0).contains(&imbalance)) {
            return Err(format!(
                "expected the busiest chip's load over the mean, 1 to 65536, got {imbalance}"
            ));
        }
        moe.imbalance = imbalance;
        Ok(self)
    }

    /// Width of one expert's FFN: `moe.expert_ffn_size`, else `ffn_size`.
    pub fn expert_ffn_size(&self) -> u64 {
        self.moe
            .and_then(|m| m.expert_ffn_size)
            .unwrap_or(self.ffn_size)
    }

    /// Layers with a dense FFN of `ffn_size`: all of them in a dense
    /// model, the first `moe.dense_layers` in a mixture of experts.
    pub fn dense_ffn_layers(&self) -> u64 {
        self.moe.map_or(self.layers, |m| m.dense_layers)
    }

    /// Layers whose FFN is a mixture of experts.
    pub fn moe_layers(&self) -> u64 {
        self.layers - self.dense_ffn_layers()
    }

    /// Weights of one layer's attention (elements): `d (H + 2 KVH) hd + H
    /// hd d`, or the latent attention's ([`Mla::parameters`]).
    pub fn attention_parameters(&self) -> f64 {
        match self.mla {
            Some(a) => a.parameters(self.hidden_size, self.heads),
            None => {
                let (d, h, kvh, hd) = (
                    self.hidden_size as f64,
                    self.heads as f64,
                    self.kv_heads as f64,
                    self.head_dim as f64,
                );
                d * (h + 2.0 * kvh) * hd + h * hd * d
            }
        }
    }

    /// Weights of one FFN of width `f` (elements): `2 d f`, gated `3 d f`.
    fn ffn_parameters(&self, f: u64) -> f64 {
        let (d, f) = (self.hidden_size as f64, f as f64);
        match self.ffn_kind {
            FfnKind::Mlp => 2.0 * d * f,
            FfnKind::Gated => 3.0 * d * f,
        }
    }

    /// Weights of one layer's FFN as held on one chip (elements): the
    /// dense FFN, or every local routed expert, the shared experts and the
    /// router `d x E`.
    pub fn moe_ffn_parameters(&self) -> f64 {
        match self.moe {
            Some(m) => {
                self.ffn_parameters(self.expert_ffn_size())
                    * (m.local_experts() + m.shared_experts) as f64
                    + (self.hidden_size * m.experts) as f64
            }
            None => self.ffn_parameters(self.ffn_size),
        }
    }

    /// Weights of one decoder layer (elements): attention, the FFN (of
    /// experts where the model has them) and two norms.
    pub fn layer_parameters(&self) -> f64 {
        self.attention_parameters() + self.moe_ffn_parameters() + 2.0 * self.hidden_size as f64
    }

    /// Every weight (elements): layers (the dense ones with `ffn_size`),
    /// embedding and LM head (untied).
    pub fn parameters(&self) -> f64 {
        let dense = self.attention_parameters()
            + self.ffn_parameters(self.ffn_size)
            + 2.0 * self.hidden_size as f64;
        self.moe_layers() as f64 * self.layer_parameters()
            + self.dense_ffn_layers() as f64 * dense
            + 2.0 * (self.vocab_size * self.hidden_size) as f64
    }

    /// Weights one token is computed with (elements): every weight but
    /// the routed experts it is not sent to (`experts - k` a layer of
    /// experts); the embedding and LM head counted, as model cards count
    /// "activated" parameters.
    pub fn activated_parameters(&self) -> f64 {
        let idle = self.moe.map_or(0.0, |m| {
            (m.local_experts() as f64 - m.experts_per_token as f64 / m.expert_shards as f64)
                * self.ffn_parameters(self.expert_ffn_size())
        });
        self.parameters() - self.moe_layers() as f64 * idle
    }

    /// Elements of K and V (or of the latent) one token adds to one
    /// layer's cache: `2 KVH hd`, or `kv_lora_rank + qk_rope_head_dim`
    /// with latent attention.
    pub fn kv_elements_per_token_layer(&self) -> u64 {
        match self.mla {
            Some(a) => a.latent_width(),
            None => 2 * self.kv_heads * self.head_dim,
        }
    }

    /// KV-cache bytes one token adds across all layers.
    pub fn kv_bytes_per_token(&self, kv: Dtype) -> f64 {
        (self.layers * self.kv_elements_per_token_layer()) as f64 * kv.bytes_per_element()
    }
}

/// The model files shipped in `models/`: (name, TOML text).
pub const MODELS: [(&str, &str); 6] = [
    (
        "deepseek-v3",
        include_str!("../../../models/deepseek-v3.toml"),
    ),
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

/// Sizes and byte widths of one step, shared by the op builders.
struct Step {
    batch: u64,
    /// Query tokens per sequence: the prompt in prefill, 1 in decode.
    q: u64,
    /// Tokens attended to.
    context: u64,
    /// Tokens processed: batch x q.
    t: u64,
    prefill: bool,
    /// Weights, a GEMM's (quantized) input activations, activations as
    /// kept between ops (a GEMM's output, norms, attention
    /// probabilities), KV cache.
    bw: f64,
    ba: f64,
    bs: f64,
    bkv: f64,
}

fn fl(v: u64) -> f64 {
    v as f64
}

impl Step {
    /// Half the score and context FLOPs in prefill (causal).
    fn causal(&self) -> f64 {
        if self.prefill { 0.5 } else { 1.0 }
    }

    /// A linear layer: `m x n x k` with a `k x n` weight.
    fn linear(&self, name: &'static str, m: u64, n: u64, k: u64, count: u64) -> ModelOp {
        ModelOp {
            name,
            shape: OpShape::Gemm { batch: 1, m, n, k },
            count,
            flops: 2.0 * fl(m) * fl(n) * fl(k),
            weight_bytes: self.bw * fl(k) * fl(n),
            activation_bytes: self.ba * fl(m) * fl(k) + self.bs * fl(m) * fl(n),
            kv_bytes: 0.0,
        }
    }

    /// An FFN's up projection, activation and down projection over `rows`
    /// tokens (a fraction on average when spread over chips) with `active`
    /// copies of the weights read (experts reached; 1 for a dense FFN).
    #[allow(clippy::too_many_arguments)]
    fn ffn(
        &self,
        names: [&'static str; 3],
        rows: f64,
        active: f64,
        d: u64,
        f: u64,
        kind: FfnKind,
        count: u64,
    ) -> [ModelOp; 3] {
        let up_width = match kind {
            FfnKind::Mlp => f,
            FfnKind::Gated => 2 * f,
        };
        let gemms = active.round().max(1.0) as u64;
        let m = (rows / gemms as f64).ceil().max(1.0) as u64;
        let gemm = |name: &'static str, n: u64, k: u64| ModelOp {
            name,
            shape: OpShape::Gemm {
                batch: gemms,
                m,
                n,
                k,
            },
            count,
            flops: 2.0 * rows * fl(n) * fl(k),
            weight_bytes: self.bw * active * fl(k) * fl(n),
            activation_bytes: self.ba * rows * fl(k) + self.bs * rows * fl(n),
            kv_bytes: 0.0,
        };
        [
            gemm(names[0], up_width, d),
            ModelOp {
                name: names[1],
                shape: OpShape::Elementwise {
                    n: (rows * fl(f)).ceil().max(1.0) as u64,
                },
                count,
                flops: 8.0 * rows * fl(f),
                weight_bytes: 0.0,
                activation_bytes: self.bs * rows * (fl(up_width) + fl(f)),
                kv_bytes: 0.0,
            },
            gemm(names[2], d, f),
        ]
    }

    /// Multi-head or grouped-query attention: QKV projection (writing the
    /// new tokens' K and V), scores, context, output projection.
    fn attention(&self, cfg: &ModelConfig) -> Vec<ModelOp> {
        let (d, h, kvh, hd) = (cfg.hidden_size, cfg.heads, cfg.kv_heads, cfg.head_dim);
        let (batch, q, context, t, layers) = (self.batch, self.q, self.context, self.t, cfg.layers);
        let causal = self.causal();
        let mut qkv = self.linear("qkv_proj", t, (h + 2 * kvh) * hd, d, layers);
        // The new tokens' K and V go to the cache.
        qkv.kv_bytes = self.bkv * 2.0 * fl(t) * fl(kvh) * fl(hd);
        vec![
            qkv,
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
                activation_bytes: self.bs * fl(batch * h) * (fl(q) * fl(hd) + fl(q) * fl(context)),
                kv_bytes: self.bkv * fl(batch) * fl(context) * fl(kvh) * fl(hd),
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
                activation_bytes: self.bs * fl(batch * h) * (fl(q) * fl(context) + fl(q) * fl(hd)),
                kv_bytes: self.bkv * fl(batch) * fl(context) * fl(kvh) * fl(hd),
            },
            self.linear("out_proj", t, d, h * hd, layers),
        ]
    }

    /// Multi-head latent attention (`H` heads, latent `c` = kv_lora_rank,
    /// `r` RoPE dims, `n` no-position dims, `v` value dims):
    /// - query: `q_a_proj` `T x q_lora x d` and `q_b_proj` `T x H(n+r) x
    ///   q_lora` (or one `q_proj` `T x H(n+r) x d`); `kv_a_proj` `T x
    ///   (c+r) x d` writes the latent of the new tokens to the cache,
    ///   `T (c+r)` elements; the two latent norms.
    /// - prefill, expanded: `kv_b_proj` `T x H(n+v) x c` up-projects the
    ///   prompt's latent to every head's K and V; scores `batch H` GEMMs
    ///   `q x C x (n+r)`, context `q x v x C` (causal), reading K and V as
    ///   activations.
    /// - decode, weight-absorbed: `q_absorb` `H` GEMMs `T x c x n` (the
    ///   query times each head's key up-projection); scores `batch` GEMMs
    ///   `H x C x (c+r)` and context `H x c x C` over the cached latent,
    ///   which the fused kernel reads once, `batch C (c+r)` elements
    ///   (counted on the scores); `v_absorb` `H` GEMMs `T x v x c`.
    /// - `out_proj` `T x d x H v`.
    fn latent_attention(&self, cfg: &ModelConfig, a: &Mla) -> Vec<ModelOp> {
        let (d, h, layers) = (cfg.hidden_size, cfg.heads, cfg.layers);
        let (batch, q, context, t) = (self.batch, self.q, self.context, self.t);
        let (c, r, n, v) = (
            a.kv_lora_rank,
            a.qk_rope_head_dim,
            a.qk_nope_head_dim,
            a.v_head_dim,
        );
        let qk = a.qk_head_dim();
        let latent = a.latent_width();
        let causal = self.causal();
        let mut out = match a.q_lora_rank {
            Some(rank) => vec![
                self.linear("q_a_proj", t, rank, d, layers),
                self.linear("q_b_proj", t, h * qk, rank, layers),
            ],
            None => vec![self.linear("q_proj", t, h * qk, d, layers)],
        };
        let mut kv_a = self.linear("kv_a_proj", t, latent, d, layers);
        kv_a.kv_bytes = self.bkv * fl(t) * fl(latent);
        out.push(kv_a);
        let norm_width = a.q_lora_rank.unwrap_or(0) + c;
        out.push(ModelOp {
            name: "latent_norms",
            shape: OpShape::Elementwise { n: t * norm_width },
            count: layers,
            flops: 5.0 * fl(t) * fl(norm_width),
            weight_bytes: 0.0,
            activation_bytes: 2.0 * self.bs * fl(t) * fl(norm_width),
            kv_bytes: 0.0,
        });
        if self.prefill {
            out.push(self.linear("kv_b_proj", t, h * (n + v), c, layers));
            out.push(ModelOp {
                name: "attn_scores",
                shape: OpShape::Gemm {
                    batch: batch * h,
                    m: q,
                    n: context,
                    k: qk,
                },
                count: layers,
                flops: 2.0 * fl(batch * h) * fl(q) * fl(context) * fl(qk) * causal,
                weight_bytes: 0.0,
                // Q and the scores, and K: every head's no-position part,
                // one RoPE part for all heads.
                activation_bytes: self.bs
                    * (fl(batch * h) * (fl(q) * fl(qk) + fl(q) * fl(context))
                        + fl(batch) * fl(context) * fl(h * n + r)),
                kv_bytes: 0.0,
            });
            out.push(ModelOp {
                name: "attn_context",
                shape: OpShape::Gemm {
                    batch: batch * h,
                    m: q,
                    n: v,
                    k: context,
                },
                count: layers,
                flops: 2.0 * fl(batch * h) * fl(q) * fl(v) * fl(context) * causal,
                weight_bytes: 0.0,
                activation_bytes: self.bs
                    * (fl(batch * h) * (fl(q) * fl(context) + fl(q) * fl(v))
                        + fl(batch) * fl(context) * fl(h * v)),
                kv_bytes: 0.0,
            });
        } else {
            let per_head = |name: &'static str, width: u64, k: u64| ModelOp {
                name,
                shape: OpShape::Gemm {
                    batch: h,
                    m: t,
                    n: width,
                    k,
                },
                count: layers,
                flops: 2.0 * fl(h) * fl(t) * fl(width) * fl(k),
                weight_bytes: self.bw * fl(h) * fl(k) * fl(width),
                activation_bytes: fl(h) * fl(t) * (self.ba * fl(k) + self.bs * fl(width)),
                kv_bytes: 0.0,
            };
            out.push(per_head("q_absorb", c, n));
            out.push(ModelOp {
                name: "attn_scores",
                shape: OpShape::Gemm {
                    batch,
                    m: h * q,
                    n: context,
                    k: latent,
                },
                count: layers,
                flops: 2.0 * fl(batch * h) * fl(q) * fl(context) * fl(latent),
                weight_bytes: 0.0,
                activation_bytes: self.bs
                    * fl(batch * h)
                    * (fl(q) * fl(latent) + fl(q) * fl(context)),
                kv_bytes: self.bkv * fl(batch) * fl(context) * fl(latent),
            });
            out.push(ModelOp {
                name: "attn_context",
                shape: OpShape::Gemm {
                    batch,
                    m: h * q,
                    n: c,
                    k: context,
                },
                count: layers,
                flops: 2.0 * fl(batch * h) * fl(q) * fl(c) * fl(context),
                weight_bytes: 0.0,
                activation_bytes: self.bs * fl(batch * h) * (fl(q) * fl(context) + fl(q) * fl(c)),
                kv_bytes: 0.0,
            });
            out.push(per_head("v_absorb", v, c));
        }
        out.push(self.linear("out_proj", t, d, h * v, layers));
        out
    }
}

/// The ops of one inference step of `cfg` in `phase` under `scheme`.
///
/// The FFN: dense layers (all of them, or a mixture of experts' first
/// `dense_layers`) run `ffn_up`, `ffn_act`, `ffn_down`; layers of experts
/// run the `router` (`T x E x d`), the routed token-expert pairs as one
/// GEMM per active expert (`expert_up`, `expert_act`, `expert_down`; the
/// busiest chip's pairs, [`Moe::routed_tokens`]) and, where the model has
/// them, the shared experts as one FFN of `shared_experts x` the expert
/// width over every token (`shared_up`, `shared_act`, `shared_down`).
pub fn ops(cfg: &ModelConfig, phase: Phase, scheme: &Scheme) -> Vec<ModelOp> {
    let (batch, q, context) = match phase {
        Phase::Prefill { batch, prompt } => (batch, prompt, prompt),
        Phase::Decode { batch, context } => (batch, 1, context),
    };
    let s = Step {
        batch,
        q,
        context,
        t: batch * q,
        prefill: matches!(phase, Phase::Prefill { .. }),
        bw: scheme.weights.bytes_per_element(),
        ba: scheme.activations.bytes_per_element(),
        bs: scheme.activation_storage().bytes_per_element(),
        bkv: scheme.kv.bytes_per_element(),
    };
    let (t, d, layers) = (s.t, cfg.hidden_size, cfg.layers);
    let mut out = vec![
        ModelOp {
            name: "embedding",
            shape: OpShape::Elementwise { n: t * d },
            count: 1,
            flops: 0.0,
            weight_bytes: s.bw * fl(t) * fl(d),
            activation_bytes: s.bs * fl(t) * fl(d),
            kv_bytes: 0.0,
        },
        ModelOp {
            name: "norms",
            shape: OpShape::Elementwise { n: 2 * t * d },
            count: layers,
            flops: 2.0 * 5.0 * fl(t) * fl(d),
            weight_bytes: 0.0,
            activation_bytes: 2.0 * 2.0 * s.bs * fl(t) * fl(d),
            kv_bytes: 0.0,
        },
    ];
    match &cfg.mla {
        Some(a) => out.extend(s.latent_attention(cfg, a)),
        None => out.extend(s.attention(cfg)),
    }
    let dense = cfg.dense_ffn_layers();
    if dense > 0 {
        out.extend(s.ffn(
            ["ffn_up", "ffn_act", "ffn_down"],
            fl(t),
            1.0,
            d,
            cfg.ffn_size,
            cfg.ffn_kind,
            dense,
        ));
    }
    if let Some(moe) = cfg.moe {
        // The router scores every expert for every token; the routed
        // token-expert pairs run as one GEMM per active expert, each
        // active expert's weights read once.
        let count = cfg.moe_layers();
        out.push(s.linear("router", t, moe.experts, d, count));
        let f = cfg.expert_ffn_size();
        out.extend(s.ffn(
            ["expert_up", "expert_act", "expert_down"],
            moe.routed_tokens(t),
            moe.active_experts(t),
            d,
            f,
            cfg.ffn_kind,
            count,
        ));
        if moe.shared_experts > 0 {
            out.extend(s.ffn(
                ["shared_up", "shared_act", "shared_down"],
                moe.shared_tokens(t),
                1.0,
                d,
                moe.shared_experts * f,
                cfg.ffn_kind,
                count,
            ));
        }
    }
    out.push(s.linear("lm_head", batch, cfg.vocab_size, d, 1));
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
            mla: None,
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
                shared_experts: 0,
                expert_ffn_size: None,
                dense_layers: 0,
                imbalance: 1.0,
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
        let up = decode.iter().find(|o| o.name == "expert_up").unwrap();
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

    fn deepseek() -> ModelConfig {
        load_model("deepseek-v3").unwrap()
    }

    /// DeepSeek-V3's weights by hand (d 7168, 128 heads, q_lora 1536,
    /// kv_lora 512, nope 128, rope 64, v 128, 61 layers of which the
    /// first 3 dense with FFN 18432, 256 routed experts of 2048 and 1
    /// shared, vocabulary 129280):
    /// - attention a layer: 7168 x 1536 + 1536 x 128 x 192 + 1536 (query,
    ///   its norm) + 7168 x 576 (latent and RoPE key) + 512 x 128 x 256
    ///   (K and V up-projection) + 128 x 128 x 7168 (output) + 512 (latent
    ///   norm) = 187,107,328;
    /// - an expert 3 x 7168 x 2048 = 44,040,192; a layer of experts 257 of
    ///   them + the router 7168 x 256 = 11,320,164,352; + attention + 2 x
    ///   7168 norms = 11,507,286,016;
    /// - a dense layer 187,107,328 + 3 x 7168 x 18432 + 14,336 =
    ///   583,483,392;
    /// - total 58 x 11,507,286,016 + 3 x 583,483,392 + 2 x 129280 x 7168 =
    ///   671,026,397,184: the published 671B (0.004% off);
    /// - activated: less 248 idle experts in each of the 58 layers =
    ///   37,552,275,456 against the published 37B (1.5% off; the
    ///   published figure does not say which weights it counts: the
    ///   embedding table alone is 0.93B).
    #[test]
    fn deepseek_v3_parameters_match_the_published_totals() {
        let cfg = deepseek();
        assert_eq!(cfg.attention_parameters(), 187_107_328.0);
        assert_eq!(cfg.layer_parameters(), 11_507_286_016.0);
        assert_eq!((cfg.dense_ffn_layers(), cfg.moe_layers()), (3, 58));
        assert_eq!(cfg.parameters(), 671_026_397_184.0);
        assert_eq!(cfg.activated_parameters(), 37_552_275_456.0);
        assert!((cfg.parameters() / 671e9 - 1.0).abs() < 0.01);
        assert!((cfg.activated_parameters() / 37e9 - 1.0).abs() < 0.03);
        // The same convention gives Mixtral-8x7B's published 46.7B and
        // 12.9B.
        let mixtral = load_model("mixtral-8x7b").unwrap();
        assert!((mixtral.parameters() / 46.7e9 - 1.0).abs() < 0.01);
        assert!((mixtral.activated_parameters() / 12.9e9 - 1.0).abs() < 0.01);
    }

    /// The latent cache: 61 layers x (512 + 64) elements a token, 70,272
    /// bytes in bf16 and 35,136 in fp8, not 128 heads x (192 + 128) x 61
    /// x 2 = 4,997,120 bytes as every head's K and V would be.
    #[test]
    fn deepseek_v3_latent_kv_cache_per_token() {
        let cfg = deepseek();
        assert_eq!(cfg.kv_elements_per_token_layer(), 576);
        assert_eq!(cfg.kv_bytes_per_token(Dtype::Bf16), 61.0 * 576.0 * 2.0);
        assert_eq!(cfg.kv_bytes_per_token(Dtype::Bf16), 70_272.0);
        assert_eq!(cfg.kv_bytes_per_token(Dtype::Fp8E4m3), 35_136.0);
    }

    /// The tiny model with latent attention: 4 heads, q_lora 16, kv_lora
    /// 8, nope 8, rope 4 (head_dim 12), v 8.
    fn tiny_mla() -> ModelConfig {
        ModelConfig {
            head_dim: 12,
            kv_heads: 4,
            mla: Some(Mla {
                q_lora_rank: Some(16),
                kv_lora_rank: 8,
                qk_nope_head_dim: 8,
                qk_rope_head_dim: 4,
                v_head_dim: 8,
            }),
            ..tiny()
        }
    }

    /// Decode, batch 1, context 32, w16a16 (2 bytes), one layer by hand
    /// (the weight-absorbed form):
    /// q_a 1 x 16 x 64: 2048 FLOPs, 2048 B; q_b 1 x 48 x 16: 1536, 1536 B;
    /// kv_a 1 x 12 x 64: 1536, 1536 B, writes 12 x 2 = 24 B of latent;
    /// q_absorb 4 x (1 x 8 x 8): 512, 512 B; scores 4 heads x 32 x 12:
    /// 3072, reading 32 x 12 x 2 = 768 B of latent (once, for the
    /// context too); context 4 x 8 x 32: 2048; v_absorb 4 x (1 x 8 x 8):
    /// 512, 512 B; out 1 x 64 x 32: 4096, 4096 B. Weights read: 10,240 B
    /// = 2 x (the 5144 attention weights less the 24 of the two norms).
    #[test]
    fn latent_attention_decode_by_hand() {
        let cfg = tiny_mla();
        let list = ops(
            &cfg,
            Phase::Decode {
                batch: 1,
                context: 32,
            },
            &"w16a16".parse().unwrap(),
        );
        let op = |name: &str| list.iter().find(|o| o.name == name).unwrap().clone();
        for (name, flops, weights) in [
            ("q_a_proj", 2048.0, 2048.0),
            ("q_b_proj", 1536.0, 1536.0),
            ("kv_a_proj", 1536.0, 1536.0),
            ("q_absorb", 512.0, 512.0),
            ("attn_scores", 3072.0, 0.0),
            ("attn_context", 2048.0, 0.0),
            ("v_absorb", 512.0, 512.0),
            ("out_proj", 4096.0, 4096.0),
        ] {
            assert_eq!(
                (op(name).flops, op(name).weight_bytes),
                (flops, weights),
                "{name}"
            );
        }
        assert_eq!(op("kv_a_proj").kv_bytes, 24.0);
        assert_eq!(op("attn_scores").kv_bytes, 768.0);
        assert_eq!(op("attn_context").kv_bytes, 0.0);
        assert_eq!(
            op("attn_scores").shape,
            OpShape::Gemm {
                batch: 1,
                m: 4,
                n: 32,
                k: 12
            }
        );
        assert!(
            !list
                .iter()
                .any(|o| o.name == "qkv_proj" || o.name == "kv_b_proj")
        );
        assert_eq!(cfg.attention_parameters(), 5144.0);
        let attention_weights: f64 = list
            .iter()
            .filter(|o| o.count == 2 && !o.name.starts_with("ffn"))
            .map(|o| o.weight_bytes)
            .sum();
        assert_eq!(attention_weights, 10_240.0);
        // The cache: 2 layers x (8 + 4) x 2 bytes a token.
        assert_eq!(cfg.kv_bytes_per_token(Dtype::Fp16), 48.0);
    }

    /// Prefill, batch 1, prompt 8 (the expanded form): kv_b 8 x 64 x 8 =
    /// 8192 FLOPs; scores 4 x (8 x 8 x 12) causal = 3072; context 4 x (8
    /// x 8 x 8) causal = 2048; the latent of 8 tokens written, 8 x 12 x 2
    /// = 192 B; no absorbed GEMMs.
    #[test]
    fn latent_attention_prefill_by_hand() {
        let list = ops(
            &tiny_mla(),
            Phase::Prefill {
                batch: 1,
                prompt: 8,
            },
            &"w16a16".parse().unwrap(),
        );
        let op = |name: &str| list.iter().find(|o| o.name == name).unwrap().clone();
        assert_eq!(op("kv_b_proj").flops, 8192.0);
        assert_eq!(op("attn_scores").flops, 3072.0);
        assert_eq!(op("attn_context").flops, 2048.0);
        assert_eq!(op("kv_a_proj").kv_bytes, 192.0);
        assert!(
            !list
                .iter()
                .any(|o| o.name == "q_absorb" || o.name == "v_absorb")
        );
    }

    /// The tiny model with 4 experts of width 32 (2 a token), 1 shared,
    /// the first of its 2 layers dense. Decode, batch 1, w16a16: the dense
    /// FFN up 1 x 256 x 64 = 32,768 FLOPs in 1 layer; the routed experts 2
    /// pairs over 4 x (1 - 1/2) = 2 active, up 2 x 2 x 64 x 64 = 16,384
    /// FLOPs and 2 x 2 x 64 x 64 = 16,384 B; the shared expert 1 x 64 x
    /// 64: 8192 FLOPs, 8192 B. Weights: attention 12,288 a layer, dense
    /// FFN 3 x 64 x 128 = 24,576, expert 3 x 64 x 32 = 6144, a layer of
    /// experts 5 x 6144 + 64 x 4 = 30,976; layers 36,992 + 43,392, +
    /// 12,800 embedding and head = 93,184; activated: 2 idle experts
    /// fewer, 80,896.
    #[test]
    fn shared_experts_and_dense_layers_by_hand() {
        let cfg = ModelConfig {
            moe: Some(Moe {
                experts: 4,
                experts_per_token: 2,
                expert_shards: 1,
                shared_experts: 1,
                expert_ffn_size: Some(32),
                dense_layers: 1,
                imbalance: 1.0,
            }),
            ..tiny()
        };
        let list = ops(
            &cfg,
            Phase::Decode {
                batch: 1,
                context: 8,
            },
            &"w16a16".parse().unwrap(),
        );
        let op = |name: &str| list.iter().find(|o| o.name == name).unwrap().clone();
        assert_eq!((op("ffn_up").flops, op("ffn_up").count), (32_768.0, 1));
        assert_eq!(
            (op("expert_up").flops, op("expert_up").weight_bytes),
            (16_384.0, 16_384.0)
        );
        assert_eq!(op("expert_up").count, 1);
        assert_eq!(
            (op("shared_up").flops, op("shared_up").weight_bytes),
            (8192.0, 8192.0)
        );
        assert_eq!(op("router").count, 1);
        assert_eq!(cfg.parameters(), 93_184.0);
        assert_eq!(cfg.activated_parameters(), 80_896.0);
    }

    /// 8 experts, 2 a token, over 4 chips, 16 tokens: the mean chip
    /// computes 16 x 2 / 4 = 8 pairs; at imbalance 1.5 the busiest 12, and
    /// reaches 2 x (1 - (3/4)^24) of its 2 experts; an imbalance of 10 is
    /// capped at 4 (one chip takes all 32 pairs); on one chip it is 1.
    #[test]
    fn routing_imbalance_by_hand() {
        let m = Moe {
            experts: 8,
            experts_per_token: 2,
            expert_shards: 4,
            shared_experts: 0,
            expert_ffn_size: None,
            dense_layers: 0,
            imbalance: 1.0,
        };
        assert_eq!(m.routed_tokens(16), 8.0);
        let skewed = Moe {
            imbalance: 1.5,
            ..m
        };
        assert_eq!(skewed.routed_tokens(16), 12.0);
        assert!((skewed.active_experts(16) - 2.0 * (1.0 - 0.75f64.powi(24))).abs() < 1e-12);
        let capped = Moe {
            imbalance: 10.0,
            ..m
        };
        assert_eq!((capped.busiest(), capped.routed_tokens(16)), (4.0, 32.0));
        let one = Moe {
            expert_shards: 1,
            ..skewed
        };
        assert_eq!(one.routed_tokens(16), 32.0);
        let mixtral = load_model("mixtral-8x7b").unwrap();
        assert_eq!(
            mixtral
                .clone()
                .with_moe_imbalance(1.25)
                .unwrap()
                .moe
                .unwrap()
                .imbalance,
            1.25
        );
        assert!(
            mixtral
                .with_moe_imbalance(0.5)
                .unwrap_err()
                .contains("got 0.5")
        );
        assert!(
            tiny()
                .with_moe_imbalance(2.0)
                .unwrap_err()
                .contains("no mixture")
        );
    }

    /// Bad [mla] and [moe] values name the file, line, column and field.
    #[test]
    fn bad_mla_and_moe_fields_are_located() {
        let text = include_str!("../../../models/deepseek-v3.toml");
        let line_of = |key: &str| {
            text.lines()
                .position(|l| l.starts_with(key))
                .map(|i| i + 1)
                .unwrap()
        };
        for (from, to, expected) in [
            (
                "kv_lora_rank = 512",
                "kv_lora_rank = 0",
                format!(
                    "m.toml:{}:1: field `mla.kv_lora_rank`: expected 1 to 2^24, got 0",
                    line_of("kv_lora_rank")
                ),
            ),
            (
                "head_dim = 192",
                "head_dim = 128",
                format!(
                    "m.toml:{}:1: field `head_dim`: with [mla], expected qk_nope_head_dim + qk_rope_head_dim = 192, got 128",
                    line_of("head_dim")
                ),
            ),
            (
                "kv_heads = 128",
                "kv_heads = 1",
                format!(
                    "m.toml:{}:1: field `kv_heads`: with [mla]",
                    line_of("kv_heads")
                ),
            ),
            (
                "dense_layers = 3",
                "dense_layers = 61",
                format!(
                    "m.toml:{}:1: field `moe.dense_layers`: expected fewer than the 61 layers",
                    line_of("dense_layers")
                ),
            ),
            (
                "dense_layers = 3",
                "dense_layers = 3\nimbalance = 0.5",
                format!(
                    "m.toml:{}:1: field `moe.imbalance`: expected the busiest chip's load over the mean, 1 to 65536, got 0.5",
                    line_of("dense_layers") + 1
                ),
            ),
            (
                "expert_ffn_size = 2048",
                "expert_ffn_size = 0",
                format!(
                    "m.toml:{}:1: field `moe.expert_ffn_size`: expected 1 to 2^24, got 0",
                    line_of("expert_ffn_size")
                ),
            ),
        ] {
            let bad = text.replace(from, to);
            let e = ModelConfig::from_toml(&bad, "m.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&expected), "{e}\nexpected: {expected}");
        }
        // An unknown key in [mla] is refused by the parser, with its line.
        let e = ModelConfig::from_toml(&text.replace("v_head_dim", "v_dim"), "m.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown field `v_dim`") && e.contains("line"),
            "{e}"
        );
    }

    /// DeepSeek-V3's config.json (its fields as published) reads as the
    /// shipped model file does.
    #[test]
    fn deepseek_v3_config_json_matches_the_model_file() {
        let json = r#"{"model_type": "deepseek_v3", "hidden_size": 7168,
            "num_attention_heads": 128, "num_key_value_heads": 128,
            "intermediate_size": 18432, "moe_intermediate_size": 2048,
            "num_hidden_layers": 61, "first_k_dense_replace": 3,
            "n_routed_experts": 256, "n_shared_experts": 1,
            "num_experts_per_tok": 8, "q_lora_rank": 1536, "kv_lora_rank": 512,
            "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
            "vocab_size": 129280}"#;
        let from_json = ModelConfig::from_hf_config(json, "config.json").unwrap();
        let file = deepseek();
        assert_eq!(
            ModelConfig {
                name: file.name.clone(),
                source: file.source.clone(),
                ..from_json
            },
            file
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
