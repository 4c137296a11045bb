//! Non-negative least squares: min ‖A x − b‖₂ subject to x ≥ 0, by the
//! active-set method of Lawson & Hanson (Solving Least Squares Problems,
//! 1974, ch. 23).
//!
//! The solution satisfies the Karush–Kuhn–Tucker conditions: with
//! w = Aᵀ(b − A x), every x_j ≥ 0, every w_j ≤ 0, and w_j = 0 wherever
//! x_j > 0. The method keeps a passive set P of columns free to be positive
//! (the rest held at 0): it moves into P the column whose w_j is largest,
//! solves the unconstrained least-squares problem on P (Householder QR), and
//! when that solution has a non-positive entry steps back towards the
//! previous feasible point just far enough to make it zero and drops it from
//! P. It stops when no w_j outside P is positive. The problems here are
//! small (a few sources, a few dozen markers), so each subproblem is solved
//! afresh rather than by updating the factorisation.

use nalgebra::{DMatrix, DVector};

/// Unconstrained least squares on the columns of `a` marked in `passive`;
/// the result has zeros outside them. `None` when those columns are
/// linearly dependent to within rounding.
fn least_squares_on(a: &DMatrix<f64>, b: &DVector<f64>, passive: &[bool]) -> Option<DVector<f64>> {
    let columns: Vec<usize> = (0..a.ncols()).filter(|&j| passive[j]).collect();
    let p = columns.len();
    if p == 0 {
        return Some(DVector::zeros(a.ncols()));
    }
    if p > a.nrows() {
        return None;
    }
    let sub = a.select_columns(&columns);
    let qr = sub.qr();
    let r = qr.r();
    let largest = r.diagonal().amax();
    let threshold = f64::EPSILON * (a.nrows().max(p) as f64) * largest;
    if largest.is_nan() || largest <= 0.0 || r.diagonal().iter().any(|d| d.abs() <= threshold) {
        return None;
    }
    let qtb = qr.q().tr_mul(b);
    let z = r.solve_upper_triangular(&qtb)?;
    let mut x = DVector::zeros(a.ncols());
    for (&j, &v) in columns.iter().zip(z.iter()) {
        x[j] = v;
    }
    Some(x)
}

