//! The plumbing shared by the plots: the bundled font, the canvas and its PNG
//! encoding, an axis type that is linear, logarithmic or categorical, number
//! formatting, colours, markers, the legend panel, the SLA line and the
//! "no data" placeholder.

use super::canvas::{BOLD, Canvas, REGULAR, check_fonts};
use super::{ArtifactError, create_file};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

/// Canvas size in pixels.
pub(super) const WIDTH: u32 = 1200;
pub(super) const HEIGHT: u32 = 800;
/// The family name the bundled font is registered under; plotters' default
/// family, so mesh labels use it too.
pub(super) const FONT: &str = "sans-serif";

/// Height of the title band.
const HEADER: u32 = 96;
/// Bold tick labels on a log axis may only use these mantissas (densest last).
const LOG_MANTISSAS: [&[f64]; 2] = [&[1.0], &[1.0, 2.0, 5.0]];
/// An axis becomes logarithmic when its positive data span this ratio.
const LOG_SPAN: f64 = 50.0;

pub(super) type Area<'a> = DrawingArea<Canvas<'a>, Shift>;
pub(super) type Chart<'a, 'b> = ChartContext<'a, Canvas<'b>, Cartesian2d<PlotAxis, PlotAxis>>;
pub(super) type DrawResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Registers the bundled DejaVu Sans (regular and bold) with plotters as
/// [`FONT`], once. [`Canvas`] draws all text itself from the same files; the
/// registration keeps any text plotters would lay out on its own on them too.
fn register_fonts() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        for (style, bytes, name) in [
            (FontStyle::Normal, REGULAR, "DejaVuSans.ttf"),
            (FontStyle::Bold, BOLD, "DejaVuSans-Bold.ttf"),
        ] {
            plotters::style::register_font(FONT, style, bytes)
                .map_err(|_| format!("the bundled font {name} cannot be loaded"))?;
        }
        check_fonts()
    })
    .clone()
}

/// Draws a `WIDTH`×`HEIGHT` plot with `draw` and writes it to `path` as PNG.
pub(super) fn render(
    path: &Path,
    draw: impl FnOnce(&Area<'_>) -> DrawResult,
) -> Result<(), ArtifactError> {
    let plot_error = |message: String| ArtifactError::Plot {
        path: path.to_path_buf(),
        message,
    };
    register_fonts().map_err(plot_error)?;
    let mut rgb = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = Canvas::new(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root)
            .and_then(|()| Ok(root.present()?))
            .map_err(|e| plot_error(e.to_string()))?;
    }
    write_png(path, &rgb)
}

