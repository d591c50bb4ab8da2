//! The fitted surfaces the planner looks up: piecewise-linear in the
//! sampled coordinates and made monotone where physics demands it (a longer
//! prompt never prefills faster; a fuller KV cache never decodes faster), so
//! that noise in the sweep cannot make the planner scale the wrong way.

use crate::plan::{DecodeProfile, PrefillProfile};

/// Linear interpolation over sorted `xs`, extended flat before the first
/// point and along the last segment's slope (never downwards) after it.
fn interp(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let n = xs.len().min(ys.len());
    let (Some(&x0), Some(&y0)) = (xs.first(), ys.first()) else {
        return f64::NAN;
    };
    if n == 1 || x <= x0 {
        return y0;
    }
    for i in 1..n {
        let (Some(&xa), Some(&xb), Some(&ya), Some(&yb)) =
            (xs.get(i - 1), xs.get(i), ys.get(i - 1), ys.get(i))
        else {
            break;
        };
        if x <= xb || i == n - 1 {
            if xb <= xa {
                return yb;
            }
            let slope = (yb - ya) / (xb - xa);
            let slope = if x > xb { slope.max(0.0) } else { slope };
            return ya + slope * (x - xa);
        }
    }
    ys.get(n - 1).copied().unwrap_or(f64::NAN)
}

/// Running maximum: the smallest non-decreasing sequence above `ys`.
fn monotone(ys: &mut [f64]) {
    let mut m = f64::NEG_INFINITY;
    for y in ys.iter_mut() {
        if *y < m {
            *y = m;
        }
        m = m.max(*y);
    }
}

/// TTFT and throughput of the prefill engine over ISL.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefillSurface {
    isl: Vec<f64>,
    ttft: Vec<f64>,
    thpt: Vec<f64>,
}

impl PrefillSurface {
    pub fn new(p: &PrefillProfile) -> PrefillSurface {
        let mut pts: Vec<(f64, f64, f64)> = p
            .prefill_isl
            .iter()
            .zip(&p.prefill_ttft)
            .zip(&p.prefill_thpt_per_gpu)
            .map(|((&i, &t), &h)| (i, t, h))
            .filter(|(i, t, h)| i.is_finite() && t.is_finite() && h.is_finite())
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut ttft: Vec<f64> = pts.iter().map(|p| p.1).collect();
        monotone(&mut ttft);
        PrefillSurface {
            isl: pts.iter().map(|p| p.0).collect(),
            ttft,
            thpt: pts.iter().map(|p| p.2).collect(),
        }
    }

    /// Predicted TTFT of a prompt of `isl` tokens, ms.
    pub fn ttft_ms(&self, isl: f64) -> f64 {
        interp(&self.isl, &self.ttft, isl)
    }

    /// Predicted prompt tokens per second per GPU at `isl`.
    pub fn thpt_per_gpu(&self, isl: f64) -> f64 {
        interp(&self.isl, &self.thpt, isl)
    }
}

/// One context length's decode curve.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    ctx: f64,
    kv: Vec<f64>,
    itl: Vec<f64>,
    thpt: Vec<f64>,
}

/// ITL and throughput of the decode engine over KV usage and context.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeSurface {
    lines: Vec<Line>,
    pub max_kv_tokens: u64,
}

impl DecodeSurface {
    pub fn new(d: &DecodeProfile) -> DecodeSurface {
        let mut pts: Vec<(f64, f64, f64, f64)> = d
            .y_context_length
            .iter()
            .zip(&d.x_kv_usage)
            .zip(&d.z_itl)
            .zip(&d.z_thpt_per_gpu)
            .map(|(((&c, &k), &i), &t)| (c, k, i, t))
            .filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite() && p.3.is_finite())
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut lines: Vec<Line> = Vec::new();
        for (c, k, i, t) in pts {
            match lines.last_mut() {
                Some(l) if l.ctx == c => {
                    l.kv.push(k);
                    l.itl.push(i);
                    l.thpt.push(t);
                }
                _ => lines.push(Line {
                    ctx: c,
                    kv: vec![k],
                    itl: vec![i],
                    thpt: vec![t],
                }),
            }
        }
        for l in &mut lines {
            monotone(&mut l.itl);
        }
        DecodeSurface {
            lines,
            max_kv_tokens: d.max_kv_tokens,
        }
    }

    /// Between the two context lines around `ctx` (clamped at the ends),
    /// linearly in `1 / ctx`: at a fixed KV usage the sequences in flight go
    /// as `1 / ctx`, and with them the per-sequence part of the step, so a
    /// blend in `ctx` itself would let a short-context line (many sequences)
    /// dominate far beyond where it holds.
    fn blend(&self, ctx: f64, f: impl Fn(&Line) -> f64) -> f64 {
        let Some(first) = self.lines.first() else {
            return f64::NAN;
        };
        if ctx <= first.ctx {
            return f(first);
        }
        let inv = |c: f64| 1.0 / c.max(1.0);
        for w in self.lines.windows(2) {
            if let [a, b] = w
                && ctx <= b.ctx
            {
                let span = inv(b.ctx) - inv(a.ctx);
                let t = if span.abs() > 0.0 {
                    ((inv(ctx) - inv(a.ctx)) / span).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                return f(a) * (1.0 - t) + f(b) * t;
            }
        }
        self.lines.last().map_or(f64::NAN, f)
    }

    /// Predicted ITL at KV-cache usage `kv_usage` ∈ [0, 1] and mean context
    /// `ctx` tokens, ms.
    pub fn itl_ms(&self, kv_usage: f64, ctx: f64) -> f64 {
        self.blend(ctx, |l| interp(&l.kv, &l.itl, kv_usage))
    }

    /// Predicted output tokens per second per GPU there.
    pub fn thpt_per_gpu(&self, kv_usage: f64, ctx: f64) -> f64 {
        self.blend(ctx, |l| interp(&l.kv, &l.thpt, kv_usage))
    }

    /// The highest KV usage (in [0, 1]) whose predicted ITL at `ctx` stays
    /// within `itl_ms`; 0 when even an idle engine is slower.
    pub fn kv_usage_at_itl(&self, itl_ms: f64, ctx: f64) -> f64 {
        let idle = self.itl_ms(0.0, ctx);
        if idle.is_nan() || idle > itl_ms {
            return 0.0;
        }
        if self.itl_ms(1.0, ctx) <= itl_ms {
            return 1.0;
        }
        let (mut lo, mut hi) = (0.0, 1.0);
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if self.itl_ms(mid, ctx) <= itl_ms {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}
