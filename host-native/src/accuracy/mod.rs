//! Host-side helpers of `dgdr estimate --batch` and `dgdr accuracy`: reading
//! rows in the calibration CSV layout, predicting them with the core's
//! performance model, error statistics, and fitting and cross-validating the
//! per-backend constants.

pub mod fit;
pub mod metrics;
pub mod overview;
pub mod predict;
pub mod ranking;
pub mod rows;

use metrics::{Outcome, RowClass};
use predict::{Models, Predictor};
use rows::Row;

/// The class of a row for slicing (dense/MoE from the resolved model).
pub fn class_of(row: &Row, models: &Models, moe: Option<bool>) -> RowClass {
    let _ = models;
    RowClass {
        system: row.system.clone(),
        backend: row.backend.clone(),
        mode: row.mode.clone(),
        arch: match moe {
            Some(true) => "moe".into(),
            Some(false) => "dense".into(),
            None => "unknown".into(),
        },
        inputs: if assumed_inputs(row) {
            "assumed".into()
        } else {
            "complete".into()
        },
    }
}

/// Whether a row leaves out what the estimate needs, so that the prediction
/// rests on assumptions: a disaggregated row without the decode batch size
/// or worker counts.
pub fn assumed_inputs(row: &Row) -> bool {
    row.mode.eq_ignore_ascii_case("disagg")
        && (row.decode.batch_size.is_none()
            || row.decode.workers.is_none()
            || row.prefill.workers.is_none())
}

/// Outcomes of predictions (`Ok((ttft, tpot))` or why not) against the rows.
pub fn outcomes(
    rows: &[Row],
    models: &Models,
    preds: &[Result<(f64, f64), String>],
) -> Vec<Outcome> {
    rows.iter()
        .zip(preds)
        .map(|(r, p)| Outcome {
            class: class_of(r, models, models.is_moe(&r.model)),
            measured: (r.ttft_ms, r.tpot_ms),
            predicted: p.as_ref().ok().copied(),
        })
        .collect()
}

/// How well predictions order the deployments of each group (see
/// [`ranking`]).
pub fn ranking_of(rows: &[Row], preds: &[Result<(f64, f64), String>]) -> ranking::Ranking {
    ranking::ranking(rows.iter().zip(preds).filter_map(|(r, p)| {
        Some((
            ranking::group_key(r),
            ranking::point(r, p.as_ref().ok().copied())?,
        ))
    }))
}

/// Predicts every row with the given constants.
pub fn predict_all(
    rows: &[Row],
    models: &Models,
    calibration: dgdr_core::perf::Calibration,
) -> Vec<Result<(f64, f64), String>> {
    let mut p = Predictor::new(models, calibration);
    rows.iter()
        .map(|r| {
            p.predict(r)
                .map(|x| (x.estimate.ttft_ms, x.estimate.tpot_ms))
        })
        .collect()
}
