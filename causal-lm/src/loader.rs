//! Finding and reading an InternLM2 checkpoint: a local directory (`config.json`, tokenizer,
//! `*.safetensors` single or sharded, or sharded PyTorch `pytorch_model-*.bin`) or a Hugging Face
//! hub id fetched into the usual cache. Every tensor is checked against the config before the
//! model is built, so a partial checkpoint names what is missing instead of failing somewhere deep.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use candle_core::safetensors::MmapedSafetensors;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;

use crate::error::{ModelError, Result};
use crate::model::{Config, Model};

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local checkpoint directory.
    Dir(PathBuf),
    /// A Hugging Face hub model id such as `internlm/internlm2-math-7b`.
    Hub {
        id: String,
        revision: Option<String>,
    },
}

impl ModelSource {
    /// An existing path is a directory; otherwise `owner/name` (optionally `@revision`) is a hub id;
    /// anything else is taken as a (missing) directory so the error names it.
    pub fn parse(s: &str) -> Self {
        let path = Path::new(s);
        if path.exists() {
            return ModelSource::Dir(path.to_path_buf());
        }
        let (id, revision) = match s.split_once('@') {
            Some((id, rev)) if !rev.is_empty() => (id, Some(rev.to_string())),
            _ => (s, None),
        };
        let is_part = |p: &str| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match id.split_once('/') {
            Some((owner, name)) if is_part(owner) && is_part(name) => ModelSource::Hub {
                id: id.to_string(),
                revision,
            },
            _ => ModelSource::Dir(path.to_path_buf()),
        }
    }
}

/// How to place the weights.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub dtype: DType,
    pub device: Device,
    /// Hub access settings (only used for [`ModelSource::Hub`]).
    pub hub: HubOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            dtype: DType::F32,
            device: Device::Cpu,
            hub: HubOptions::default(),
        }
    }
}

/// Hub settings; `None` fields fall back to the `HF_*` environment variables and their defaults
/// (`~/.cache/huggingface/hub`).
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    pub endpoint: Option<String>,
    pub cache_dir: Option<PathBuf>,
    /// Resolve from the local cache only (also switched on by `HF_HUB_OFFLINE=1`).
    pub offline: bool,
}

/// Parses `f32`, `f16`, `bf16` (also `float32`, `float16`, `bfloat16`).
pub fn parse_dtype(s: &str) -> Result<DType> {
    match s.to_ascii_lowercase().as_str() {
        "f32" | "float32" | "float" => Ok(DType::F32),
        "f16" | "float16" | "half" => Ok(DType::F16),
        "bf16" | "bfloat16" => Ok(DType::BF16),
        other => Err(ModelError::InvalidOption(format!(
            "unsupported dtype `{other}` (use f32, f16 or bf16)"
        ))),
    }
}

/// Parses `cpu`, `cuda`, `cuda:N`, `metal`, `metal:N`.
pub fn parse_device(s: &str) -> Result<Device> {
    let (kind, ordinal) = match s.split_once(':') {
        Some((k, n)) => {
            let n = n
                .parse::<usize>()
                .map_err(|_| ModelError::InvalidOption(format!("bad device ordinal in `{s}`")))?;
            (k, n)
        }
        None => (s, 0),
    };
    let device = match kind {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Device::new_cuda(ordinal),
        "metal" => Device::new_metal(ordinal),
        _ => {
            return Err(ModelError::InvalidOption(format!(
                "unknown device `{s}` (use cpu, cuda[:N] or metal[:N])"
            )));
        }
    };
    device.map_err(|e| ModelError::Device(format!("cannot open `{s}`: {e}")))
}

/// The files of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub weights: WeightFiles,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightFiles {
    Safetensors(Vec<PathBuf>),
    /// PyTorch pickles (`torch.save` zip format).
    Pth(Vec<PathBuf>),
}

impl WeightFiles {
    pub fn paths(&self) -> &[PathBuf] {
        match self {
            WeightFiles::Safetensors(p) | WeightFiles::Pth(p) => p,
        }
    }
}

fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Shard files named by an index's `weight_map`, each required to exist.
fn shards_from_index(dir: &Path, index: &Path) -> Result<Vec<PathBuf>> {
    #[derive(serde::Deserialize)]
    struct Index {
        weight_map: HashMap<String, String>,
    }
    let text = read_to_string(index)?;
    let parsed: Index = serde_json::from_str(&text).map_err(|e| ModelError::InvalidFile {
        path: index.to_path_buf(),
        message: e.to_string(),
    })?;
    let files: BTreeSet<&String> = parsed.weight_map.values().collect();
    if files.is_empty() {
        return Err(ModelError::InvalidFile {
            path: index.to_path_buf(),
            message: "empty weight_map".into(),
        });
    }
    files
        .into_iter()
        .map(|f| {
            let path = dir.join(f);
            if path.is_file() {
                Ok(path)
            } else {
                Err(ModelError::MissingFile {
                    path,
                    what: format!("weight shard listed in {}", index.display()),
                })
            }
        })
        .collect()
}

