//! Fitting the per-backend constants ([`BackendConstants`]) to measured rows,
//! and group-held-out cross-validation of that fit.
//!
//! The fit minimises the mean over rows of `min(|ln(pred/measured)|, 0.6)` for
//! TTFT plus the same for TPOT (a robust, scale-free loss: large misses do
//! not dominate, and the median error is what it improves), each row weighted
//! by `1/√n` of its model's row count ([`model_weights`]), by coordinate
//! descent within [`BackendConstants::BOUNDS`], one backend at a time.
//! Cross-validation holds out whole deployment groups ([`folds`]) or whole
//! models ([`model_folds`]).

use std::collections::BTreeMap;

use dgdr_core::perf::{BackendConstants, Calibration, version_family};
use dgdr_core::spec::Backend;

use super::predict::{Models, Predictor};
use super::rows::Row;

/// Largest loss one row's TTFT or TPOT contributes (`|ln(pred/measured)|`
/// capped here, ≈ 82% error): rows beyond it (unrecorded speculative
/// decoding, worker counts, rows that contradict physics) stop pulling the
/// constants, so the fit aims at the bulk of the rows, which is what the
/// median error measures. A cap of 1.0 let such rows steer the fit (CV TPOT
/// MdAPE 15.9%, against 15.2% with 0.6); below ~0.4 the loss turns flat
/// enough for the coordinate search to stall in poor optima (CV TTFT MdAPE
/// 44%).
const LOSS_CAP: f64 = 0.6;

/// Loss of one row (`None` when it cannot be predicted or measured).
fn row_loss(pred: (f64, f64), row: &Row) -> Option<f64> {
    let (mt, mp) = (row.ttft_ms?, row.tpot_ms?);
    if mt <= 0.0 || mp <= 0.0 || pred.0 <= 0.0 || pred.1 <= 0.0 {
        return None;
    }
    let l = |p: f64, m: f64| (p / m).ln().abs().min(LOSS_CAP);
    Some(l(pred.0, mt) + l(pred.1, mp))
}

/// Which rows a loss counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rows {
    /// Rows whose inputs are complete.
    Complete,
    /// Disaggregated rows whose inputs are complete.
    Disagg,
}

/// The constants of the disaggregated hand-off (`kv_handoff_ms`,
/// `kv_bw_eff`): fitted on [`Rows::Disagg`], the 134 disaggregated rows
/// that record their worker counts (every other constant on all complete
/// rows). The 677 rows whose workers are assumed fit nothing: their TTFT
/// misses by 3× either way with how many workers ran, which no hand-off
/// explains. Fitted on them too (as it was), TensorRT-LLM's hand-off came
/// out at 95 ms against about 50, and the in-sample TTFT MdAPE at 31.0%
/// against 30.1% (TPOT 13.1% against 13.2%).
const HANDOFF: [usize; 2] = [6, 7];

/// Weight of each row in the loss: `1/√n` for a model with `n` rows of the
/// backend, so that the model measured most (one can hold half a backend's
/// rows) does not make the constants describe it rather than the engine;
/// what matters is the next model, which nobody measured. Measured with
/// `--cv 5 --cv-models` (TTFT / TPOT MdAPE): unweighted 35.9 / 15.3% by
/// group and 49.8 / 20.8% by model; `1/n` 39.9 / 16.0% and 45.6 / 20.4%;
/// `1/√n` 36.0 / 15.1% and 46.0 / 19.9%.
fn model_weights(rows: &[&Row]) -> Vec<f64> {
    let mut count: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        *count.entry(r.model.to_ascii_lowercase()).or_insert(0.0) += 1.0;
    }
    rows.iter()
        .map(|r| {
            let n = count.get(&r.model.to_ascii_lowercase()).copied();
            1.0 / n.unwrap_or(1.0).sqrt()
        })
        .collect()
}

/// Weighted mean loss of `rows` (all of one backend) under `c`.
fn loss(
    p: &mut Predictor<'_>,
    rows: &[&Row],
    weights: &[f64],
    c: &BackendConstants,
    which: Rows,
) -> f64 {
    let mut sum = 0.0;
    let mut n = 0.0;
    for (r, &w) in rows.iter().zip(weights) {
        let disagg = r.mode.eq_ignore_ascii_case("disagg");
        if which == Rows::Disagg && !disagg {
            continue;
        }
        if let Ok(pred) = p.predict_with(r, Some(c))
            && !pred.assumed
            && let Some(l) = row_loss((pred.estimate.ttft_ms, pred.estimate.tpot_ms), r)
        {
            sum += w * l;
            n += w;
        }
    }
    if n > 0.0 { sum / n } else { f64::INFINITY }
}

/// Weight of the pull towards the starting point (the prior): a constant
/// moved across its whole range costs this much loss (the data loss is a
/// mean `|ln|` error of ~0.3–0.4 per row). Constants that trade off against
/// each other (prefill scale, token budget, TTFT overhead) are otherwise
/// fixed by noise, and a refit moved predicted throughput by 30%. 0.1 (was
/// 0.02): a backend whose rows are mostly one model (TensorRT-LLM's are
/// DeepSeek's) otherwise fits burst, sync and budget that mispredict the
/// TTFT of a dense model it never saw by 2× (docs/accuracy.md, "The fit").
const PRIOR_WEIGHT: f64 = 0.1;