fn write_png(path: &Path, rgb: &[u8]) -> Result<(), ArtifactError> {
    let png_error = |source| ArtifactError::Png {
        path: path.to_path_buf(),
        source,
    };
    let mut out = create_file(path)?;
    {
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(rgb).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
    }
    out.flush().map_err(|source| ArtifactError::Io {
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------
// Axes

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
    /// Categories at 0, 1, …, n−1; no ticks (labels are drawn by the plot).
    Category,
}

/// One axis of a plot: a value range and a scale.
#[derive(Debug, Clone)]
pub(super) struct PlotAxis {
    lo: f64,
    hi: f64,
    scale: Scale,
}

impl PlotAxis {
    pub fn linear(lo: f64, hi: f64) -> PlotAxis {
        let (lo, hi) = widen(lo, hi);
        PlotAxis {
            lo,
            hi,
            scale: Scale::Linear,
        }
    }

    /// `n` categories centred at 0, 1, …, n−1.
    pub fn categories(n: usize) -> PlotAxis {
        PlotAxis {
            lo: -0.5,
            hi: n.max(1) as f64 - 0.5,
            scale: Scale::Category,
        }
    }

    /// An axis for `values` (non-finite ones ignored): logarithmic when they
    /// are positive and span [`LOG_SPAN`] or more, else linear, from 0 when
    /// `from_zero` and the data sit closer to 0 than their spread. A little
    /// room is left at both ends, `top_pad` (a fraction of the span, or of the
    /// decades on a log axis) at the top.
    pub fn fit(values: impl IntoIterator<Item = f64>, from_zero: bool, top_pad: f64) -> PlotAxis {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.into_iter().filter(|v| v.is_finite()) {
            min = min.min(v);
            max = max.max(v);
        }
        if min > max {
            return PlotAxis::linear(0.0, 1.0);
        }
        if min > 0.0 && max / min >= LOG_SPAN {
            let decades = (max / min).log10();
            return PlotAxis {
                lo: min / 10f64.powf(0.04 * decades),
                hi: max * 10f64.powf(top_pad * decades),
                scale: Scale::Log,
            };
        }
        let span = if max > min {
            max - min
        } else {
            (max.abs() * 0.2).max(1.0)
        };
        let mut lo = min - 0.05 * span;
        let hi = max + top_pad * span;
        // Non-negative data never get negative ticks.
        if min >= 0.0 && (lo < 0.0 || (from_zero && min <= 0.5 * max)) {
            lo = 0.0;
        }
        PlotAxis::linear(lo, hi)
    }

    pub fn is_log(&self) -> bool {
        self.scale == Scale::Log
    }

    pub fn lo(&self) -> f64 {
        self.lo
    }

    pub fn hi(&self) -> f64 {
        self.hi
    }

    /// Whether `v` can be placed on this axis.
    pub fn accepts(&self, v: f64) -> bool {
        v.is_finite() && (self.scale != Scale::Log || v > 0.0)
    }

    /// Where `v` lies along the axis, 0 at `lo` and 1 at `hi`.
    fn fraction(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Log => (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()),
            Scale::Linear | Scale::Category => (v - self.lo) / (self.hi - self.lo),
        }
    }
}

fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else {
        let d = (lo.abs() * 0.1).max(1.0);
        (lo - d, lo + d)
    }
}

impl Ranged for PlotAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = self.fraction(*value);
        let t = if t.is_finite() {
            t.clamp(-4.0, 5.0)
        } else {
            0.0
        };
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let light = hint.weight().allow_light_points();
        match self.scale {
            Scale::Category => Vec::new(),
            Scale::Linear => {
                let bold = nice_step(self.hi - self.lo, hint.bold_points());
                let step = if light { light_step(bold) } else { bold };
                let ticks = linear_ticks(self.lo, self.hi, step);
                if ticks.len() > hint.max_num_points().max(2) {
                    linear_ticks(self.lo, self.hi, bold)
                } else {
                    ticks
                }
            }
            Scale::Log => log_ticks(self.lo, self.hi, hint.bold_points(), light),
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for PlotAxis {
    fn format(value: &f64) -> String {
        fmt_tick(*value)
    }
}

/// The smallest 1/2/2.5/5 × 10^k step that cuts `span` into at most `n` parts.
fn nice_step(span: f64, n: usize) -> f64 {
    let raw = span / n.max(1) as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * mag)
}

/// Minor grid step: a subdivision of the major `step`.
fn light_step(step: f64) -> f64 {
    let mantissa = step / 10f64.powf(step.log10().floor());
    if (mantissa - 2.0).abs() < 1e-6 {
        step / 4.0
    } else {
        step / 5.0
    }
}

fn linear_ticks(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    if last < first || last - first > 1000 {
        return Vec::new();
    }
    // Multiplying (not accumulating) keeps 0.1 × 3 from drifting; round off
    // the last bits so that labels print cleanly.
    (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            let scale = 1e9 / step;
            (v * scale).round() / scale
        })
        .collect()
}

