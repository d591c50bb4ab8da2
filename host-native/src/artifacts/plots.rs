//! The PNG plots of `dgdr profile` (SPEC §5.1).
//!
//! Every plot is 1200×800 with a title, a subtitle that states the key
//! numbers, axis titles with units, a grid and (where it has several series)
//! a legend beside the chart. Axes turn logarithmic when the data span
//! decades. The SLA target, where given, is a dashed red line labelled
//! `SLA target (x ms)`. Non-finite points (and non-positive ones on a log
//! axis) are skipped; a plot without any data says "no data".
//!
//! Text uses the bundled DejaVu Sans, so plots render the same everywhere.

use super::ArtifactError;
use super::plot_kit::{
    Area, Axes, Chart, DrawResult, Frame, LegendEntry, MUTED, Mark, Obstacles, PlotAxis, Shape,
    TEXT, add_polyline, chart, clean_points, draw_markers, draw_no_data, draw_sla, fmt_thousands,
    fmt_tick, fmt_value, layout, ramp_color, render, series_color,
};
use dgdr_core::driver::{DecodeChart, PrefillChart};
use dgdr_core::plan::{DecodeProfile, PrefillProfile};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// One prefill candidate of [`prefill_performance`].
#[derive(Debug, Clone, PartialEq)]
pub struct PrefillPoint {
    /// The parallel mapping, e.g. `"TP4"` or `"DEP8"`.
    pub label: String,
    /// GPUs of one engine instance.
    pub gpus: u32,
    /// TTFT at the request's ISL, ms.
    pub ttft_ms: f64,
    /// Whether this is the picked prefill configuration.
    pub chosen: bool,
}

/// One decode candidate of [`decode_performance`].
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeCurve {
    /// The parallel mapping, e.g. `"TP4"` or `"DEP8"`.
    pub label: String,
    /// GPUs of one engine instance.
    pub gpus: u32,
    /// (requests in flight on one instance, ITL in ms).
    pub points: Vec<(f64, f64)>,
    /// Whether this is the picked decode configuration.
    pub chosen: bool,
}

impl From<&PrefillChart> for PrefillPoint {
    fn from(c: &PrefillChart) -> PrefillPoint {
        PrefillPoint {
            label: c.label.clone(),
            gpus: c.gpus,
            ttft_ms: c.ttft_ms,
            chosen: c.chosen,
        }
    }
}

impl From<&DecodeChart> for DecodeCurve {
    fn from(c: &DecodeChart) -> DecodeCurve {
        DecodeCurve {
            label: c.label.clone(),
            gpus: c.gpus,
            points: c.points.clone(),
            chosen: c.chosen,
        }
    }
}

const CANDIDATE_FILL: RGBColor = RGBColor(140, 178, 214);
const CANDIDATE_EDGE: RGBColor = RGBColor(31, 119, 180);
const CHOSEN_FILL: RGBColor = RGBColor(255, 127, 14);
const CHOSEN_EDGE: RGBColor = RGBColor(178, 80, 0);
const LINE_BLUE: RGBColor = RGBColor(31, 119, 180);
/// Context lengths drawn at most by the decode interpolation plots.
const MAX_CONTEXT_LINES: usize = 16;

fn gpus_text(n: u32) -> String {
    if n == 1 {
        "1 GPU".to_string()
    } else {
        format!("{n} GPUs")
    }
}

fn tick(v: &f64) -> String {
    fmt_tick(*v)
}

fn percent(v: &f64) -> String {
    fmt_tick(*v * 100.0)
}

