//! Does the model rank deployments the way the measurements do? A planner
//! needs the order of its candidates right more than their absolute times:
//! this is the measure of that, on the ground truth.
//!
//! Rows are grouped by everything but the parallel layout and the
//! concurrency (model, system, backend and version, precision and quant,
//! ISL/OSL): the choices `dgdr profile` makes among. For aggregated rows
//! with complete inputs, throughput per GPU follows from the closed loop,
//! `concurrency × OSL / (TTFT + TPOT × (OSL − 1)) / GPUs`, for the measured
//! and the predicted times alike. Per group:
//! - Spearman's ρ between predicted and measured throughput per GPU;
//! - the pick regret: the measured throughput lost by taking the predicted
//!   best instead of the measured best, `1 − measured(pick) / measured(best)`;
//! - the same under an SLA (TPOT at most the group's median measured TPOT):
//!   the pick is the predicted best among the rows predicted to meet it, the
//!   best the measured best among the rows measured to meet it; a pick that
//!   in truth misses the SLA is counted as a violation.

use std::collections::BTreeMap;

use serde::Serialize;

use super::rows::Row;

/// One row's throughput per GPU, measured and predicted, and its TPOTs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub measured_tps: f64,
    pub predicted_tps: f64,
    pub measured_tpot: f64,
    pub predicted_tpot: f64,
}

/// The ranking figures of the groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ranking {
    /// Groups with at least [`MIN_GROUP`] rows.
    pub groups: usize,
    pub rows: usize,
    pub median_spearman: f64,
    /// Groups whose predicted best is the measured best.
    pub top1_pct: f64,
    pub median_regret_pct: f64,
    pub mean_regret_pct: f64,
    /// Under the median-TPOT SLA: groups where some row meets it in truth.
    pub sla_groups: usize,
    pub sla_median_regret_pct: f64,
    pub sla_mean_regret_pct: f64,
    /// Picks that in truth miss the SLA.
    pub sla_violation_pct: f64,
}

/// Groups smaller than this say nothing about an order.
pub const MIN_GROUP: usize = 3;

/// The group a row competes in.
pub fn group_key(r: &Row) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        r.model,
        r.system,
        r.backend,
        r.backend_version.as_deref().unwrap_or(""),
        r.precision.as_deref().unwrap_or(""),
        r.gemm_quant.as_deref().unwrap_or(""),
        r.moe_quant.as_deref().unwrap_or(""),
        r.kv_quant.as_deref().unwrap_or(""),
        r.isl.unwrap_or(0),
        r.osl.unwrap_or(0)
    )
}

/// Throughput per GPU of an aggregated row from its times, when the row
/// says everything needed.
fn tps_per_gpu(r: &Row, ttft: f64, tpot: f64) -> Option<f64> {
    if !r.mode.eq_ignore_ascii_case("agg") {
        return None;
    }
    let osl = f64::from(r.osl?);
    let dp = f64::from(r.dp.unwrap_or(1).max(1));
    let conc = f64::from(r.batch_size?) * dp;
    let gpus = f64::from(r.tp.unwrap_or(1).max(1) * r.pp.unwrap_or(1).max(1)) * dp;
    let latency = ttft + tpot * (osl - 1.0).max(0.0);
    (latency > 0.0 && gpus > 0.0).then(|| conc * osl * 1000.0 / latency / gpus)
}

/// The point of a row with its prediction, when both exist.
pub fn point(r: &Row, predicted: Option<(f64, f64)>) -> Option<Point> {
    let (pt, pp) = predicted?;
    let (mt, mp) = (r.ttft_ms?, r.tpot_ms?);
    Some(Point {
        measured_tps: tps_per_gpu(r, mt, mp)?,
        predicted_tps: tps_per_gpu(r, pt, pp)?,
        measured_tpot: mp,
        predicted_tpot: pp,
    })
}

/// Ranks of `xs` (1-based, ties averaged).
fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - mean) * (y - mean);
        va += (x - mean).powi(2);
        vb += (y - mean).powi(2);
    }
    if va <= 0.0 || vb <= 0.0 {
        return 0.0;
    }
    cov / (va * vb).sqrt()
}