fn log_ticks(lo: f64, hi: f64, max_bold: usize, light: bool) -> Vec<f64> {
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let ticks = |mantissas: &[f64], every: i32| -> Vec<f64> {
        (d0..=d1)
            .filter(|d| (d - d0) % every == 0)
            .flat_map(|d| mantissas.iter().map(move |m| m * 10f64.powi(d)))
            .filter(|v| *v >= lo * (1.0 - 1e-9) && *v <= hi * (1.0 + 1e-9))
            .collect()
    };
    let max_bold = max_bold.max(2);
    let bold = LOG_MANTISSAS
        .iter()
        .rev()
        .map(|m| ticks(m, 1))
        .find(|t| t.len() <= max_bold)
        .unwrap_or_else(|| {
            let every = ((d1 - d0) as usize).div_ceil(max_bold).max(1) as i32;
            ticks(&[1.0], every)
        });
    if light {
        let all = ticks(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 1);
        if all.len() <= 12 * max_bold {
            return all;
        }
    }
    bold
}

// ---------------------------------------------------------------------------
// Number formatting

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A tick label: `0`, `0.25`, `12.5`, `900`, `2k`, `12.5k`, `1.5M`.
pub(super) fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    let s = if a < 1e-12 {
        "0".to_string()
    } else if a >= 1e6 {
        trim(format!("{:.3}", v / 1e6)) + "M"
    } else if a >= 1e3 {
        trim(format!("{:.3}", v / 1e3)) + "k"
    } else {
        trim(format!("{v:.4}"))
    };
    if s == "-0" { "0".to_string() } else { s }
}

/// A measured value with about three significant digits and no trailing
/// zeros: `0.512`, `12.3`, `40`, `123`, `1,234`.
pub(super) fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        return v.to_string();
    }
    if a >= 1000.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        return format!("{sign}{}", fmt_thousands(a.round() as u64));
    }
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    trim(format!("{v:.decimals$}"))
}

/// `1234567` → `1,234,567`.
pub(super) fn fmt_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------
// Colours and markers

pub(super) const TEXT: RGBColor = RGBColor(33, 33, 33);
pub(super) const MUTED: RGBColor = RGBColor(105, 105, 105);
pub(super) const SLA_RED: RGBColor = RGBColor(214, 39, 40);
const GRID_BOLD: RGBColor = RGBColor(214, 214, 214);
const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);
const FRAME: RGBColor = RGBColor(190, 190, 190);

/// Qualitative colours (matplotlib's tab10 without red, which marks the SLA).
const QUALITATIVE: [RGBColor; 9] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(127, 127, 127),
];

/// The `i`-th colour of the qualitative palette (cycles after 9).
pub(super) fn series_color(i: usize) -> RGBColor {
    QUALITATIVE[i % QUALITATIVE.len()]
}