/// Which constants matter for these rows (the disaggregated ones only when
/// there are disaggregated rows).
fn active(rows: &[&Row]) -> [bool; BackendConstants::COUNT] {
    let disagg = rows.iter().any(|r| r.mode.eq_ignore_ascii_case("disagg"));
    let mut a = [true; BackendConstants::COUNT];
    if !disagg {
        for i in [6, 7] {
            if let Some(x) = a.get_mut(i) {
                *x = false;
            }
        }
    }
    a
}

/// Fits one backend's constants on `rows`, starting from `start`: cyclic
/// coordinate search, each constant tried at the current value ± a bracket
/// that starts at half its bounds and halves every round.
pub fn fit_backend(
    p: &mut Predictor<'_>,
    rows: &[&Row],
    start: BackendConstants,
    rounds: usize,
) -> BackendConstants {
    if rows.is_empty() {
        return start;
    }
    let mut x = start.to_array();
    let prior = start.to_array();
    let weights = model_weights(rows);
    let objective = |i: usize| {
        if HANDOFF.contains(&i) {
            Rows::Disagg
        } else {
            Rows::Complete
        }
    };
    let act = active(rows);
    for round in 0..rounds {
        let shrink = 0.5_f64.powi(i32::try_from(round).unwrap_or(30) + 1);
        for i in 0..BackendConstants::COUNT {
            if !act.get(i).copied().unwrap_or(false) {
                continue;
            }
            let Some(&(lo, hi)) = BackendConstants::BOUNDS.get(i) else {
                continue;
            };
            let which = objective(i);
            let center = prior.get(i).copied().unwrap_or(lo);
            let pen = |v: f64| PRIOR_WEIGHT * ((v - center) / (hi - lo)).powi(2);
            let mut best = loss(p, rows, &weights, &BackendConstants::from_array(x), which)
                + x.get(i).map_or(0.0, |&v| pen(v));
            let w = (hi - lo) * shrink;
            while let Some(&cur) = x.get(i) {
                let mut improved = false;
                for f in [1.0, -1.0, 0.5, -0.5, 0.25, -0.25] {
                    let v = (cur + f * w).clamp(lo, hi);
                    if (v - cur).abs() < 1e-12 {
                        continue;
                    }
                    let mut y = x;
                    if let Some(slot) = y.get_mut(i) {
                        *slot = v;
                    }
                    let l =
                        loss(p, rows, &weights, &BackendConstants::from_array(y), which) + pen(v);
                    if l < best - 1e-9 {
                        best = l;
                        x = y;
                        improved = true;
                        break;
                    }
                }
                if !improved {
                    break;
                }
            }
        }
    }
    BackendConstants::from_array(x)
}

/// The backend a row names (rows of unknown backends are skipped).
pub fn row_backend(r: &Row) -> Option<Backend> {
    match r.backend.trim().to_ascii_lowercase().as_str() {
        "vllm" => Some(Backend::Vllm),
        "sglang" => Some(Backend::Sglang),
        "trtllm" => Some(Backend::Trtllm),
        _ => None,
    }
}

