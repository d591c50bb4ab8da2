//! The Pareto frontier of throughput per GPU against throughput per user
//! (SPEC §3.4): the rows no other row beats on both.

/// Indices of the rows on the frontier of `(x, y)` (both maximised), in
/// ascending `x`. Points with a non-finite coordinate are never on it.
pub fn frontier(points: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| {
            points
                .get(i)
                .is_some_and(|p| p.0.is_finite() && p.1.is_finite())
        })
        .collect();
    let at = |i: usize| points.get(i).copied().unwrap_or((f64::NAN, f64::NAN));
    // Descending x, then descending y: a point is on the frontier when its y
    // beats every y seen so far (all of which have a larger or equal x).
    idx.sort_by(|&a, &b| {
        let (pa, pb) = (at(a), at(b));
        pb.0.total_cmp(&pa.0).then(pb.1.total_cmp(&pa.1))
    });
    let mut best_y = f64::NEG_INFINITY;
    let mut out = Vec::new();
    for i in idx {
        let (_, y) = at(i);
        if y > best_y {
            best_y = y;
            out.push(i);
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_undominated_points() {
        let pts = [
            (1.0, 5.0),
            (2.0, 4.0),
            (1.5, 3.0),
            (3.0, 1.0),
            (2.0, 4.0),
            (f64::NAN, 9.0),
        ];
        let f = frontier(&pts);
        assert_eq!(f, vec![0, 1, 3]);
    }

    #[test]
    fn frontier_is_dominance_free() {
        let pts: Vec<(f64, f64)> = (0..50)
            .map(|i| {
                let x = f64::from(i);
                (x * 7.0 % 13.0, (x * 5.0) % 11.0)
            })
            .collect();
        let f = frontier(&pts);
        for &i in &f {
            let p = pts[i];
            assert!(
                !pts.iter()
                    .any(|q| q.0 >= p.0 && q.1 >= p.1 && (q.0 > p.0 || q.1 > p.1))
            );
        }
    }
}