/// The `i`-th of `n` colours along viridis (dark purple → green), stopping
/// short of its yellow end, which is hard to see on white.
pub(super) fn ramp_color(i: usize, n: usize) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if n <= 1 {
        0.0
    } else {
        0.85 * i as f64 / (n - 1) as f64
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let k = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Marker shapes, so that series stay apart where colours repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Shape {
    /// The shape of the `i`-th series: circles for the first colour cycle,
    /// then squares, triangles and diamonds.
    pub fn nth(i: usize) -> Shape {
        match (i / QUALITATIVE.len()) % 4 {
            0 => Shape::Circle,
            1 => Shape::Square,
            2 => Shape::Triangle,
            _ => Shape::Diamond,
        }
    }

    fn outline(self, size: i32) -> Vec<(i32, i32)> {
        let s = size;
        match self {
            Shape::Circle => Vec::new(),
            Shape::Square => vec![(-s, -s), (s, -s), (s, s), (-s, s)],
            Shape::Triangle => vec![(0, -s - 1), (s + 1, s), (-s - 1, s)],
            Shape::Diamond => vec![(0, -s - 1), (s + 1, 0), (0, s + 1), (-s - 1, 0)],
        }
    }
}

/// Draws `shape` markers of radius `size` px at the data points `pts`, filled
/// in `color` with a white rim so overlapping series stay readable.
pub(super) fn draw_markers(
    chart: &mut Chart<'_, '_>,
    pts: &[(f64, f64)],
    shape: Shape,
    size: i32,
    color: RGBColor,
) -> DrawResult {
    let fill = color.filled();
    let rim = WHITE.stroke_width(1);
    match shape {
        Shape::Circle => {
            chart.draw_series(pts.iter().map(|p| {
                EmptyElement::at(*p)
                    + Circle::new((0, 0), size + 1, WHITE.filled())
                    + Circle::new((0, 0), size, fill)
            }))?;
        }
        _ => {
            let outline = shape.outline(size);
            chart.draw_series(pts.iter().map(|p| {
                EmptyElement::at(*p)
                    + Polygon::new(outline.clone(), fill)
                    + PathElement::new(
                        outline
                            .iter()
                            .chain(outline.first())
                            .copied()
                            .collect::<Vec<_>>(),
                        rim,
                    )
            }))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Layout: title band, chart, legend panel

/// What a plot shows besides its data.
pub(super) struct Frame<'s> {
    pub title: &'s str,
    pub subtitle: Option<String>,
    pub x_desc: &'s str,
    pub y_desc: &'s str,
    pub legend_title: Option<&'s str>,
    pub legend: Vec<LegendEntry>,
}

/// One row of the legend.
pub(super) struct LegendEntry {
    pub label: String,
    pub mark: Mark,
    pub bold: bool,
}

/// The sample drawn before a legend label.
pub(super) enum Mark {
    Line {
        color: RGBColor,
        width: u32,
        marker: Option<(Shape, i32)>,
    },
    Bar {
        fill: RGBColor,
        border: RGBColor,
    },
}

const LEGEND_ROW: i32 = 30;
const LEGEND_SAMPLE: i32 = 40;
const LEGEND_FONT: f64 = 17.0;

fn font(size: f64) -> TextStyle<'static> {
    (FONT, size).into_font().color(&TEXT)
}

fn bold_font(size: f64) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&TEXT)
}

/// Draws the title band and the legend panel and returns the area left for
/// the chart.
pub(super) fn layout<'a>(root: &Area<'a>, frame: &Frame<'_>) -> DrawResult<Area<'a>> {
    root.fill(&WHITE)?;
    let center = (WIDTH / 2) as i32;
    let top = Pos::new(HPos::Center, VPos::Top);
    root.draw(&Text::new(
        frame.title.to_string(),
        (center, 20),
        bold_font(28.0).pos(top),
    ))?;
    if let Some(sub) = &frame.subtitle {
        root.draw(&Text::new(
            sub.clone(),
            (center, 60),
            font(18.0).color(&MUTED).pos(top),
        ))?;
    }
    let (_, body) = root.split_vertically(HEADER);
    if frame.legend.is_empty() {
        return Ok(body);
    }
    let mut text_w = 0;
    for e in &frame.legend {
        let style = if e.bold {
            bold_font(LEGEND_FONT)
        } else {
            font(LEGEND_FONT)
        };
        text_w = text_w.max(root.estimate_text_size(&e.label, &style)?.0);
    }
    if let Some(t) = frame.legend_title {
        text_w = text_w.max(
            root.estimate_text_size(t, &bold_font(LEGEND_FONT))?
                .0
                .saturating_sub((LEGEND_SAMPLE + 10) as u32),
        );
    }
    let panel_w = (text_w + (LEGEND_SAMPLE as u32) + 58).clamp(170, 380);
    let (chart, panel) = body.split_horizontally(WIDTH - panel_w);
    draw_legend(&panel, frame.legend_title, &frame.legend)?;
    Ok(chart)
}