impl ModelFiles {
    /// Locates `config.json` and the weights in `dir`. Preference: sharded safetensors (index),
    /// `model.safetensors`, other `*.safetensors`, sharded `.bin` (index), `pytorch_model.bin`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ModelError::NotADirectory(dir.to_path_buf()));
        }
        let config = dir.join("config.json");
        if !config.is_file() {
            return Err(ModelError::MissingFile {
                path: config,
                what: "model config".into(),
            });
        }
        let st_index = dir.join("model.safetensors.index.json");
        let st_single = dir.join("model.safetensors");
        let pt_index = dir.join("pytorch_model.bin.index.json");
        let pt_single = dir.join("pytorch_model.bin");
        let weights = if st_index.is_file() {
            WeightFiles::Safetensors(shards_from_index(dir, &st_index)?)
        } else if st_single.is_file() {
            WeightFiles::Safetensors(vec![st_single])
        } else {
            let mut others = std::fs::read_dir(dir)
                .map_err(|source| ModelError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .collect::<Vec<_>>();
            others.sort();
            if !others.is_empty() {
                WeightFiles::Safetensors(others)
            } else if pt_index.is_file() {
                WeightFiles::Pth(shards_from_index(dir, &pt_index)?)
            } else if pt_single.is_file() {
                WeightFiles::Pth(vec![pt_single])
            } else {
                return Err(ModelError::MissingFile {
                    path: st_single,
                    what: "model weights (model.safetensors, model.safetensors.index.json, \
                           pytorch_model.bin or pytorch_model.bin.index.json)"
                        .into(),
                });
            }
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            config,
            weights,
        })
    }

    pub fn read_config(&self) -> Result<Config> {
        read_config(&self.config)
    }
}