/// Fits every (backend, version family)'s constants on `rows`, the
/// families in parallel (they share no rows).
pub fn calibrate(models: &Models, rows: &[&Row], start: Calibration, rounds: usize) -> Calibration {
    let fitted: Vec<BackendConstants> = std::thread::scope(|s| {
        let handles: Vec<_> = Calibration::FAMILIES
            .iter()
            .map(|&(b, fam, _)| {
                let mine: Vec<&Row> = rows
                    .iter()
                    .copied()
                    .filter(|r| {
                        row_backend(r) == Some(b)
                            && version_family(b, r.backend_version.as_deref()) == fam
                    })
                    .collect();
                s.spawn(move || {
                    let mut p = Predictor::new(models, start);
                    fit_backend(&mut p, &mine, *start.get(b, fam), rounds)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out = start;
    for ((b, fam, _), c) in Calibration::FAMILIES.into_iter().zip(fitted) {
        *out.get_mut(b, fam) = c;
    }
    out
}

/// The deployment group of a row: model, system, backend, mode, ISL/OSL and
/// parallel layout(s). Cross-validation holds out whole groups.
pub fn group_key(r: &Row) -> String {
    let side = |s: &super::rows::Side| {
        format!(
            "{:?}/{:?}/{:?}/{:?}/{:?}/{:?}",
            s.tp, s.pp, s.dp, s.moe_tp, s.moe_ep, s.workers
        )
    };
    format!(
        "{}|{}|{}|{}|{}|{:?}x{:?}|{:?}/{:?}/{:?}/{:?}/{:?}|{}|{}",
        r.model.to_ascii_lowercase(),
        r.system,
        r.backend,
        r.backend_version.as_deref().unwrap_or(""),
        r.mode,
        r.isl,
        r.osl,
        r.tp,
        r.pp,
        r.dp,
        r.moe_tp,
        r.moe_ep,
        side(&r.prefill),
        side(&r.decode)
    )
}

/// FNV-1a, for a fold assignment that does not depend on row order.
fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Fold of each row: whole groups go to one fold.
pub fn folds(rows: &[Row], k: usize) -> Vec<usize> {
    let k = k.max(2) as u64;
    let mut by_group: BTreeMap<String, usize> = BTreeMap::new();
    rows.iter()
        .map(|r| {
            let key = group_key(r);
            let n = by_group.len();
            let _ = by_group.entry(key.clone()).or_insert(n);
            (fnv(&key) % k) as usize
        })
        .collect()
}

/// Fold of each row when whole models are held out: one fold per model
/// architecture (checkpoints of one model together), so that each fold's
/// rows are predicted by constants fitted without any row of their model.
/// Returns the folds and their count; rows whose model did not resolve go
/// to fold 0 (they are not predicted anyway).
pub fn model_folds(rows: &[Row], models: &Models) -> (Vec<usize>, usize) {
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows {
        if let Some(k) = models.architecture_key(&r.model) {
            let n = index.len();
            let _ = index.entry(k).or_insert(n);
        }
    }
    let fold = rows
        .iter()
        .map(|r| {
            models
                .architecture_key(&r.model)
                .and_then(|k| index.get(&k).copied())
                .unwrap_or(0)
        })
        .collect();
    (fold, index.len().max(1))
}

/// Predictions row by row: `(TTFT, TPOT)` or why the row was not predicted.
pub type RowPredictions = Vec<Result<(f64, f64), String>>;

/// Group-held-out cross-validation: for each fold, the constants are fitted
/// on the other folds and the fold's rows are predicted with them. Returns
/// the held-out predictions, row by row, and the constants of each fold.
pub fn cross_validate(
    models: &Models,
    rows: &[Row],
    k: usize,
    start: Calibration,
    rounds: usize,
) -> (RowPredictions, Vec<Calibration>) {
    cross_validate_folds(models, rows, &folds(rows, k), k.max(2), start, rounds)
}

/// Cross-validation over given folds (`fold[i] < k` for row `i`).
pub fn cross_validate_folds(
    models: &Models,
    rows: &[Row],
    fold: &[usize],
    k: usize,
    start: Calibration,
    rounds: usize,
) -> (RowPredictions, Vec<Calibration>) {
    // Each fold's fit is independent: run them side by side.
    let fits: Vec<Calibration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..k)
            .map(|f| {
                let train: Vec<&Row> = rows
                    .iter()
                    .zip(fold)
                    .filter(|(_, g)| **g != f)
                    .map(|(r, _)| r)
                    .collect();
                s.spawn(move || calibrate(models, &train, start, rounds))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out: RowPredictions = vec![Err("not predicted".to_string()); rows.len()];
    for (f, cal) in fits.iter().enumerate() {
        let mut p = Predictor::new(models, *cal);
        for ((r, g), slot) in rows.iter().zip(fold).zip(out.iter_mut()) {
            if *g == f {
                *slot = p
                    .predict(r)
                    .map(|x| (x.estimate.ttft_ms, x.estimate.tpot_ms));
            }
        }
    }
    (out, fits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::rows::read_rows;

    fn rows(models: &[&str]) -> Vec<Row> {
        let mut csv =
            String::from("id,model_path,system,backend,mode,isl,osl,batch_size,tp_size\n");
        for (i, m) in models.iter().enumerate() {
            csv.push_str(&format!("r{i},{m},h200_sxm,vllm,agg,1024,128,8,8\n"));
        }
        read_rows(csv.as_bytes()).expect("rows")
    }

    #[test]
    fn checkpoints_of_one_model_share_a_fold() {
        let r = rows(&[
            "deepseek-ai/DeepSeek-V3",
            "deepseek-ai/DeepSeek-R1",
            "meta-llama/Llama-3.1-8B-Instruct",
            "nvidia/Llama-3.1-8B-Instruct-FP8",
            "meta-llama/Llama-3.1-70B",
        ]);
        let models = Models::for_rows(&r);
        let (fold, k) = model_folds(&r, &models);
        assert_eq!(k, 3, "DeepSeek, Llama-8B and Llama-70B: {fold:?}");
        assert_eq!(fold[0], fold[1]);
        assert_eq!(fold[2], fold[3]);
        assert_ne!(fold[0], fold[2]);
        assert_ne!(fold[2], fold[4]);
    }

    #[test]
    fn every_model_weighs_the_square_root_of_its_rows() {
        let r = rows(&["a", "a", "a", "a", "b"]);
        let refs: Vec<&Row> = r.iter().collect();
        let w = model_weights(&refs);
        let total = |m: &str| -> f64 {
            refs.iter()
                .zip(&w)
                .filter(|(row, _)| row.model == m)
                .map(|(_, w)| w)
                .sum()
        };
        assert!((total("a") - 2.0).abs() < 1e-12);
        assert!((total("b") - 1.0).abs() < 1e-12);
    }
}