fn draw_legend(panel: &Area<'_>, title: Option<&str>, entries: &[LegendEntry]) -> DrawResult {
    let (w, h) = panel.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let (x0, y0) = (4, 14);
    let pad = 12;
    let title_h = if title.is_some() { LEGEND_ROW + 4 } else { 0 };
    let room = ((h - y0 - 90 - title_h - 2 * pad) / LEGEND_ROW).max(1) as usize;
    let (shown, hidden) = if entries.len() > room {
        (&entries[..room - 1], entries.len() - (room - 1))
    } else {
        (entries, 0)
    };
    let rows = shown.len() as i32 + i32::from(hidden > 0);
    let box_h = 2 * pad + title_h + rows * LEGEND_ROW;
    let x1 = w - 20;
    panel.draw(&Rectangle::new(
        [(x0, y0), (x1, y0 + box_h)],
        WHITE.filled(),
    ))?;
    panel.draw(&Rectangle::new([(x0, y0), (x1, y0 + box_h)], FRAME))?;
    let left = Pos::new(HPos::Left, VPos::Center);
    let mut y = y0 + pad + LEGEND_ROW / 2;
    if let Some(t) = title {
        panel.draw(&Text::new(
            t.to_string(),
            (x0 + pad, y),
            bold_font(LEGEND_FONT).pos(left),
        ))?;
        y += title_h;
    }
    let sx = x0 + pad;
    for e in shown {
        match e.mark {
            Mark::Line {
                color,
                width,
                marker,
            } => {
                panel.draw(&PathElement::new(
                    vec![(sx, y), (sx + LEGEND_SAMPLE, y)],
                    color.stroke_width(width),
                ))?;
                if let Some((shape, size)) = marker {
                    let c = (sx + LEGEND_SAMPLE / 2, y);
                    if shape == Shape::Circle {
                        panel.draw(&Circle::new(c, size + 1, WHITE.filled()))?;
                        panel.draw(&Circle::new(c, size, color.filled()))?;
                    } else {
                        let pts: Vec<_> = shape
                            .outline(size)
                            .into_iter()
                            .map(|(dx, dy)| (c.0 + dx, c.1 + dy))
                            .collect();
                        panel.draw(&Polygon::new(pts, color.filled()))?;
                    }
                }
            }
            Mark::Bar { fill, border } => {
                let r = [(sx + 6, y - 9), (sx + LEGEND_SAMPLE - 6, y + 9)];
                panel.draw(&Rectangle::new(r, fill.filled()))?;
                panel.draw(&Rectangle::new(r, border.stroke_width(2)))?;
            }
        }
        let style = if e.bold {
            bold_font(LEGEND_FONT)
        } else {
            font(LEGEND_FONT)
        };
        panel.draw(&Text::new(
            e.label.clone(),
            (sx + LEGEND_SAMPLE + 10, y),
            style.pos(left),
        ))?;
        y += LEGEND_ROW;
    }
    if hidden > 0 {
        panel.draw(&Text::new(
            format!("… and {hidden} more"),
            (sx + LEGEND_SAMPLE + 10, y),
            font(LEGEND_FONT).color(&MUTED).pos(left),
        ))?;
    }
    Ok(())
}

/// Axis options of [`chart`].
pub(super) struct Axes<'f> {
    pub x: PlotAxis,
    pub y: PlotAxis,
    pub x_fmt: &'f dyn Fn(&f64) -> String,
    pub y_fmt: &'f dyn Fn(&f64) -> String,
    /// Extra room below the x axis for labels the plot draws itself.
    pub x_label_room: u32,
}