/// Parses and validates a `config.json`.
pub fn read_config(path: &Path) -> Result<Config> {
    let text = read_to_string(path)?;
    let cfg: Config = serde_json::from_str(&text).map_err(|e| ModelError::InvalidFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    cfg.validate()?;
    Ok(cfg)
}

/// Several PyTorch pickle shards behind one name → tensor lookup.
struct PthShards {
    shards: Vec<candle_core::pickle::PthTensors>,
    route: HashMap<String, usize>,
}

impl PthShards {
    fn open(paths: &[PathBuf]) -> Result<Self> {
        let mut shards = Vec::with_capacity(paths.len());
        let mut route = HashMap::new();
        for (i, path) in paths.iter().enumerate() {
            let shard = candle_core::pickle::PthTensors::new(path, None).map_err(|e| {
                ModelError::InvalidFile {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
            for name in shard.tensor_infos().keys() {
                route.insert(name.clone(), i);
            }
            shards.push(shard);
        }
        Ok(Self { shards, route })
    }

    fn shape(&self, name: &str) -> Option<Vec<usize>> {
        let shard = &self.shards[*self.route.get(name)?];
        Some(shard.tensor_infos()[name].layout.dims().to_vec())
    }

    fn load(&self, name: &str) -> candle_core::Result<Tensor> {
        let missing = || candle_core::Error::CannotFindTensor {
            path: name.to_string(),
        };
        let shard = self.route.get(name).ok_or_else(missing)?;
        self.shards[*shard].get(name)?.ok_or_else(missing)
    }
}

impl SimpleBackend for PthShards {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let t = self.get_unchecked(name, dtype, dev)?;
        if t.shape() != &s {
            return Err(candle_core::Error::UnexpectedShape {
                msg: format!("shape mismatch for {name}"),
                expected: s,
                got: t.shape().clone(),
            });
        }
        Ok(t)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        // Convert on the host first: the pickles hold bf16 and a device may lack the cast.
        self.load(name)?.to_dtype(dtype)?.to_device(dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.route.contains_key(name)
    }
}

/// Checks every tensor the config implies against the checkpoint's own listing.
fn check_tensors(
    cfg: &Config,
    dir: &Path,
    shape_of: impl Fn(&str) -> Option<Vec<usize>>,
) -> Result<()> {
    for (name, expected) in cfg.expected_tensors() {
        match shape_of(&name) {
            None => {
                return Err(ModelError::MissingTensor {
                    name,
                    dir: dir.to_path_buf(),
                });
            }
            Some(got) if got != expected => {
                return Err(ModelError::TensorShape {
                    name,
                    expected,
                    got,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Builds the model from the files of a checkpoint.
pub fn load_model(files: &ModelFiles, opts: &LoadOptions) -> Result<Model> {
    let cfg = files.read_config()?;
    load_model_with_config(files, &cfg, opts)
}

/// Like [`load_model`] with an explicit config (e.g. a variant of the checkpoint's own).
pub fn load_model_with_config(
    files: &ModelFiles,
    cfg: &Config,
    opts: &LoadOptions,
) -> Result<Model> {
    cfg.validate()?;
    let vb = match &files.weights {
        WeightFiles::Safetensors(paths) => {
            for path in paths {
                // SAFETY: the file is mapped read-only; like every mmap user we rely on nobody
                // truncating or rewriting the checkpoint while it is loaded.
                unsafe { MmapedSafetensors::new(path) }.map_err(|e| ModelError::InvalidFile {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            }
            // SAFETY: as above.
            let st = unsafe { MmapedSafetensors::multi(paths) }?;
            check_tensors(cfg, &files.dir, |name| {
                st.get(name).ok().map(|view| view.shape().to_vec())
            })?;
            VarBuilder::from_backend(Box::new(st), opts.dtype, opts.device.clone())
        }
        WeightFiles::Pth(paths) => {
            let shards = PthShards::open(paths)?;
            check_tensors(cfg, &files.dir, |name| shards.shape(name))?;
            VarBuilder::from_backend(Box::new(shards), opts.dtype, opts.device.clone())
        }
    };
    Model::load(vb, cfg)
}

/// Resolves a source to a local checkpoint directory, downloading from the hub if needed.
pub fn resolve(source: &ModelSource, hub: &HubOptions) -> Result<PathBuf> {
    match source {
        ModelSource::Dir(dir) => {
            if dir.is_dir() {
                Ok(dir.clone())
            } else {
                Err(ModelError::NotADirectory(dir.clone()))
            }
        }
        ModelSource::Hub { id, revision } => fetch_from_hub(id, revision.as_deref(), hub),
    }
}

/// Loads model files from a source: the directory it resolves to and the built model.
pub fn load(source: &ModelSource, opts: &LoadOptions) -> Result<(PathBuf, Model)> {
    let dir = resolve(source, &opts.hub)?;
    let files = ModelFiles::from_dir(&dir)?;
    Ok((dir, load_model(&files, opts)?))
}

/// Downloads (or finds in the cache) what a checkpoint needs and returns its snapshot directory.
pub fn fetch_from_hub(id: &str, revision: Option<&str>, opts: &HubOptions) -> Result<PathBuf> {
    let hub_err = |message: String| ModelError::Hub {
        id: id.to_string(),
        message,
    };
    let offline = opts.offline
        || std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| matches!(v.as_str(), "1" | "true"));
    let mut builder = hf_hub::HFClient::builder().retry_max_attempts(2);
    if let Some(endpoint) = &opts.endpoint {
        builder = builder.endpoint(endpoint.clone());
    }
    if let Some(cache) = &opts.cache_dir {
        builder = builder.cache_dir(cache.clone());
    }
    let client = builder.build().map_err(|e| hub_err(e.to_string()))?;
    let (owner, name) = hf_hub::split_id(id);
    let repo = client.model(owner, name);
    let fetch = |patterns: &[&str]| -> std::result::Result<PathBuf, hf_hub::HFError> {
        let patterns = patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let request = repo
            .snapshot_download()
            .maybe_revision(revision.map(str::to_string))
            .allow_patterns(patterns)
            .local_files_only(offline);
        // The hub client is async; run it on a private runtime in its own thread so this works
        // whether or not the caller is already inside a tokio runtime.
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| hf_hub::HFError::Other(e.to_string()))?;
                rt.block_on(request.send())
            })
            .join()
            .unwrap_or_else(|_| Err(hf_hub::HFError::Other("download thread panicked".into())))
        })
    };
    let explain = |e: hf_hub::HFError| {
        let hint = if offline {
            "it is not in the local cache (offline mode)"
        } else {
            "check the id and the network, or pass a local checkpoint directory"
        };
        hub_err(format!("{e}; {hint}"))
    };
    let dir = fetch(&[
        "config.json",
        "generation_config.json",
        "tokenizer*",
        "special_tokens_map.json",
        "*.safetensors",
        "model.safetensors.index.json",
    ])
    .map_err(explain)?;
    let has_safetensors = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
        })
        .unwrap_or(false);
    if has_safetensors {
        return Ok(dir);
    }
    fetch(&["pytorch_model*.bin", "pytorch_model.bin.index.json"]).map_err(explain)
}
