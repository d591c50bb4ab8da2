//! SLA checks and what to say when it cannot be met (SPEC §4).

use super::Ranked;
use crate::search::Row;
use crate::spec::SlaTarget;

/// Rows within this relative distance of the closest row's excess count as
/// equally close, and the mode's ranking chooses among them.
const CLOSE_TOLERANCE: f64 = 0.02;

/// Whether a row meets the targets: `tpot ≤ itl` and `ttft ≤ ttft`, or
/// `request_latency ≤ e2e`.
pub fn meets(sla: &SlaTarget, r: &Row) -> bool {
    match *sla {
        SlaTarget::TtftItl { ttft_ms, itl_ms } => r.ttft_ms <= ttft_ms && r.tpot_ms <= itl_ms,
        SlaTarget::E2e { e2e_ms } => r.request_latency_ms <= e2e_ms,
    }
}

/// How far a row is from the targets: the largest ratio of achieved to
/// target (≤ 1 when it meets them).
pub fn violation(sla: &SlaTarget, r: &Row) -> f64 {
    match *sla {
        SlaTarget::TtftItl { ttft_ms, itl_ms } => {
            (r.ttft_ms / ttft_ms.max(1e-9)).max(r.tpot_ms / itl_ms.max(1e-9))
        }
        SlaTarget::E2e { e2e_ms } => r.request_latency_ms / e2e_ms.max(1e-9),
    }
}

/// The rows as close to the targets as the closest one.
pub fn closest(sla: &SlaTarget, rows: Vec<Ranked>) -> Vec<Ranked> {
    let best = rows
        .iter()
        .map(|r| violation(sla, &r.row))
        .fold(f64::INFINITY, f64::min);
    rows.into_iter()
        .filter(|r| violation(sla, &r.row) <= best * (1.0 + CLOSE_TOLERANCE))
        .collect()
}

/// The outcome of an SLA check, for reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlaCheck {
    pub target_ms: f64,
    pub best_ms: f64,
}

fn line(what: &str, target: f64, best: f64) -> String {
    format!("{what} SLA {target:.1}ms is unachievable; best achievable {best:.1}ms")
}

/// Warnings for a set of rows none of which meets the SLA: each target no
/// row reaches, with the best any row achieves; or, when each target alone
/// is reachable, that they cannot be met together.
pub fn unachievable(sla: &SlaTarget, rows: &[Ranked], _osl: u32) -> Vec<String> {
    let min = |f: fn(&Row) -> f64| rows.iter().map(|r| f(&r.row)).fold(f64::INFINITY, f64::min);
    match *sla {
        SlaTarget::TtftItl { ttft_ms, itl_ms } => {
            let best_ttft = min(|r| r.ttft_ms);
            let best_itl = min(|r| r.tpot_ms);
            let mut out = Vec::new();
            if best_ttft > ttft_ms {
                out.push(line("TTFT", ttft_ms, best_ttft));
            }
            if best_itl > itl_ms {
                out.push(line("ITL", itl_ms, best_itl));
            }
            if out.is_empty() {
                out.push(format!(
                    "TTFT SLA {ttft_ms:.1}ms and ITL SLA {itl_ms:.1}ms are each achievable but not together (best TTFT {best_ttft:.1}ms, best ITL {best_itl:.1}ms, by different configurations)"
                ));
            }
            out
        }
        SlaTarget::E2e { e2e_ms } => {
            vec![line(
                "End-to-end latency",
                e2e_ms,
                min(|r| r.request_latency_ms),
            )]
        }
    }
}

/// Warnings for the autoscale pick, whose engines are checked on their own.
pub fn unachievable_engines(sla: &SlaTarget, ttft: f64, itl: f64, osl: f64) -> Vec<String> {
    match *sla {
        SlaTarget::TtftItl { ttft_ms, itl_ms } => {
            let mut out = Vec::new();
            if ttft * super::AUTOSCALE_TTFT_HEADROOM >= ttft_ms {
                out.push(format!(
                    "{} (the planner needs {:.1}× TTFT headroom for queueing)",
                    line("TTFT", ttft_ms, ttft),
                    super::AUTOSCALE_TTFT_HEADROOM
                ));
            }
            if itl >= itl_ms {
                out.push(line("ITL", itl_ms, itl));
            }
            out
        }
        SlaTarget::E2e { e2e_ms } => {
            vec![line("End-to-end latency", e2e_ms, ttft + itl * (osl - 1.0))]
        }
    }
}
