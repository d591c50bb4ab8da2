//! Error statistics of predictions against measurements: MdAPE, MAPE, share
//! within ±10 % and ±20 %, overall and per slice.

use serde::Serialize;

/// Errors of one quantity (TTFT or TPOT) over some rows.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct ErrStats {
    /// Rows with a prediction and a positive measurement.
    pub n: usize,
    /// Median absolute percentage error.
    pub mdape: f64,
    /// Mean absolute percentage error.
    pub mape: f64,
    /// Share of rows within ±10 %, percent.
    pub within_10: f64,
    /// Share of rows within ±20 %, percent.
    pub within_20: f64,
    /// Median signed percentage error (positive: over-predicted).
    pub median_bias: f64,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match (v.get(n / 2), v.get((n.max(1) - 1) / 2)) {
        (Some(a), Some(b)) => 0.5 * (a + b),
        _ => f64::NAN,
    }
}

impl ErrStats {
    /// From (predicted, measured) pairs.
    pub fn of(pairs: impl Iterator<Item = (f64, f64)>) -> ErrStats {
        let mut ape = Vec::new();
        let mut signed = Vec::new();
        for (p, m) in pairs {
            if m > 0.0 && p.is_finite() {
                let e = (p - m) / m * 100.0;
                ape.push(e.abs());
                signed.push(e);
            }
        }
        let n = ape.len();
        if n == 0 {
            return ErrStats::default();
        }
        let share = |lim: f64| ape.iter().filter(|e| **e <= lim).count() as f64 / n as f64 * 100.0;
        let w10 = share(10.0);
        let w20 = share(20.0);
        let mape = ape.iter().sum::<f64>() / n as f64;
        ErrStats {
            n,
            mdape: median(&mut ape),
            mape,
            within_10: w10,
            within_20: w20,
            median_bias: median(&mut signed),
        }
    }
}

/// The figures of one slice of rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceStats {
    /// `all`, `system=h200_sxm`, `backend=vllm`, `mode=agg`, `arch=moe`, ...
    pub slice: String,
    pub rows: usize,
    pub predicted: usize,
    /// `predicted / rows`, percent.
    pub predicted_pct: f64,
    pub ttft: ErrStats,
    pub tpot: ErrStats,
}

/// What a row is, for slicing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowClass {
    pub system: String,
    pub backend: String,
    pub mode: String,
    /// `dense` or `moe` (`unknown` when the model did not resolve).
    pub arch: String,
    /// `complete`, or `assumed` when the row leaves out what the estimate
    /// needs (disaggregated rows without decode batch and worker counts).
    pub inputs: String,
}

/// One row's outcome: its class, measured and predicted (TTFT, TPOT).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub class: RowClass,
    pub measured: (Option<f64>, Option<f64>),
    pub predicted: Option<(f64, f64)>,
}

fn slice_stats(name: String, rows: &[&Outcome]) -> SliceStats {
    let predicted = rows.iter().filter(|o| o.predicted.is_some()).count();
    let pairs = |pick: fn(&Outcome) -> Option<(f64, f64)>| {
        rows.iter().filter_map(move |o| pick(o)).collect::<Vec<_>>()
    };
    let ttft = pairs(|o| Some((o.predicted?.0, o.measured.0?)));
    let tpot = pairs(|o| Some((o.predicted?.1, o.measured.1?)));
    SliceStats {
        slice: name,
        rows: rows.len(),
        predicted,
        predicted_pct: if rows.is_empty() {
            0.0
        } else {
            predicted as f64 / rows.len() as f64 * 100.0
        },
        ttft: ErrStats::of(ttft.into_iter()),
        tpot: ErrStats::of(tpot.into_iter()),
    }
}

/// Reads one slicing dimension of a row's class.
type ClassKey = fn(&RowClass) -> &str;

/// Overall, then per system, backend, mode, dense/MoE and complete/assumed
/// inputs (sorted within each).
pub fn report(outcomes: &[Outcome]) -> Vec<SliceStats> {
    let all: Vec<&Outcome> = outcomes.iter().collect();
    let mut out = vec![slice_stats("all".into(), &all)];
    let dims: [(&str, ClassKey); 5] = [
        ("system", |c| &c.system),
        ("backend", |c| &c.backend),
        ("mode", |c| &c.mode),
        ("arch", |c| &c.arch),
        ("inputs", |c| &c.inputs),
    ];
    for (dim, key) in dims {
        let mut values: Vec<&str> = outcomes.iter().map(|o| key(&o.class)).collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            let rows: Vec<&Outcome> = outcomes.iter().filter(|o| key(&o.class) == v).collect();
            out.push(slice_stats(format!("{dim}={v}"), &rows));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_by_hand() {
        let s = ErrStats::of(
            [
                (110.0, 100.0),
                (80.0, 100.0),
                (100.0, 100.0),
                (150.0, 100.0),
            ]
            .into_iter(),
        );
        assert_eq!(s.n, 4);
        assert!((s.mdape - 15.0).abs() < 1e-9);
        assert!((s.mape - 20.0).abs() < 1e-9);
        assert!((s.within_10 - 50.0).abs() < 1e-9);
        assert!((s.within_20 - 75.0).abs() < 1e-9);
        assert!((s.median_bias - 5.0).abs() < 1e-9);
    }
}