/// TTFT of each prefill candidate (parallel mapping) as bars, the chosen one
/// highlighted, with the TTFT target as a dashed red line.
pub fn prefill_performance(
    path: impl AsRef<Path>,
    points: &[PrefillPoint],
    sla_ttft_ms: Option<f64>,
) -> Result<(), ArtifactError> {
    let pts: Vec<&PrefillPoint> = points
        .iter()
        .filter(|p| p.ttft_ms.is_finite() && p.ttft_ms >= 0.0)
        .collect();
    let sla = sla_ttft_ms.filter(|v| v.is_finite() && *v > 0.0);
    let chosen = pts.iter().find(|p| p.chosen);
    let mut subtitle = format!(
        "{} candidate mapping{}",
        pts.len(),
        if pts.len() == 1 { "" } else { "s" }
    );
    if let Some(c) = chosen {
        subtitle += &format!(
            " · chosen: {} ({}), TTFT {} ms",
            c.label,
            gpus_text(c.gpus),
            fmt_value(c.ttft_ms)
        );
    }
    let mut legend = Vec::new();
    if chosen.is_some() {
        legend.push(LegendEntry {
            label: "candidate".into(),
            mark: Mark::Bar {
                fill: CANDIDATE_FILL,
                border: CANDIDATE_EDGE,
            },
            bold: false,
        });
        legend.push(LegendEntry {
            label: "chosen".into(),
            mark: Mark::Bar {
                fill: CHOSEN_FILL,
                border: CHOSEN_EDGE,
            },
            bold: true,
        });
    }
    let frame = Frame {
        title: "Prefill TTFT by parallel mapping",
        subtitle: Some(subtitle),
        x_desc: "Parallel mapping (GPUs per engine instance)",
        y_desc: "TTFT (ms)",
        legend_title: None,
        legend,
    };
    render(path.as_ref(), |root| {
        let area = layout(root, &frame)?;
        if pts.is_empty() {
            return draw_no_data(&area, "no prefill candidate has a TTFT");
        }
        // Log axes only when the TTFTs themselves span decades: bars keep
        // their meaning on a linear axis from 0.
        let y = PlotAxis::fit(pts.iter().map(|p| p.ttft_ms).chain(sla), true, 0.12);
        let y = if y.is_log() && pts.iter().any(|p| p.ttft_ms <= 0.0) {
            PlotAxis::linear(0.0, y.hi())
        } else {
            y
        };
        let base = y.lo();
        let mut chart = chart(
            &area,
            &frame,
            Axes {
                x: PlotAxis::categories(pts.len()),
                y,
                x_fmt: &|_| String::new(),
                y_fmt: &tick,
                x_label_room: if pts.iter().any(|p| p.label.contains(' ')) {
                    50
                } else {
                    34
                },
            },
        )?;
        let mut obstacles = Obstacles::new();
        let slot = slot_width(&chart, pts.len());
        // Bars fill 64% of their slot, but at most 140 px.
        let half = 0.32f64.min(70.0 / f64::from(slot.max(1)));
        let value_style = ("sans-serif", 15).into_font().color(&TEXT);
        let show_values = pts.iter().all(|p| {
            root.estimate_text_size(&format!("{} ms", fmt_value(p.ttft_ms)), &value_style)
                .map(|(w, _)| (w as i32) < slot - 4)
                .unwrap_or(false)
        });
        for (i, p) in pts.iter().enumerate() {
            let (fill, edge) = if p.chosen {
                (CHOSEN_FILL, CHOSEN_EDGE)
            } else {
                (CANDIDATE_FILL, CANDIDATE_EDGE)
            };
            let c = i as f64;
            let top = p.ttft_ms.max(base);
            let rect = [(c - half, base), (c + half, top)];
            chart.draw_series([Rectangle::new(rect, fill.filled())])?;
            chart.draw_series([Rectangle::new(
                rect,
                edge.stroke_width(if p.chosen { 3 } else { 1 }),
            )])?;
            let (a, b) = (chart.backend_coord(&rect[0]), chart.backend_coord(&rect[1]));
            obstacles.push([a.0, b.1 - 26, b.0, a.1]);
            if show_values {
                let style = if p.chosen {
                    ("sans-serif", 15, FontStyle::Bold).into_font().color(&TEXT)
                } else {
                    value_style.clone()
                };
                chart.draw_series([EmptyElement::at((c, top))
                    + Text::new(
                        format!("{} ms", fmt_value(p.ttft_ms)),
                        (0, -6),
                        style.pos(Pos::new(HPos::Center, VPos::Bottom)),
                    )])?;
            }
        }
        draw_category_labels(root, &chart, &pts, slot)?;
        if let Some(sla) = sla {
            draw_sla(root, &mut chart, sla, &obstacles)?;
        }
        Ok(())
    })
}

/// Pixel width of one category of an `n`-category x axis.
fn slot_width(chart: &Chart<'_, '_>, n: usize) -> i32 {
    let (xr, _) = chart.plotting_area().get_pixel_range();
    (xr.end - xr.start) / n.max(1) as i32
}

/// The lines of a category label: a label with a space (`"sglang DEP8"`, the
/// backend first when several were searched) is split there, so narrow slots
/// stack it instead of dropping labels; the GPUs go last.
fn label_lines(p: &PrefillPoint) -> Vec<String> {
    let mut lines: Vec<String> = p.label.split(' ').map(str::to_string).collect();
    lines.push(gpus_text(p.gpus));
    lines
}

