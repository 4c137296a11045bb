//! LU factorisation with partial pivoting for the small dense Newton matrices
//! of the body engine's BDF integrator ([`super::bdf`]).
//!
//! An arm has a few dozen states, so the Newton matrix `I − cJ` is a few
//! kilobytes and each BDF step solves it once or twice. At this size a
//! general LU spends most of its time on strided views rather than
//! arithmetic. Here the factors live in one contiguous column-major buffer,
//! allocated once per segment, and the triangular solves visit only the
//! non-zero entries of the factors, column by column.

/// Factors `P A = L U` of a dense square matrix, reused across Newton
/// iterations until the integrator asks for a new linearisation.
#[derive(Debug, Clone, Default)]
pub struct DenseLu {
    /// Order of the matrix.
    n: usize,
    /// `L` below the diagonal (unit diagonal implied) and `U` on and above,
    /// column-major.
    factors: Vec<f64>,
    /// 1 / U_kk, so that the back substitution multiplies.
    inv_diag: Vec<f64>,
    /// Row exchanged with row `k` at step `k`.
    pivots: Vec<usize>,
    /// Some pivot is off the diagonal (rarely: the Newton matrix of a
    /// compartment network is column diagonally dominant).
    exchanged: bool,
    /// The non-zero entries of `L` (below the diagonal), column by column,
    /// as (row, value): the network couples each state to a few others, so
    /// the factors are mostly zeros (158 of 529 entries for the mouse study)
    /// and the solves visit only the rest.
    l_entries: Vec<(usize, f64)>,
    /// The non-zero entries of `U` above the diagonal, column by column.
    u_entries: Vec<(usize, f64)>,
    /// Column `k` of `L` is `l_entries[lower[k]..lower[k + 1]]`.
    lower: Vec<usize>,
    /// Column `k` of `U` is `u_entries[upper[k]..upper[k + 1]]`.
    upper: Vec<usize>,
    /// A pivot was zero: the matrix is singular and solves fail.
    singular: bool,
}

impl DenseLu {
    /// Room for matrices of order `n`.
    pub fn new(n: usize) -> Self {
        DenseLu {
            n,
            factors: vec![0.0; n * n],
            inv_diag: vec![0.0; n],
            pivots: (0..n).collect(),
            exchanged: false,
            l_entries: Vec::with_capacity(n * n),
            u_entries: Vec::with_capacity(n * n),
            lower: Vec::with_capacity(n + 1),
            upper: Vec::with_capacity(n + 1),
            singular: false,
        }
    }

    /// The matrix to factorise, column-major: the caller writes `A` here,
    /// then calls [`DenseLu::factorise`], which overwrites it with the factors.
    pub fn matrix_mut(&mut self) -> &mut [f64] {
        &mut self.factors
    }

    /// False when a pivot vanished: the matrix is singular.
    pub fn is_regular(&self) -> bool {
        !self.singular
    }
    /// Gaussian elimination with partial pivoting on `self.factors`
    /// (right-looking, column-major), gathering the non-zero entries of the
    /// factors as it goes. The trailing update visits only the non-zero
    /// multipliers of each column, so its cost follows the fill-in, not n³.
    pub fn factorise(&mut self) {
        let n = self.n;
        let a = &mut self.factors;
        self.singular = false;
        self.exchanged = false;
        self.l_entries.clear();
        self.u_entries.clear();
        self.lower.clear();
        self.upper.clear();
        for k in 0..n {
            // U's column k (rows above the diagonal) is final once the
            // elimination reaches column k.
            self.upper.push(self.u_entries.len());
            let col = &a[k * n..(k + 1) * n];
            for (i, &v) in col.iter().enumerate().take(k) {
                if v != 0.0 {
                    self.u_entries.push((i, v));
                }
            }
            let mut p = k;
            let mut best = col[k].abs();
            for (i, v) in col.iter().enumerate().skip(k + 1) {
                if v.abs() > best {
                    best = v.abs();
                    p = i;
                }
            }
            self.pivots[k] = p;
            self.lower.push(self.l_entries.len());
            if best == 0.0 || !best.is_finite() {
                self.singular = true;
                self.inv_diag[k] = 0.0;
                continue;
            }
            if p != k {
                self.exchanged = true;
                for j in 0..n {
                    a.swap(j * n + k, j * n + p);
                }
                // Rows of earlier multipliers move with the exchange.
                for e in &mut self.l_entries {
                    if e.0 == k {
                        e.0 = p;
                    } else if e.0 == p {
                        e.0 = k;
                    }
                }
            }
            let inv = 1.0 / a[k * n + k];
            self.inv_diag[k] = inv;
            let first = self.l_entries.len();
            for (i, v) in a[k * n..(k + 1) * n].iter_mut().enumerate().skip(k + 1) {
                if *v != 0.0 {
                    *v *= inv;
                    self.l_entries.push((i, *v));
                }
            }
            let l = &self.l_entries[first..];
            if l.is_empty() {
                continue;
            }
            for j in (k + 1)..n {
                let col = &mut a[j * n..(j + 1) * n];
                let u = col[k];
                if u != 0.0 {
                    for &(i, li) in l {
                        col[i] -= li * u;
                    }
                }
            }
        }
        self.lower.push(self.l_entries.len());
        self.upper.push(self.u_entries.len());
    }

