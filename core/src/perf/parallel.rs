//! The parallel layout of one engine (worker): tensor, pipeline, attention
//! data and MoE tensor/expert parallelism.

use super::error::PerfError;
pub use crate::plan::Parallel;

impl Parallel {
    /// GPUs of a normalised worker (each size at most 1024, so the product
    /// fits).
    pub(crate) fn worker_gpus(&self) -> u32 {
        self.gpus().unwrap_or(u32::MAX)
    }

    /// Fills blanks (0 = not given) and checks the layout adds up: `tp`, `pp`,
    /// `dp` default to 1; for MoE models `moe_tp × moe_ep` must equal
    /// `tp × dp` (a blank one is derived from the other; both blank: experts
    /// follow attention, `moe_tp = tp`, `moe_ep = dp`). Dense models ignore
    /// the MoE sizes.
    pub fn normalized(self, is_moe: bool) -> Result<Parallel, PerfError> {
        let one = |x: u32| if x == 0 { 1 } else { x };
        let (tp, pp, dp) = (one(self.tp), one(self.pp), one(self.dp));
        if tp > 1024 || pp > 1024 || dp > 1024 {
            return Err(PerfError::Layout(format!(
                "tp {tp}, pp {pp}, dp {dp}: sizes above 1024 are not supported"
            )));
        }
        let group = tp * dp;
        if !is_moe {
            return Ok(Parallel {
                tp,
                pp,
                dp,
                moe_tp: tp,
                moe_ep: dp,
            });
        }
        let (moe_tp, moe_ep) = match (self.moe_tp, self.moe_ep) {
            (0, 0) => (tp, dp),
            (0, ep) if group % ep == 0 => (group / ep, ep),
            (t, 0) if group % t == 0 => (t, group / t),
            (t, e) => (t, e),
        };
        if moe_tp * moe_ep != group {
            return Err(PerfError::Layout(format!(
                "moe_tp {moe_tp} × moe_ep {moe_ep} = {} must equal tp {tp} × dp {dp} = {group} \
                 (the experts are split over the same GPUs as attention)",
                moe_tp * moe_ep
            )));
        }
        Ok(Parallel {
            tp,
            pp,
            dp,
            moe_tp,
            moe_ep,
        })
    }
}

impl std::fmt::Display for Parallel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tp{}", self.tp)?;
        if self.pp > 1 {
            write!(f, " pp{}", self.pp)?;
        }
        if self.dp > 1 {
            write!(f, " dp{}", self.dp)?;
        }
        if self.moe_ep > 1 || (self.moe_tp != 0 && self.moe_tp != self.tp) {
            // A blank MoE TP is what the rest of the group leaves.
            let mt = if self.moe_tp == 0 {
                (self.tp.max(1) * self.dp.max(1)) / self.moe_ep.max(1)
            } else {
                self.moe_tp
            };
            write!(f, " moe{}x{}", mt.max(1), self.moe_ep.max(1))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_layouts() {
        let p = |tp, pp, dp, mt, me| Parallel {
            tp,
            pp,
            dp,
            moe_tp: mt,
            moe_ep: me,
        };
        let cases = [
            (p(8, 1, 1, 0, 0), true, Some(p(8, 1, 1, 8, 1))),
            (p(1, 1, 8, 1, 8), true, Some(p(1, 1, 8, 1, 8))),
            (p(2, 0, 0, 0, 0), true, Some(p(2, 1, 1, 2, 1))),
            (p(4, 1, 1, 0, 4), true, Some(p(4, 1, 1, 1, 4))),
            (p(8, 1, 1, 2, 2), true, None),
            (p(8, 1, 1, 2, 2), false, Some(p(8, 1, 1, 8, 1))),
        ];
        for (input, moe, want) in cases {
            assert_eq!(input.normalized(moe).ok(), want, "{input:?}");
        }
        assert_eq!(
            p(2, 2, 4, 0, 0).normalized(false).unwrap().worker_gpus(),
            16
        );
    }
}