/// Category labels under the x axis: the mapping (stacked when it has a
/// backend), then its GPUs. Every category is labelled when the stacked
/// lines fit their slot at 11 px or more; otherwise every n-th, counted
/// from the chosen one.
fn draw_category_labels(
    root: &Area<'_>,
    chart: &Chart<'_, '_>,
    pts: &[&PrefillPoint],
    slot: i32,
) -> DrawResult {
    let mut size = 17.0;
    let widest = |size: f64| -> DrawResult<i32> {
        let mut w = 0;
        for p in pts {
            let style = ("sans-serif", size, FontStyle::Bold)
                .into_font()
                .color(&TEXT);
            let small = ("sans-serif", size - 2.0).into_font().color(&MUTED);
            let lines = label_lines(p);
            let last = lines.len().saturating_sub(1);
            for (k, line) in lines.iter().enumerate() {
                let st = if k == last { &small } else { &style };
                w = w.max(root.estimate_text_size(line, st)?.0 as i32);
            }
        }
        Ok(w)
    };
    while size > 11.0 && widest(size)? > slot - 4 {
        size -= 1.0;
    }
    let every = ((widest(size)? + 4) / slot.max(1) + 1).max(1) as usize;
    // Count the stride from the chosen mapping, so that it is always labelled.
    let anchor = pts.iter().position(|p| p.chosen).unwrap_or(0);
    let y_axis = chart.y_range().start;
    let top = Pos::new(HPos::Center, VPos::Top);
    for (i, p) in pts.iter().enumerate() {
        if i.abs_diff(anchor) % every != 0 {
            continue;
        }
        let (x, y) = chart.backend_coord(&(i as f64, y_axis));
        root.draw(&PathElement::new(
            vec![(x, y), (x, y + 6)],
            RGBColor(120, 120, 120),
        ))?;
        let lines = label_lines(p);
        let last = lines.len().saturating_sub(1);
        let mut dy = 10;
        for (k, line) in lines.into_iter().enumerate() {
            let style = if k == last {
                ("sans-serif", size - 2.0).into_font().color(&MUTED)
            } else if p.chosen {
                ("sans-serif", size, FontStyle::Bold)
                    .into_font()
                    .color(&TEXT)
            } else {
                ("sans-serif", size).into_font().color(&TEXT)
            };
            root.draw(&Text::new(line, (x, y + dy), style.pos(top)))?;
            dy += size as i32 + 2;
        }
    }
    Ok(())
}

/// ITL against requests in flight, one line per decode candidate (parallel
/// mapping), the chosen one thicker, with the ITL target as a dashed red line.
pub fn decode_performance(
    path: impl AsRef<Path>,
    curves: &[DecodeCurve],
    sla_itl_ms: Option<f64>,
) -> Result<(), ArtifactError> {
    let sla = sla_itl_ms.filter(|v| v.is_finite() && *v > 0.0);
    let finite = |c: &DecodeCurve| -> Vec<(f64, f64)> {
        c.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && *x >= 0.0 && *y >= 0.0)
            .collect()
    };
    let all: Vec<(f64, f64)> = curves.iter().flat_map(finite).collect();
    let x = PlotAxis::fit(all.iter().map(|p| p.0), true, 0.03);
    let y = PlotAxis::fit(all.iter().map(|p| p.1).chain(sla), true, 0.1);
    // (index in `curves`, cleaned points)
    let drawn: Vec<(usize, Vec<(f64, f64)>)> = curves
        .iter()
        .enumerate()
        .map(|(i, c)| (i, clean_points(finite(c), &x, &y)))
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    let style_of = |i: usize| {
        let c = &curves[i];
        let (width, size) = if c.chosen { (5, 6) } else { (2, 4) };
        (series_color(i), Shape::nth(i), width, size)
    };
    let legend = drawn
        .iter()
        .map(|(i, _)| {
            let c = &curves[*i];
            let (color, shape, width, size) = style_of(*i);
            LegendEntry {
                label: format!(
                    "{} · {}{}",
                    c.label,
                    gpus_text(c.gpus),
                    if c.chosen { " (chosen)" } else { "" }
                ),
                mark: Mark::Line {
                    color,
                    width,
                    marker: Some((shape, size)),
                },
                bold: c.chosen,
            }
        })
        .collect();
    let subtitle = match curves.iter().find(|c| c.chosen) {
        Some(c) => format!(
            "{} candidate mappings · chosen: {} ({})",
            drawn.len(),
            c.label,
            gpus_text(c.gpus)
        ),
        None => format!("{} candidate mappings", drawn.len()),
    };
    let frame = Frame {
        title: "Decode ITL vs requests in flight",
        subtitle: Some(subtitle),
        x_desc: "Requests in flight per engine instance",
        y_desc: "ITL (ms)",
        legend_title: Some("Parallel mapping"),
        legend,
    };
    render(path.as_ref(), |root| {
        let area = layout(root, &frame)?;
        if drawn.is_empty() {
            return draw_no_data(&area, "no decode candidate has ITL data");
        }
        let mut chart = chart(
            &area,
            &frame,
            Axes {
                x,
                y,
                x_fmt: &tick,
                y_fmt: &tick,
                x_label_room: 0,
            },
        )?;
        let mut obstacles = Obstacles::new();
        // The chosen curve last, so that it is on top.
        let order = drawn
            .iter()
            .filter(|(i, _)| !curves[*i].chosen)
            .chain(drawn.iter().filter(|(i, _)| curves[*i].chosen));
        for (i, pts) in order {
            let (color, shape, width, size) = style_of(*i);
            chart.draw_series(LineSeries::new(
                pts.iter().copied(),
                color.stroke_width(width),
            ))?;
            draw_markers(&mut chart, pts, shape, size, color)?;
            add_polyline(&mut obstacles, &chart, pts);
        }
        if let Some(sla) = sla {
            draw_sla(root, &mut chart, sla, &obstacles)?;
        }
        Ok(())
    })
}

