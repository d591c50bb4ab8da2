//! Which parallel mappings are candidates for a model on a system (SPEC §3.1),
//! and why the others are not.

use super::{MappingKind, Rejected};
use crate::catalog::model::ModelArch;
use crate::plan::{ConcreteBackend, Parallel};

/// Largest engine of a dense model: one node (tensor parallelism across
/// nodes is slower than replicas).
pub const MAX_NODES_DENSE: u32 = 1;
/// Largest engine of an MoE model: four nodes (wide expert parallelism).
pub const MAX_NODES_MOE: u32 = 4;

/// The attention kind that decides the mappings (the upstream profiler's
/// support table: dense → TP; GQA-MoE → TP, TEP, DEP; MLA-MoE → TEP, DEP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchKind {
    Dense,
    GqaMoe,
    MlaMoe,
}

impl ArchKind {
    pub fn of(model: &ModelArch) -> ArchKind {
        // DeepSeek-V4's compressed attention has one KV head that every TP
        // rank holds whole, as MLA's latent: its engines map it as MLA-MoE.
        let latent = model.attention.mla.is_some() || model.compressed.is_some();
        match (model.is_moe(), latent) {
            (false, _) => ArchKind::Dense,
            (true, false) => ArchKind::GqaMoe,
            (true, true) => ArchKind::MlaMoe,
        }
    }

    fn kinds(self) -> &'static [MappingKind] {
        match self {
            ArchKind::Dense => &[MappingKind::Tp],
            ArchKind::GqaMoe => &[MappingKind::Tp, MappingKind::Tep, MappingKind::Dep],
            ArchKind::MlaMoe => &[MappingKind::Tep, MappingKind::Dep],
        }
    }
}

/// Bounds on the GPUs of one engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineBounds {
    pub min: u32,
    pub max: u32,
}

/// One mapping of `gpus` GPUs of a kind, as a layout.
pub fn layout(kind: MappingKind, gpus: u32, pp: u32) -> Parallel {
    match kind {
        MappingKind::Tp => Parallel {
            pp,
            ..Parallel::tp(gpus)
        },
        MappingKind::Tep => Parallel {
            pp,
            ..Parallel::tep(gpus)
        },
        MappingKind::Dep => Parallel {
            pp,
            ..Parallel::dep(gpus)
        },
    }
}

/// The powers of two from `lo` to `hi`.
pub fn powers_of_two(lo: u32, hi: u32) -> impl Iterator<Item = u32> {
    let lo = lo.max(1).next_power_of_two();
    (0..31)
        .map(|e| 1_u32 << e)
        .filter(move |&n| n >= lo && n <= hi)
}

/// Checks a mapping against the model and the backend; `Err` says why it
/// is no candidate.
pub fn check(
    model: &ModelArch,
    backend: ConcreteBackend,
    kind: MappingKind,
    par: &Parallel,
) -> Result<(), String> {
    let heads = model.attention.num_heads;
    let kv_heads = model.attention.num_kv_heads.max(1);
    let tp = u64::from(par.tp);
    if tp > 1 && !heads.is_multiple_of(tp) {
        return Err(format!(
            "{heads} attention heads do not split evenly over tensor parallelism {tp}"
        ));
    }
    // GQA KV heads are either split over the TP ranks or replicated on them.
    if model.attention.mla.is_none()
        && tp > 1
        && !kv_heads.is_multiple_of(tp)
        && !tp.is_multiple_of(kv_heads)
    {
        return Err(format!(
            "{kv_heads} KV heads neither split over nor replicate evenly on tensor parallelism {tp}"
        ));
    }
    if par.pp > 1 {
        let layers = model.num_layers;
        if layers < u64::from(par.pp) {
            return Err(format!(
                "{layers} layers cannot fill {} pipeline stages",
                par.pp
            ));
        }
        if kind != MappingKind::Tp {
            return Err(
                "pipeline parallelism is searched for dense tensor-parallel engines only".into(),
            );
        }
    }
    if let Some(moe) = &model.moe {
        let ep = u64::from(par.moe_ep);
        if ep > 1 && !moe.num_experts.is_multiple_of(ep) {
            return Err(format!(
                "{} experts do not split evenly over expert parallelism {ep}",
                moe.num_experts
            ));
        }
        let inter = moe.expert_intermediate_size;
        let mtp = u64::from(par.moe_tp);
        if mtp > 1 && !inter.is_multiple_of(mtp) {
            return Err(format!(
                "the expert width {inter} does not split evenly over MoE tensor parallelism {mtp}"
            ));
        }
    }
    if kind == MappingKind::Dep && backend == ConcreteBackend::Vllm && par.dp > 1 && !model.is_moe()
    {
        return Err("attention data parallelism is for MoE models".into());
    }
    Ok(())
}

/// Every mapping to try for one backend, with the rejected ones and why.
pub fn enumerate(
    model: &ModelArch,
    backend: ConcreteBackend,
    bounds: EngineBounds,
    gpus_per_node: u32,
    rejected: &mut Vec<Rejected>,
) -> Vec<(MappingKind, Parallel)> {
    let arch = ArchKind::of(model);
    let mut out = Vec::new();
    for &kind in arch.kinds() {
        // A one-GPU TEP/DEP is plain TP 1: keep one of them.
        let lo = if kind == MappingKind::Tp { 1 } else { 2 };
        // A dense model's tensor parallelism stays within a node; beyond it,
        // pipeline stages (below) cross the nodes.
        let hi = if arch == ArchKind::Dense {
            bounds.max.min(gpus_per_node.max(1))
        } else {
            bounds.max
        };
        for n in powers_of_two(lo.max(bounds.min), hi) {
            let par = layout(kind, n, 1);
            match check(model, backend, kind, &par) {
                Ok(()) => out.push((kind, par)),
                Err(why) => rejected.push(Rejected::mapping(backend, kind, &par, why)),
            }
        }
    }
    // Pipeline stages for dense models too large for tensor parallelism within
    // one node: TP over the node, PP over nodes (within the bounds).
    if arch == ArchKind::Dense && bounds.max > gpus_per_node {
        for pp in powers_of_two(2, bounds.max / gpus_per_node.max(1)) {
            let par = layout(MappingKind::Tp, gpus_per_node, pp);
            match check(model, backend, MappingKind::Tp, &par) {
                Ok(()) => out.push((MappingKind::Tp, par)),
                Err(why) => rejected.push(Rejected::mapping(backend, MappingKind::Tp, &par, why)),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_within_bounds() {
        assert_eq!(powers_of_two(1, 8).collect::<Vec<_>>(), vec![1, 2, 4, 8]);
        assert_eq!(powers_of_two(3, 16).collect::<Vec<_>>(), vec![4, 8, 16]);
        assert_eq!(powers_of_two(8, 4).count(), 0);
    }
}
