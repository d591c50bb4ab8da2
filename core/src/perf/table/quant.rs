//! Latencies stored as integer steps on a logarithmic scale.
//!
//! A value `L` stands for `2^(L / 2^bits)` milliseconds: with `bits = 6`
//! (64 steps per octave, the importer's default) neighbouring steps differ by
//! 1.09 %, so a stored value is within 0.54 % of the measurement (0.31 % RMS),
//! below the run-to-run noise of the measurements themselves (repeated
//! measurements of one point in the database differ by ~1 %, median; 2–4 % at
//! the 90th percentile). Relative precision is what matters for latencies
//! spanning 10⁻³…10³ ms, and the integer steps of a smooth curve differ little
//! from one point to the next, which is what makes the tables compress to a
//! few MB: the residual noise, not the format, sets the size (each extra bit
//! of resolution costs ~1 MB over the eight built-in systems).
//!
//! Decoding needs no transcendental function (whose last bit may differ
//! between the system libm and wasm): the table of `2^(i / 2^bits)` is built
//! from `sqrt` (correctly rounded by IEEE 754 on every platform) and
//! multiplications in a fixed order, and the octave is applied by building the
//! power of two from its bits. Encoding picks the step whose decoded value is
//! nearest to the measurement by comparing decoded values, so the same bytes
//! come out on every platform.

use super::PerfDbError;

/// Smallest and largest supported steps-per-octave exponent.
pub const MIN_BITS: u8 = 4;
/// See [`MIN_BITS`].
pub const MAX_BITS: u8 = 12;

/// The decoding table for one resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    bits: u8,
    /// `mant[i] = 2^(i / 2^bits)` for `i` in `0..2^bits`, then `2.0`.
    mant: Vec<f64>,
}

impl Scale {
    /// The table for `2^bits` steps per octave.
    pub fn new(bits: u8) -> Result<Scale, PerfDbError> {
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(PerfDbError::BadResolution(bits));
        }
        // roots[j] = 2^(2^j / 2^bits) = 2 square-rooted (bits - j) times.
        let mut roots = Vec::with_capacity(usize::from(bits));
        for j in 0..bits {
            let mut r = 2.0_f64;
            for _ in j..bits {
                r = r.sqrt();
            }
            roots.push(r);
        }
        let n = 1_usize << bits;
        let mut mant = Vec::with_capacity(n + 1);
        for i in 0..n {
            let mut v = 1.0_f64;
            for (j, r) in roots.iter().enumerate() {
                if (i >> j) & 1 == 1 {
                    v *= r;
                }
            }
            mant.push(v);
        }
        mant.push(2.0);
        Ok(Scale { bits, mant })
    }

    /// The milliseconds a step stands for (`None` outside f64's normal range).
    pub fn decode(&self, step: i32) -> Option<f64> {
        let n = 1_i32 << self.bits;
        let octave = step.div_euclid(n);
        let frac = usize::try_from(step.rem_euclid(n)).ok()?;
        Some(self.mant.get(frac)? * pow2(octave)?)
    }

    /// The step nearest to `ms` (which must be finite and positive).
    pub fn encode(&self, ms: f64) -> Result<i32, PerfDbError> {
        if !(ms.is_finite() && ms > 0.0 && ms.is_normal()) {
            return Err(PerfDbError::BadValue(ms));
        }
        // ms = 2^e × m with m in [1, 2), from the bits (exact).
        let bits = ms.to_bits();
        let e = i32::try_from((bits >> 52) & 0x7ff).map_err(|_| PerfDbError::BadValue(ms))? - 1023;
        let m = f64::from_bits((bits & ((1_u64 << 52) - 1)) | (1023_u64 << 52));
        // Largest i with mant[i] <= m (mant[0] = 1 <= m < 2 = mant[n]).
        let i = self.mant.partition_point(|&t| t <= m).saturating_sub(1);
        let lo = self.mant.get(i).copied().ok_or(PerfDbError::BadValue(ms))?;
        let hi = self
            .mant
            .get(i + 1)
            .copied()
            .ok_or(PerfDbError::BadValue(ms))?;
        let i = if hi - m < m - lo { i + 1 } else { i };
        let i = i32::try_from(i).map_err(|_| PerfDbError::BadValue(ms))?;
        e.checked_mul(1 << self.bits)
            .and_then(|s| s.checked_add(i))
            .ok_or(PerfDbError::BadValue(ms))
    }
}

/// `2^e` built from its bits, for the normal range.
fn pow2(e: i32) -> Option<f64> {
    if !(-1022..=1023).contains(&e) {
        return None;
    }
    let biased = u64::try_from(e + 1023).ok()?;
    Some(f64::from_bits(biased << 52))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_accurate_and_monotone() {
        let s = Scale::new(8).unwrap();
        for w in s.mant.windows(2) {
            assert!(w[0] < w[1]);
        }
        for (i, &m) in s.mant.iter().enumerate() {
            let exact = (i as f64 / 256.0).exp2();
            assert!((m / exact - 1.0).abs() < 1e-13, "{i}: {m} vs {exact}");
        }
    }

    #[test]
    fn round_trip_error_is_half_a_step() {
        let s = Scale::new(8).unwrap();
        let half_step = 2f64.powf(1.0 / 512.0) - 1.0;
        let mut v = 1e-4;
        while v < 1e4 {
            let step = s.encode(v).unwrap();
            let back = s.decode(step).unwrap();
            assert!(
                (back / v - 1.0).abs() <= half_step * 1.0001,
                "{v} -> {back}"
            );
            // Encoding a decoded value gives the same step back.
            assert_eq!(s.encode(back).unwrap(), step);
            v *= 1.0137;
        }
        assert_eq!(s.decode(0), Some(1.0));
        assert_eq!(s.decode(256), Some(2.0));
        assert_eq!(s.decode(-256), Some(0.5));
    }

    #[test]
    fn rejects_bad_input() {
        let s = Scale::new(8).unwrap();
        assert!(s.encode(0.0).is_err());
        assert!(s.encode(-1.0).is_err());
        assert!(s.encode(f64::NAN).is_err());
        assert!(s.encode(f64::INFINITY).is_err());
        assert!(Scale::new(3).is_err());
        assert!(Scale::new(13).is_err());
    }
}