fn argmax(points: &[&Point], key: impl Fn(&Point) -> f64) -> Option<usize> {
    (0..points.len()).max_by(|&a, &b| key(points[a]).total_cmp(&key(points[b])))
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The ranking figures of `(group, point)` pairs.
pub fn ranking(points: impl IntoIterator<Item = (String, Point)>) -> Ranking {
    let mut groups: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (k, p) in points {
        groups.entry(k).or_default().push(p);
    }
    let mut out = Ranking::default();
    let (mut rhos, mut regrets, mut sla_regrets) = (Vec::new(), Vec::new(), Vec::new());
    let (mut top1, mut violations) = (0usize, 0usize);
    for pts in groups.values().filter(|g| g.len() >= MIN_GROUP) {
        let refs: Vec<&Point> = pts.iter().collect();
        out.groups += 1;
        out.rows += pts.len();
        let m: Vec<f64> = pts.iter().map(|p| p.measured_tps).collect();
        let p: Vec<f64> = pts.iter().map(|p| p.predicted_tps).collect();
        rhos.push(spearman(&p, &m));
        if let (Some(pick), Some(best)) = (
            argmax(&refs, |x| x.predicted_tps),
            argmax(&refs, |x| x.measured_tps),
        ) {
            if pick == best {
                top1 += 1;
            }
            regrets.push(1.0 - m[pick] / m[best]);
        }
        // The SLA: the group's median measured TPOT.
        let sla = median(pts.iter().map(|x| x.measured_tpot).collect());
        let meets_true: Vec<&Point> = refs
            .iter()
            .copied()
            .filter(|x| x.measured_tpot <= sla)
            .collect();
        let meets_pred: Vec<&Point> = refs
            .iter()
            .copied()
            .filter(|x| x.predicted_tpot <= sla)
            .collect();
        let best = argmax(&meets_true, |x| x.measured_tps).map(|i| meets_true[i].measured_tps);
        if let Some(best) = best {
            out.sla_groups += 1;
            // Nothing predicted to meet it: the picker takes the closest,
            // the row with the lowest predicted TPOT.
            let pick = match argmax(&meets_pred, |x| x.predicted_tps) {
                Some(i) => meets_pred[i],
                None => refs
                    .iter()
                    .copied()
                    .min_by(|a, b| a.predicted_tpot.total_cmp(&b.predicted_tpot))
                    .unwrap_or(refs[0]),
            };
            if pick.measured_tpot > sla {
                violations += 1;
            }
            sla_regrets.push((1.0 - pick.measured_tps / best).max(0.0));
        }
    }
    let pct = |n: usize, d: usize| {
        if d == 0 {
            f64::NAN
        } else {
            n as f64 / d as f64 * 100.0
        }
    };
    out.median_spearman = median(rhos);
    out.top1_pct = pct(top1, out.groups);
    out.median_regret_pct = median(regrets.clone()) * 100.0;
    out.mean_regret_pct = mean(&regrets) * 100.0;
    out.sla_median_regret_pct = median(sla_regrets.clone()) * 100.0;
    out.sla_mean_regret_pct = mean(&sla_regrets) * 100.0;
    out.sla_violation_pct = pct(violations, out.sla_groups);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pt(m: f64, p: f64) -> Point {
        Point {
            measured_tps: m,
            predicted_tps: p,
            measured_tpot: 1000.0 / m,
            predicted_tpot: 1000.0 / p,
        }
    }

    #[test]
    fn spearman_of_orders() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[5.0, 1.0, 5.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn a_perfect_model_has_no_regret() {
        let pts = (1..=5).map(|i| ("g".to_string(), pt(f64::from(i), f64::from(i) * 1.3)));
        let r = ranking(pts);
        assert_eq!(r.groups, 1);
        assert!((r.median_spearman - 1.0).abs() < 1e-12);
        assert_eq!(r.top1_pct, 100.0);
        assert_eq!(r.median_regret_pct, 0.0);
        assert_eq!(r.sla_violation_pct, 0.0);
    }

    #[test]
    fn a_wrong_best_costs_what_it_loses() {
        // The model thinks the 80-row is the best; the best measures 100.
        let pts = vec![
            ("g".to_string(), pt(100.0, 50.0)),
            ("g".to_string(), pt(80.0, 90.0)),
            ("g".to_string(), pt(10.0, 10.0)),
        ];
        let r = ranking(pts);
        assert_eq!(r.top1_pct, 0.0);
        assert!((r.median_regret_pct - 20.0).abs() < 1e-9);
    }

    #[test]
    fn small_groups_are_left_out() {
        let r = ranking(vec![
            ("a".to_string(), pt(1.0, 1.0)),
            ("a".to_string(), pt(2.0, 2.0)),
        ]);
        assert_eq!(r.groups, 0);
    }
}
