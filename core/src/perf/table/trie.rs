//! A measured table as a trie over its numeric coordinates, and lookups with
//! interpolation and extrapolation on it.
//!
//! Level `l` of the trie holds, for every node at that level, the sorted
//! coordinates measured under it; node `j` of level `l + 1` is the `j`-th
//! coordinate of level `l`. The values sit under the last level. The trie
//! keeps sparse grids sparse (context attention measures long sequences only
//! at small batches, MoE only the expert shapes of real models) without
//! padding, and a lookup brackets each coordinate among the values measured
//! *under the node it is in*.
//!
//! # Lookups, coordinate by coordinate (outermost first)
//! - [`Axis::Exact`]: the coordinate must have been measured, else no answer.
//! - [`Axis::Linear`] / [`Axis::Square`], inside the measured range: linear
//!   interpolation between the two bracketing measurements in the axis' work
//!   coordinate (`x` or `x²`).
//! - Above the measured range: the last measured segment is continued
//!   (affine in the work coordinate), its slope bounded below by 0 (more work
//!   never takes less time) and above by the per-unit cost of the last point
//!   (never super-linear), so a 2× larger GEMM past the grid costs ~2×. A node
//!   with a single measurement scales it proportionally.
//! - Below the measured range: the first measurement (launch overhead and
//!   fixed costs dominate small problems; they do not shrink with the work).

use super::schema::{Axis, Dim};

/// How a value came about (combined over all coordinates: any extrapolated
/// coordinate makes the value extrapolated; else any interpolated one makes it
/// interpolated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Prov {
    Measured,
    Interpolated,
    Extrapolated,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Level {
    /// `offsets[node]..offsets[node + 1]` indexes `coords` for `node`.
    pub offsets: Vec<u32>,
    pub coords: Vec<u32>,
}

/// One slice of a table (one combination of categorical keys).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Trie {
    pub levels: Vec<Level>,
    /// Milliseconds, one per coordinate of the last level.
    pub values: Vec<f32>,
}

impl Trie {
    /// Builds the trie from points sorted by coordinates (lexicographically),
    /// all of one length, without duplicates.
    pub fn from_sorted(points: &[(&[u32], f32)], ndims: usize) -> Trie {
        let mut levels: Vec<Level> = (0..ndims)
            .map(|_| Level {
                offsets: vec![0],
                coords: Vec::new(),
            })
            .collect();
        let mut prev: Option<&[u32]> = None;
        let mut values = Vec::with_capacity(points.len());
        for &(coords, v) in points {
            // First level where this point departs from the previous one.
            let split = match prev {
                None => 0,
                Some(p) => p
                    .iter()
                    .zip(coords)
                    .position(|(a, b)| a != b)
                    .unwrap_or(ndims),
            };
            for (l, level) in levels.iter_mut().enumerate().skip(split) {
                if l > split {
                    // A new node at level l starts under the new coordinate
                    // of level l - 1: close the previous node.
                    let len = u32::try_from(level.coords.len()).unwrap_or(u32::MAX);
                    if prev.is_some() {
                        level.offsets.push(len);
                    }
                }
                level.coords.push(coords.get(l).copied().unwrap_or(0));
            }
            values.push(v);
            prev = Some(coords);
        }
        for level in &mut levels {
            let len = u32::try_from(level.coords.len()).unwrap_or(u32::MAX);
            level.offsets.push(len);
        }
        // Level 0 has exactly one node; the pushes above left the right
        // offsets for every deeper level (one node per parent coordinate).
        if let Some(first) = levels.first_mut() {
            first.offsets = vec![0, u32::try_from(first.coords.len()).unwrap_or(u32::MAX)];
        }
        Trie { levels, values }
    }

    /// Number of stored points.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Checks the structure (offsets monotone and in range, one node per
    /// parent coordinate, coordinates strictly increasing within a node).
    pub fn validate(&self, ndims: usize) -> bool {
        if self.levels.len() != ndims || ndims == 0 {
            return false;
        }
        let mut nodes = 1_usize;
        for level in &self.levels {
            if level.offsets.len() != nodes + 1 || level.offsets.first() != Some(&0) {
                return false;
            }
            if level.offsets.last().map(|&o| o as usize) != Some(level.coords.len()) {
                return false;
            }
            for w in level.offsets.windows(2) {
                let (Some(&a), Some(&b)) = (w.first(), w.get(1)) else {
                    return false;
                };
                if b <= a {
                    return false;
                }
                let Some(cs) = level.coords.get(a as usize..b as usize) else {
                    return false;
                };
                if cs.windows(2).any(|p| p.first() >= p.get(1)) {
                    return false;
                }
            }
            nodes = level.coords.len();
        }
        nodes == self.values.len()
    }