/// Builds the chart in `area` and draws its grid, ticks and axis titles.
pub(super) fn chart<'a, 'b>(
    area: &'a Area<'b>,
    frame: &Frame<'_>,
    axes: Axes<'_>,
) -> DrawResult<Chart<'a, 'b>> {
    let right = if frame.legend.is_empty() { 48 } else { 24 };
    let is_category = axes.x.scale == Scale::Category;
    let mut chart = ChartBuilder::on(area)
        .margin_top(14)
        .margin_bottom(16)
        .margin_left(24)
        .margin_right(right)
        .x_label_area_size(64 + axes.x_label_room)
        .y_label_area_size(100)
        .build_cartesian_2d(axes.x, axes.y)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(frame.x_desc)
        .y_desc(frame.y_desc)
        .axis_desc_style(bold_font(20.0))
        .label_style(font(17.0))
        .x_label_formatter(axes.x_fmt)
        .y_label_formatter(axes.y_fmt)
        .x_labels(10)
        .y_labels(10)
        .bold_line_style(GRID_BOLD.stroke_width(1))
        .light_line_style(GRID_LIGHT.stroke_width(1))
        .axis_style(RGBColor(120, 120, 120).stroke_width(1))
        .x_label_offset(0)
        .set_all_tick_mark_size(6);
    if is_category {
        mesh.disable_x_mesh();
    }
    mesh.draw()?;
    // Close the frame on the top and right.
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let plot = chart.plotting_area().strip_coord_spec();
    let (w, h) = (xr.end - xr.start - 1, yr.end - yr.start - 1);
    plot.draw(&PathElement::new(
        vec![(0, 0), (w, 0), (w, h)],
        RGBColor(120, 120, 120).stroke_width(1),
    ))?;
    Ok(chart)
}

/// Pixel rectangles ([x0, y0, x1, y1], absolute) that labels should avoid.
pub(super) type Obstacles = Vec<[i32; 4]>;

/// Adds the pixels of the polyline through the data points `pts`.
pub(super) fn add_polyline(obstacles: &mut Obstacles, chart: &Chart<'_, '_>, pts: &[(f64, f64)]) {
    let px: Vec<(i32, i32)> = pts.iter().map(|p| chart.backend_coord(p)).collect();
    for p in &px {
        obstacles.push([p.0 - 6, p.1 - 6, p.0 + 6, p.1 + 6]);
    }
    for w in px.windows(2) {
        let (a, b) = (w[0], w[1]);
        let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) / 4).max(1);
        for s in 0..=steps {
            let t = f64::from(s) / f64::from(steps);
            let x = a.0 + (f64::from(b.0 - a.0) * t).round() as i32;
            let y = a.1 + (f64::from(b.1 - a.1) * t).round() as i32;
            obstacles.push([x - 3, y - 3, x + 3, y + 3]);
        }
    }
}

/// Draws the SLA target as a dashed red horizontal line across the chart,
/// labelled `SLA target (x ms)` where the label hits no obstacle.
pub(super) fn draw_sla(
    root: &Area<'_>,
    chart: &mut Chart<'_, '_>,
    sla_ms: f64,
    obstacles: &Obstacles,
) -> DrawResult {
    let (x, y) = (chart.x_range(), chart.y_range());
    if !(sla_ms.is_finite() && sla_ms >= y.start && sla_ms <= y.end) {
        return Ok(());
    }
    chart.draw_series(DashedLineSeries::new(
        [(x.start, sla_ms), (x.end, sla_ms)],
        14,
        8,
        SLA_RED.stroke_width(3),
    ))?;

    let label = format!("SLA target ({} ms)", fmt_value(sla_ms));
    let style = bold_font(17.0).color(&SLA_RED);
    let (tw, th) = root.estimate_text_size(&label, &style)?;
    let (tw, th) = (tw as i32, th as i32);
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    let line_y = chart.backend_coord(&(x.start, sla_ms)).1;
    let (left, right) = (xr.start + 10, xr.end - 10 - tw);
    let (above, below) = (line_y - 8 - th, line_y + 8);
    let mut candidates = vec![(right, above), (left, above), (right, below), (left, below)];
    candidates.retain(|&(_, ty)| ty >= yr.start + 2 && ty + th <= yr.end - 2);
    let hits = |cx: i32, cy: i32| {
        obstacles
            .iter()
            .any(|o| o[0] <= cx + tw + 4 && o[2] >= cx - 4 && o[1] <= cy + th + 3 && o[3] >= cy - 3)
    };
    let (tx, ty) = candidates
        .iter()
        .copied()
        .find(|&(cx, cy)| !hits(cx, cy))
        .or_else(|| candidates.first().copied())
        .unwrap_or((right, above.max(yr.start + 2)));
    root.draw(&Rectangle::new(
        [(tx - 4, ty - 3), (tx + tw + 4, ty + th + 3)],
        WHITE.mix(0.85).filled(),
    ))?;
    root.draw(&Text::new(label, (tx, ty), style))?;
    Ok(())
}

