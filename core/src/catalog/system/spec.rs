//! The facts about one GPU system: [`SystemSpec`] and its parts.
//!
//! Units are in the field names; quantities are exact integers as the sources
//! give them (bytes, bytes per second, FLOP/s, nanoseconds, watts), so that the
//! committed data compares exactly. The perf model reads them as `f64` through
//! the helper methods.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who makes the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Nvidia,
    Amd,
}

/// What connects the GPUs of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntraNodeLink {
    /// NVLink through NVSwitch (all-to-all at full bandwidth).
    Nvlink,
    /// PCIe only (NVLink bridges between pairs, where present, are not modelled).
    Pcie,
    /// AMD Infinity Fabric (a full mesh of point-to-point links).
    InfinityFabric,
}

/// A tensor-core data type whose peak throughput the catalog records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorDtype {
    Fp16,
    Bf16,
    Tf32,
    Fp8,
    Int8,
    /// FP4 (NVFP4/MXFP4 on Blackwell).
    Fp4,
}

/// Dense (not 2:4-sparse) peak tensor-core throughput in FLOP/s (OP/s for int8).
/// `None` where the GPU has no tensor-core path for the type (V100 has no bf16,
/// Hopper no fp4) or where the source does not say (tf32 of the measured systems).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorFlops {
    /// Every GPU in the catalog has fp16 tensor cores. Equal to `bf16` where both exist.
    pub fp16: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bf16: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tf32: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp4: Option<u64>,
}

impl TensorFlops {
    /// The peak for one dtype, `None` where the GPU has no tensor-core path for it.
    pub fn get(&self, dtype: TensorDtype) -> Option<u64> {
        match dtype {
            TensorDtype::Fp16 => Some(self.fp16),
            TensorDtype::Bf16 => self.bf16,
            TensorDtype::Tf32 => self.tf32,
            TensorDtype::Fp8 => self.fp8,
            TensorDtype::Int8 => self.int8,
            TensorDtype::Fp4 => self.fp4,
        }
    }
}

/// One GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    /// Device memory as the runtime sees it, in bytes.
    pub memory_bytes: u64,
    /// `HBM3e`, `GDDR6`, ...; descriptive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_kind: Option<String>,
    /// Peak memory bandwidth, bytes per second.
    pub mem_bw_bytes_per_s: u64,
    /// Fraction of the peak bandwidth that memory-bound kernels reach (AI
    /// Configurator's `mem_bw_empirical_scaling_factor`, observed, not official).
    pub mem_bw_scaling: f64,
    /// Constant latency added to every memory-bound operation, nanoseconds
    /// (AI Configurator's `mem_empirical_constant_latency`).
    pub mem_latency_ns: u64,
    /// Dense peak tensor throughput per dtype.
    pub flops: TensorFlops,
    /// CUDA compute capability as one number (`90` for sm_90); `None` for AMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sm_version: Option<u32>,
    /// Architecture: `volta`, `turing`, `ampere`, `ada`, `hopper`, `blackwell`,
    /// `blackwell_ultra`, `cdna2`, `cdna3`.
    pub arch: String,
    /// Board power, watts.
    pub power_w: u32,
}

/// Scale-up domain larger than a node (GB200/GB300 NVL72: NVLink across trays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RackSpec {
    pub gpus_per_rack: u32,
    /// Per GPU, one direction, between racks.
    pub inter_rack_bw_bytes_per_s: u64,
    pub inter_rack_latency_ns: u64,
}

/// How the GPUs are put together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    pub gpus_per_node: u32,
    pub intra_node_link: IntraNodeLink,
    /// Per GPU, one direction, inside a node.
    pub intra_node_bw_bytes_per_s: u64,
    /// Per GPU, one direction, between nodes (for NVL72 systems: inside the rack).
    pub inter_node_bw_bytes_per_s: u64,
    /// Host link per GPU, one direction.
    pub pcie_bw_bytes_per_s: u64,
    /// Latency of one point-to-point transfer, nanoseconds.
    pub p2p_latency_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<RackSpec>,
}

/// Memory the runtime takes besides weights, activations and KV cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MiscSpec {
    /// NCCL buffers per GPU, keyed by the number of GPUs in the communicator.
    pub nccl_mem_bytes: BTreeMap<u32, u64>,
    /// Everything else (CUDA context, allocator slack), per GPU.
    pub other_mem_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nccl_version: Option<String>,
}

/// One GPU system of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSpec {
    /// Canonical id, lowercase `[a-z0-9_]`: `h200_sxm`, `gb200`.
    pub sku: String,
    pub display_name: String,
    pub vendor: Vendor,
    /// The system whose measured per-operation tables (`perfdb/<system>`) the
    /// performance model uses for this one: the SKU itself where it was measured,
    /// a sibling of the same architecture where it was not (the model rescales by
    /// the ratio of peaks), `None` where there is nothing to borrow: roofline
    /// answers only (V100, T4, AMD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<String>,
    pub gpu: GpuSpec,
    pub node: NodeSpec,
    pub misc: MiscSpec,
    /// Where the figures come from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Caveats a user should know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How well the performance model knows a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Measured per-operation tables for this very system.
    Measured,
    /// No tables of its own; a sibling's measured tables, rescaled.
    Proxy,
    /// Datasheet facts only: roofline answers.
    RooflineOnly,
}

const MIB: u64 = 1 << 20;

impl SystemSpec {
    /// How the performance model knows this system.
    pub fn coverage(&self) -> Coverage {
        match &self.tables {
            Some(t) if *t == self.sku => Coverage::Measured,
            Some(_) => Coverage::Proxy,
            None => Coverage::RooflineOnly,
        }
    }

    /// Whether the performance model covers it with measured tables (its own or
    /// a sibling's). `false` means roofline answers only.
    pub fn modeled(&self) -> bool {
        self.tables.is_some()
    }

    /// Whether perfdb holds tables measured on this very system.
    pub fn has_measured_tables(&self) -> bool {
        self.coverage() == Coverage::Measured
    }

    /// Device memory in MiB (the unit of `hardware.vramMb` and of the GPU
    /// operator's `nvidia.com/gpu.memory` label), rounded down.
    pub fn vram_mib(&self) -> u64 {
        self.gpu.memory_bytes / MIB
    }

    /// Dense peak tensor FLOP/s for a dtype.
    pub fn flops(&self, dtype: TensorDtype) -> Option<f64> {
        self.gpu.flops.get(dtype).map(|f| f as f64)
    }

    /// Peak memory bandwidth, bytes per second.
    pub fn mem_bw(&self) -> f64 {
        self.gpu.mem_bw_bytes_per_s as f64
    }

    /// Bandwidth that memory-bound kernels reach: peak times the empirical factor.
    pub fn effective_mem_bw(&self) -> f64 {
        self.mem_bw() * self.gpu.mem_bw_scaling
    }

    /// NCCL memory per GPU for a communicator of `num_gpus`: the entry for that
    /// count, else the next larger count, else the largest one (NCCL buffers stop
    /// growing with size); 0 for a single GPU or an empty table.
    pub fn nccl_mem_bytes(&self, num_gpus: u32) -> u64 {
        if num_gpus <= 1 {
            return 0;
        }
        let table = &self.misc.nccl_mem_bytes;
        table
            .range(num_gpus..)
            .next()
            .or_else(|| table.iter().next_back())
            .map_or(0, |(_, bytes)| *bytes)
    }
}