/// A plot of one series, points joined by a line.
fn single_series(
    path: &Path,
    frame: &Frame<'_>,
    raw: Vec<(f64, f64)>,
    empty_detail: &str,
) -> Result<(), ArtifactError> {
    let finite: Vec<(f64, f64)> = raw
        .into_iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let x = PlotAxis::fit(finite.iter().map(|p| p.0), true, 0.03);
    let y = PlotAxis::fit(finite.iter().map(|p| p.1), true, 0.08);
    let pts = clean_points(finite, &x, &y);
    render(path, |root| {
        let area = layout(root, frame)?;
        if pts.is_empty() {
            return draw_no_data(&area, empty_detail);
        }
        let mut chart = chart(
            &area,
            frame,
            Axes {
                x,
                y,
                x_fmt: &tick,
                y_fmt: &tick,
                x_label_room: 0,
            },
        )?;
        chart.draw_series(LineSeries::new(
            pts.iter().copied(),
            LINE_BLUE.stroke_width(3),
        ))?;
        if pts.len() <= 120 {
            let size = if pts.len() <= 40 { 5 } else { 3 };
            draw_markers(&mut chart, &pts, Shape::Circle, size, LINE_BLUE)?;
        }
        Ok(())
    })
}

fn isl_subtitle(profile: &PrefillProfile, n: usize) -> Option<String> {
    let isl = profile
        .prefill_isl
        .iter()
        .copied()
        .filter(|v| v.is_finite());
    let (lo, hi) = isl.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    (lo <= hi).then(|| {
        format!(
            "Selected prefill engine · {n} points, ISL {}–{} tokens",
            fmt_value(lo),
            fmt_value(hi)
        )
    })
}

/// TTFT against input sequence length for the selected prefill engine.
pub fn prefill_ttft_interpolation(
    path: impl AsRef<Path>,
    profile: &PrefillProfile,
) -> Result<(), ArtifactError> {
    prefill_by_isl(
        path.as_ref(),
        profile,
        &profile.prefill_ttft,
        "Prefill TTFT vs input sequence length",
        "TTFT (ms)",
    )
}

/// Prefill throughput per GPU against input sequence length for the selected
/// prefill engine.
pub fn prefill_throughput_interpolation(
    path: impl AsRef<Path>,
    profile: &PrefillProfile,
) -> Result<(), ArtifactError> {
    prefill_by_isl(
        path.as_ref(),
        profile,
        &profile.prefill_thpt_per_gpu,
        "Prefill throughput per GPU vs input sequence length",
        "Prefill throughput (tokens/s/GPU)",
    )
}

/// One prefill quantity against the profile's ISLs, as a single series.
fn prefill_by_isl(
    path: &Path,
    profile: &PrefillProfile,
    values: &[f64],
    title: &'static str,
    y_desc: &'static str,
) -> Result<(), ArtifactError> {
    let raw: Vec<(f64, f64)> = profile
        .prefill_isl
        .iter()
        .copied()
        .zip(values.iter().copied())
        .collect();
    let frame = Frame {
        title,
        subtitle: isl_subtitle(profile, raw.len()),
        x_desc: "Input sequence length (tokens)",
        y_desc,
        legend_title: None,
        legend: Vec::new(),
    };
    single_series(path, &frame, raw, "the prefill profile is empty")
}