    /// Visits every point (coordinates, value) in order.
    pub fn for_each_point(&self, mut f: impl FnMut(&[u32], f32)) {
        let mut coords = Vec::with_capacity(self.levels.len());
        self.walk(0, 0, self.levels.len(), &mut coords, &mut |c, i| {
            if let Some(&v) = self.values.get(i) {
                f(c, v);
            }
        });
    }

    /// Visits, in order, every distinct run of the first `depth` coordinates
    /// and the index of its last coordinate in level `depth - 1` (at the
    /// last level, the index of the value).
    fn walk(
        &self,
        level: usize,
        node: usize,
        depth: usize,
        coords: &mut Vec<u32>,
        f: &mut impl FnMut(&[u32], usize),
    ) {
        let Some(lv) = self.levels.get(level) else {
            return;
        };
        let (Some(&a), Some(&b)) = (lv.offsets.get(node), lv.offsets.get(node + 1)) else {
            return;
        };
        for i in a as usize..b as usize {
            let Some(&c) = lv.coords.get(i) else {
                return;
            };
            coords.push(c);
            if level + 1 == depth {
                f(coords, i);
            } else {
                self.walk(level + 1, i, depth, coords, f);
            }
            coords.pop();
        }
    }

    /// Whether some point starts with exactly these coordinates.
    pub fn has_prefix(&self, prefix: &[u64]) -> bool {
        let mut node = 0_usize;
        for (level, &x) in prefix.iter().enumerate() {
            let Some(lv) = self.levels.get(level) else {
                return false;
            };
            let (Some(&a), Some(&b)) = (lv.offsets.get(node), lv.offsets.get(node + 1)) else {
                return false;
            };
            let Some(coords) = lv.coords.get(a as usize..b as usize) else {
                return false;
            };
            match coords.binary_search_by(|&c| u64::from(c).cmp(&x)) {
                Ok(i) => node = a as usize + i,
                Err(_) => return false,
            }
        }
        true
    }

    /// Visits every distinct prefix of the first `depth` coordinates that
    /// has a point under it, in order (the measured shapes of a table whose
    /// outer dims name a shape).
    pub fn for_each_prefix(&self, depth: usize, mut f: impl FnMut(&[u32])) {
        let depth = depth.min(self.levels.len());
        if depth == 0 {
            return;
        }
        let mut coords = Vec::with_capacity(depth);
        self.walk(0, 0, depth, &mut coords, &mut |c, _| f(c));
    }

    /// The value at `query` (one coordinate per dim), with how it came about.
    pub fn lookup(&self, dims: &[Dim], query: &[u64]) -> Option<(f64, Prov)> {
        if dims.len() != self.levels.len() || query.len() != dims.len() {
            return None;
        }
        let mut prov = Prov::Measured;
        let v = self.eval(dims, query, 0, 0, &mut prov)?;
        Some((v, prov))
    }