/// The non-negative `x` minimising ‖A x − b‖₂. `a` and `b` hold finite
/// values, with `b.len() == a.nrows()`.
pub fn nnls(a: &DMatrix<f64>, b: &DVector<f64>) -> DVector<f64> {
    let n = a.ncols();
    let mut x = DVector::zeros(n);
    if n == 0 || a.nrows() == 0 {
        return x;
    }
    // |w_j| ≤ ‖a_j‖ ‖b‖; rounding in b − A x is a few ε of that.
    let column_norm = a.column_iter().map(|c| c.norm()).fold(0.0, f64::max);
    let tolerance = 10.0 * f64::EPSILON * (a.nrows().max(n) as f64) * column_norm * b.norm();
    let mut passive = vec![false; n];
    // Columns refused in this round: their least-squares weight came out
    // non-positive or they depend on P (rounding; Lawson & Hanson's test).
    let mut refused = vec![false; n];
    // Each round adds a column; Lawson & Hanson bound the rounds by 3n.
    for _ in 0..3 * n {
        let w = a.tr_mul(&(b - a * &x));
        let candidate = (0..n)
            .filter(|&j| !passive[j] && !refused[j] && w[j] > tolerance)
            .max_by(|&i, &j| w[i].total_cmp(&w[j]));
        let Some(j) = candidate else {
            break;
        };
        passive[j] = true;
        let mut z = match least_squares_on(a, b, &passive) {
            Some(z) if z[j] > 0.0 => z,
            _ => {
                passive[j] = false;
                refused[j] = true;
                continue;
            }
        };
        refused.fill(false);
        // Step back while the subproblem's solution leaves the feasible set;
        // each pass drops at least one column, so at most n passes.
        for _ in 0..n {
            let blocking = (0..n)
                .filter(|&i| passive[i] && z[i] <= 0.0)
                .map(|i| (i, x[i] / (x[i] - z[i])))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((first, alpha)) = blocking else {
                break;
            };
            for i in 0..n {
                if passive[i] {
                    x[i] += alpha * (z[i] - x[i]);
                }
            }
            x[first] = 0.0;
            for i in 0..n {
                if passive[i] && x[i] <= 0.0 {
                    passive[i] = false;
                    x[i] = 0.0;
                }
            }
            z = match least_squares_on(a, b, &passive) {
                Some(z) => z,
                None => break,
            };
        }
        if (0..n).all(|i| !passive[i] || z[i] > 0.0) {
            x = z;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn random_problem(seed: u64, m: usize, n: usize) -> (DMatrix<f64>, DVector<f64>) {
        let mut rng = crate::random::stream(seed, 0x4E4E_4C53, 0);
        let a = DMatrix::from_fn(m, n, |_, _| rng.random::<f64>());
        let b = DVector::from_fn(m, |_, _| rng.random::<f64>() - 0.3);
        (a, b)
    }

    /// The KKT conditions of min ‖Ax − b‖ s.t. x ≥ 0, to within `tol`
    /// relative to ‖A‖‖b‖.
    fn assert_kkt(a: &DMatrix<f64>, b: &DVector<f64>, x: &DVector<f64>) {
        let w = a.tr_mul(&(b - a * x));
        let scale = a.norm() * b.norm();
        for j in 0..x.len() {
            assert!(x[j] >= 0.0, "x[{j}] = {}", x[j]);
            assert!(w[j] <= 1e-12 * scale, "w[{j}] = {} with x = {x}", w[j]);
            if x[j] > 0.0 {
                assert!(
                    w[j].abs() <= 1e-12 * scale,
                    "w[{j}] = {} at x[{j}] = {}",
                    w[j],
                    x[j]
                );
            }
        }
    }

    /// b = A x* with x* ≥ 0 (some entries zero): the residual can be zero,
    /// so x* itself is the solution (A has full column rank).
    #[test]
    fn exact_mixture_is_recovered() {
        let (a, _) = random_problem(1, 12, 5);
        let truth = DVector::from_vec(vec![0.7, 0.0, 2.5, 0.0, 0.1]);
        let b = &a * &truth;
        let x = nnls(&a, &b);
        assert!((&x - &truth).amax() < 1e-12, "{x} vs {truth}");
    }

    /// A = I: the solution is b with its negative entries set to zero.
    #[test]
    fn identity_clips_negative_entries() {
        let a = DMatrix::identity(3, 3);
        let b = DVector::from_vec(vec![1.5, -2.0, 0.25]);
        let x = nnls(&a, &b);
        assert_eq!(x[1], 0.0, "{x}");
        assert!(
            (&x - DVector::from_vec(vec![1.5, 0.0, 0.25])).amax() < 1e-15,
            "{x}"
        );
    }

    /// Random problems with active constraints satisfy the KKT conditions,
    /// and no non-negative x on any subset of columns does better: the
    /// optimum is checked against every feasible subset's least squares.
    #[test]
    fn kkt_conditions_and_exhaustive_search_agree() {
        for seed in 0..50 {
            let (m, n) = (8 + (seed as usize % 5), 2 + (seed as usize % 5));
            let (a, b) = random_problem(seed, m, n);
            let x = nnls(&a, &b);
            assert_kkt(&a, &b, &x);
            let ours = (&b - &a * &x).norm();
            let mut best = b.norm();
            for mask in 1..(1u32 << n) {
                let set: Vec<bool> = (0..n).map(|j| mask >> j & 1 == 1).collect();
                if let Some(z) = least_squares_on(&a, &b, &set)
                    && z.iter().all(|&v| v >= 0.0)
                {
                    best = best.min((&b - &a * &z).norm());
                }
            }
            assert!(
                ours <= best * (1.0 + 1e-12),
                "seed {seed}: {ours} vs {best}"
            );
        }
    }

    /// More sources than markers (rank-deficient A): the result is still
    /// feasible and optimal.
    #[test]
    fn wide_problems_stay_optimal() {
        for seed in 100..120 {
            let (a, b) = random_problem(seed, 3, 6);
            let x = nnls(&a, &b);
            assert_kkt(&a, &b, &x);
        }
    }

    /// A duplicated column cannot enter twice; the fit is the same as with
    /// one copy.
    #[test]
    fn duplicate_columns_do_not_break_the_fit() {
        let (a, b) = random_problem(7, 10, 3);
        let mut cols: Vec<DVector<f64>> = a.column_iter().map(|c| c.into_owned()).collect();
        cols.push(cols[0].clone());
        let doubled = DMatrix::from_columns(&cols);
        let x1 = nnls(&a, &b);
        let x2 = nnls(&doubled, &b);
        let r1 = (&b - &a * &x1).norm();
        let r2 = (&b - &doubled * &x2).norm();
        assert!((r1 - r2).abs() <= 1e-12 * b.norm(), "{r1} vs {r2}");
        assert_kkt(&doubled, &b, &x2);
    }
}