/// ITL against KV-cache usage for the selected decode engine, one line per
/// context length.
pub fn decode_itl_interpolation(
    path: impl AsRef<Path>,
    profile: &DecodeProfile,
) -> Result<(), ArtifactError> {
    decode_by_context(
        path.as_ref(),
        profile,
        &profile.z_itl,
        "Decode ITL vs KV-cache usage",
        "ITL (ms)",
    )
}

/// Decode throughput per GPU against KV-cache usage for the selected decode
/// engine, one line per context length.
pub fn decode_throughput_interpolation(
    path: impl AsRef<Path>,
    profile: &DecodeProfile,
) -> Result<(), ArtifactError> {
    decode_by_context(
        path.as_ref(),
        profile,
        &profile.z_thpt_per_gpu,
        "Decode throughput per GPU vs KV-cache usage",
        "Decode throughput (tokens/s/GPU)",
    )
}

fn decode_by_context(
    path: &Path,
    profile: &DecodeProfile,
    z: &[f64],
    title: &str,
    y_desc: &str,
) -> Result<(), ArtifactError> {
    let triples: Vec<(f64, f64, f64)> = profile
        .x_kv_usage
        .iter()
        .zip(&profile.y_context_length)
        .zip(z)
        .map(|((x, c), z)| (*x, *c, *z))
        .filter(|(x, c, z)| x.is_finite() && c.is_finite() && z.is_finite())
        .collect();
    let in_unit = triples.iter().all(|t| (0.0..=1.0).contains(&t.0));
    let x = if in_unit {
        PlotAxis::linear(0.0, 1.02)
    } else {
        PlotAxis::fit(triples.iter().map(|t| t.0), true, 0.03)
    };
    let y = PlotAxis::fit(triples.iter().map(|t| t.2), true, 0.08);

    let mut contexts: Vec<f64> = triples.iter().map(|t| t.1).collect();
    contexts.sort_by(f64::total_cmp);
    contexts.dedup();
    let mut groups: Vec<(f64, Vec<(f64, f64)>)> = contexts
        .iter()
        .map(|&c| {
            let pts = triples.iter().filter(|t| t.1 == c).map(|t| (t.0, t.2));
            (c, clean_points(pts, &x, &y))
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    let total = groups.len();
    if total > MAX_CONTEXT_LINES {
        let keep: Vec<usize> = (0..MAX_CONTEXT_LINES)
            .map(|k| k * (total - 1) / (MAX_CONTEXT_LINES - 1))
            .collect();
        groups = groups
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, g)| g)
            .collect();
    }
    let n = groups.len();
    let points: usize = groups.iter().map(|g| g.1.len()).sum();
    let marker = |pts: &[(f64, f64)]| (pts.len() <= 40).then_some((Shape::Circle, 4));
    let legend = groups
        .iter()
        .enumerate()
        .map(|(i, (c, pts))| LegendEntry {
            label: format!("ctx {}", fmt_value(*c).replace(',', "")),
            mark: Mark::Line {
                color: ramp_color(i, n),
                width: 3,
                marker: marker(pts),
            },
            bold: false,
        })
        .collect();
    let mut subtitle = "Selected decode engine".to_string();
    if profile.max_kv_tokens > 0 {
        subtitle += &format!(
            " · KV cache {} tokens per instance",
            fmt_thousands(profile.max_kv_tokens)
        );
    }
    subtitle += &format!(" · {points} points");
    if total > n {
        subtitle += &format!(" · {n} of {total} context lengths shown");
    }
    let frame = Frame {
        title,
        subtitle: Some(subtitle),
        x_desc: if in_unit {
            "KV-cache usage (%)"
        } else {
            "KV-cache usage"
        },
        y_desc,
        legend_title: Some("Context length (tokens)"),
        legend,
    };
    render(path, |root| {
        let area = layout(root, &frame)?;
        if groups.is_empty() {
            return draw_no_data(&area, "the decode profile is empty");
        }
        let mut chart = chart(
            &area,
            &frame,
            Axes {
                x,
                y,
                x_fmt: if in_unit { &percent } else { &tick },
                y_fmt: &tick,
                x_label_room: 0,
            },
        )?;
        for (i, (_, pts)) in groups.iter().enumerate() {
            let color = ramp_color(i, n);
            chart.draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(3)))?;
            if let Some((shape, size)) = marker(pts) {
                draw_markers(&mut chart, pts, shape, size, color)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