/// Fills the chart region with a "no data" placeholder.
pub(super) fn draw_no_data(area: &Area<'_>, detail: &str) -> DrawResult {
    let (w, h) = area.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    area.draw(&Rectangle::new(
        [(40, 20), (w - 40, h - 40)],
        RGBColor(248, 248, 248).filled(),
    ))?;
    area.draw(&Rectangle::new([(40, 20), (w - 40, h - 40)], FRAME))?;
    let c = Pos::new(HPos::Center, VPos::Center);
    area.draw(&Text::new(
        "no data".to_string(),
        (w / 2, h / 2 - 20),
        bold_font(34.0).color(&MUTED).pos(c),
    ))?;
    area.draw(&Text::new(
        detail.to_string(),
        (w / 2, h / 2 + 24),
        font(18.0).color(&MUTED).pos(c),
    ))?;
    Ok(())
}

/// Data points that can be placed on both axes, with their x sorted.
pub(super) fn clean_points(
    pts: impl IntoIterator<Item = (f64, f64)>,
    x: &PlotAxis,
    y: &PlotAxis,
) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = pts
        .into_iter()
        .filter(|(a, b)| x.accepts(*a) && y.accepts(*b))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        assert_eq!(
            linear_ticks(0.0, 1.0, nice_step(1.0, 5)),
            [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        assert_eq!(nice_step(16_000.0, 8), 2000.0);
        assert_eq!(nice_step(10.0, 4), 2.5);
        let t = log_ticks(80.0, 20_000.0, 10, false);
        assert_eq!(
            t,
            [
                100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0
            ]
        );
        let t = log_ticks(1.0, 1e12, 5, false);
        assert!(t.len() <= 5, "{t:?}");
    }

    #[test]
    fn numbers_format_compactly() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(0.30000000000000004), "0.3");
        assert_eq!(fmt_tick(12.5), "12.5");
        assert_eq!(fmt_tick(2000.0), "2k");
        assert_eq!(fmt_tick(12_500.0), "12.5k");
        assert_eq!(fmt_tick(1_500_000.0), "1.5M");
        assert_eq!(fmt_value(1234.4), "1,234");
        assert_eq!(fmt_value(123.44), "123");
        assert_eq!(fmt_value(12.34), "12.3");
        assert_eq!(fmt_value(0.5), "0.5");
        assert_eq!(fmt_value(40.0), "40");
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_thousands(1_234_567), "1,234,567");
        assert_eq!(fmt_thousands(999), "999");
    }

    #[test]
    fn axes_go_logarithmic_over_decades() {
        let a = PlotAxis::fit([100.0, 130_000.0], true, 0.05);
        assert!(a.is_log());
        let a = PlotAxis::fit([10.0, 40.0], true, 0.05);
        assert!(!a.is_log());
        assert_eq!(a.lo(), 0.0);
        let a = PlotAxis::fit([40.0, 45.0], true, 0.05);
        assert!(a.lo() > 30.0);
        let a = PlotAxis::fit([f64::NAN, f64::INFINITY], true, 0.05);
        assert_eq!((a.lo(), a.hi()), (0.0, 1.0));
        let a = PlotAxis::fit([5.0], true, 0.05);
        assert!(a.hi() > a.lo());
    }

    #[test]
    fn viridis_ends_are_dark_and_green() {
        assert_eq!(ramp_color(0, 5), RGBColor(68, 1, 84));
        let last = ramp_color(4, 5);
        assert!(last.1 > 180, "{last:?}");
        assert_eq!(ramp_color(0, 1), RGBColor(68, 1, 84));
    }
}