    /// Solves `A x = b` in place (meaningless when the matrix is singular).
    pub fn solve(&self, b: &mut [f64]) {
        if self.exchanged {
            for (k, &p) in self.pivots.iter().enumerate() {
                b.swap(k, p);
            }
        }
        // L y = P b, unit lower triangular. Columns are consecutive runs of
        // the entry lists, taken off the front one after the other.
        let mut entries = &self.l_entries[..];
        for (k, w) in self.lower.windows(2).enumerate() {
            let (column, rest) = entries.split_at(w[1] - w[0]);
            entries = rest;
            let y = b[k];
            for &(i, l) in column {
                b[i] -= l * y;
            }
        }
        // U x = y, from the last column back.
        let mut entries = &self.u_entries[..];
        for (k, w) in self.upper.windows(2).enumerate().rev() {
            let (rest, column) = entries.split_at(entries.len() - (w[1] - w[0]));
            entries = rest;
            let x = b[k] * self.inv_diag[k];
            b[k] = x;
            for &(i, u) in column {
                b[i] -= u * x;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A matrix that needs row exchanges (zero leading entry) and is far from
    /// diagonal dominance.
    fn sample(n: usize) -> Vec<f64> {
        // A linear congruential sequence in [-1, 1): no structure to help.
        let mut state = 12345_u64;
        let mut a: Vec<f64> = (0..n * n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
            })
            .collect();
        if n > 1 {
            a[0] = 0.0;
        }
        a
    }

    fn lu_of(a: &[f64], n: usize) -> DenseLu {
        let mut lu = DenseLu::new(n);
        lu.matrix_mut().copy_from_slice(a);
        lu.factorise();
        lu
    }

    /// The residual `A x − b` of the solution vanishes to rounding
    /// (Gaussian elimination with partial pivoting is backward stable), and
    /// refactorising the same buffer gives the same solution.
    #[test]
    fn solves_with_pivoting_to_rounding() {
        for n in [1, 2, 5, 23] {
            let a = sample(n);
            let mut lu = lu_of(&a, n);
            assert!(lu.is_regular());
            let b: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
            let mut x = b.clone();
            lu.solve(&mut x);
            for i in 0..n {
                let ax: f64 = (0..n).map(|j| a[j * n + i] * x[j]).sum();
                assert!(
                    (ax - b[i]).abs() < 1e-10 * (1.0 + b[i].abs()),
                    "n={n}: {ax} vs {}",
                    b[i]
                );
            }
            lu.matrix_mut().copy_from_slice(&a);
            lu.factorise();
            let mut again = b.clone();
            lu.solve(&mut again);
            assert_eq!(again, x, "n={n}: refactorisation reuses no stale entry");
        }
    }

    /// A singular matrix is reported, not solved.
    #[test]
    fn singular_matrix_is_flagged() {
        let lu = lu_of(&[1.0, 2.0, 2.0, 4.0], 2);
        assert!(!lu.is_regular());
    }
}