    fn eval(
        &self,
        dims: &[Dim],
        query: &[u64],
        level: usize,
        node: usize,
        prov: &mut Prov,
    ) -> Option<f64> {
        let lv = self.levels.get(level)?;
        let a = *lv.offsets.get(node)? as usize;
        let b = *lv.offsets.get(node + 1)? as usize;
        let coords = lv.coords.get(a..b)?;
        let x = *query.get(level)?;
        let axis = dims.get(level)?.axis;
        let last = level + 1 == self.levels.len();
        let child = |i: usize, prov: &mut Prov| -> Option<f64> {
            if last {
                self.values.get(a + i).map(|&v| f64::from(v))
            } else {
                self.eval(dims, query, level + 1, a + i, prov)
            }
        };
        let pos = coords.binary_search_by(|&c| u64::from(c).cmp(&x));
        match (axis, pos) {
            (_, Ok(i)) => child(i, prov),
            (Axis::Exact, Err(_)) => None,
            (_, Err(0)) => {
                *prov = (*prov).max(Prov::Extrapolated);
                child(0, prov)
            }
            (_, Err(i)) if i >= coords.len() => {
                *prov = (*prov).max(Prov::Extrapolated);
                let hi = i - 1;
                let xb = axis.work(f64::from(*coords.get(hi)?));
                let xq = axis.work(x as f64);
                let vb = child(hi, prov)?;
                let per_unit = vb / xb;
                let slope = match hi.checked_sub(1) {
                    Some(lo) => {
                        let xa = axis.work(f64::from(*coords.get(lo)?));
                        let va = child(lo, prov)?;
                        // max/min rather than clamp: never panics, even on NaN.
                        ((vb - va) / (xb - xa)).max(0.0).min(per_unit)
                    }
                    None => per_unit,
                };
                Some(vb + slope * (xq - xb))
            }
            (_, Err(i)) => {
                *prov = (*prov).max(Prov::Interpolated);
                let xa = axis.work(f64::from(*coords.get(i - 1)?));
                let xb = axis.work(f64::from(*coords.get(i)?));
                let xq = axis.work(x as f64);
                let va = child(i - 1, prov)?;
                let vb = child(i, prov)?;
                let t = (xq - xa) / (xb - xa);
                Some(va + t * (vb - va))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIN2: &[Dim] = &[
        Dim {
            name: "a",
            axis: Axis::Linear,
        },
        Dim {
            name: "b",
            axis: Axis::Linear,
        },
    ];

    fn build(points: &[(Vec<u32>, f32)], ndims: usize) -> Trie {
        let refs: Vec<(&[u32], f32)> = points.iter().map(|(c, v)| (c.as_slice(), *v)).collect();
        let t = Trie::from_sorted(&refs, ndims);
        assert!(t.validate(ndims), "{t:?}");
        t
    }

    #[test]
    fn builds_sparse_trie_and_walks_it_back() {
        let pts = vec![
            (vec![1, 10], 1.0),
            (vec![1, 20], 2.0),
            (vec![2, 10], 3.0),
            (vec![4, 5], 4.0),
            (vec![4, 10], 5.0),
            (vec![4, 40], 6.0),
        ];
        let t = build(&pts, 2);
        assert_eq!(t.levels[0].coords, vec![1, 2, 4]);
        assert_eq!(t.levels[1].offsets, vec![0, 2, 3, 6]);
        let mut back = Vec::new();
        t.for_each_point(|c, v| back.push((c.to_vec(), v)));
        assert_eq!(back, pts);
        for (c, v) in &pts {
            let q: Vec<u64> = c.iter().map(|&x| u64::from(x)).collect();
            assert_eq!(t.lookup(LIN2, &q), Some((f64::from(*v), Prov::Measured)));
        }
    }

    #[test]
    fn prefixes_are_listed_and_found_exactly() {
        let pts = vec![
            (vec![1, 10, 5], 1.0),
            (vec![1, 10, 6], 2.0),
            (vec![1, 20, 5], 3.0),
            (vec![4, 10, 7], 4.0),
        ];
        let t = build(&pts, 3);
        let mut seen = Vec::new();
        t.for_each_prefix(2, |c| seen.push(c.to_vec()));
        assert_eq!(seen, vec![vec![1, 10], vec![1, 20], vec![4, 10]]);
        let mut all = Vec::new();
        t.for_each_prefix(9, |c| all.push(c.to_vec()));
        assert_eq!(all.len(), 4, "a depth past the dims lists whole points");
        assert!(t.has_prefix(&[1, 20]) && t.has_prefix(&[4, 10, 7]) && t.has_prefix(&[]));
        // Measured under another node only, or between measurements: absent.
        assert!(!t.has_prefix(&[4, 20]) && !t.has_prefix(&[1, 15]) && !t.has_prefix(&[2]));
        assert!(!t.has_prefix(&[1, 10, 5, 0]), "longer than the dims");
    }

    #[test]
    fn single_point_and_single_dim() {
        let t = build(&[(vec![8], 2.0)], 1);
        let d = &LIN2[..1];
        assert_eq!(t.lookup(d, &[8]), Some((2.0, Prov::Measured)));
        // Proportional above, clamped below.
        assert_eq!(t.lookup(d, &[16]), Some((4.0, Prov::Extrapolated)));
        assert_eq!(t.lookup(d, &[1]), Some((2.0, Prov::Extrapolated)));
    }
}
