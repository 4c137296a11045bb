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
    /// compartment network is nearly column diagonally dominant).
    exchanged: bool,
    /// Rows of the non-zero multipliers of the current column, during the
    /// elimination.
    rows: Vec<usize>,
    /// Factors from the pivoting fallback: the non-zero entries of `L`
    /// (below the diagonal), column after column, as (row, value): the
    /// network couples each state to a few others, so the factors are mostly
    /// zeros and the solves visit only the rest.
    l_entries: Vec<(u32, f64)>,
    /// The non-zero entries of `U` above the diagonal, column after column.
    u_entries: Vec<(u32, f64)>,
    /// Column `k` of `L` is `l_entries[lower[k]..lower[k + 1]]`.
    lower: Vec<usize>,
    /// Column `k` of `U` is `u_entries[upper[k]..upper[k + 1]]`.
    upper: Vec<usize>,
    /// A pivot was zero: the matrix is singular and solves fail.
    singular: bool,
    /// The elimination schedule of the matrix's sparsity pattern with
    /// pivots on the diagonal, when one was given.
    schedule: Option<Schedule>,
    /// The factors follow the schedule's pivot order (else the natural
    /// order with row exchanges).
    planned: bool,
    /// Planned factors by rows, for the solve: forward, for each `(i, end)`
    /// of `forward_rows` (pivot order), `b_i −= Σ l b_j` over the `(j, l)`
    /// of `forward` up to `end`; then `b ← b / diag(U)` (`inv_pivot`, by
    /// state); then backward likewise, with `U`'s rows divided by their
    /// pivots (a unit diagonal), in reverse pivot order. A row's sum is
    /// accumulated in registers: scattered column updates would chain
    /// every blood pool's entry through memory, one organ after another.
    forward: Vec<(u32, f64)>,
    forward_rows: Vec<(u32, u32)>,
    inv_pivot: Vec<f64>,
    backward: Vec<(u32, f64)>,
    backward_rows: Vec<(u32, u32)>,
    /// The planned solve's working copy of `b` for systems of at most
    /// `WORK` states: indexed by a `u8`, it needs no bounds check, which
    /// otherwise costs as much as the update itself.
    work: Vec<f64>,
}

/// Order up to which the planned solve works in [`DenseLu::work`], or in
/// the caller's vector when it has this many entries.
pub(super) const WORK: usize = 256;

/// How Gaussian elimination with diagonal pivots proceeds on a fixed
/// sparsity pattern: the order of the pivots, chosen to limit fill-in, and,
/// for each, which entries it touches (fill-in included). The numeric
/// factorisation then visits only those, with no search.
///
/// The order matters: blood pools couple to every organ, and eliminating
/// them first fills the matrix in (158 non-zero factor entries of 529 for
/// the mouse study); eliminating organs first leaves 85.
#[derive(Debug, Clone, Default)]
struct Schedule {
    /// Pivot of step `s` (a diagonal position, as a state index).
    order: Vec<usize>,
    /// States eliminated after step `s` with a non-zero in its pivot's
    /// column (the multipliers): `rows[row_start[s]..row_start[s + 1]]`.
    rows: Vec<usize>,
    row_start: Vec<usize>,
    /// States eliminated after step `s` with a non-zero in its pivot's row:
    /// `cols[col_start[s]..col_start[s + 1]]`.
    cols: Vec<usize>,
    col_start: Vec<usize>,
    /// Entries of `L` by rows, in pivot order: `(column, position in the
    /// matrix)`; row `i` ends where `(i, end)` of `l_rows` says.
    l_entries: Vec<(u32, usize)>,
    l_rows: Vec<(u32, u32)>,
    /// Entries of `U` above the diagonal by rows, in reverse pivot order.
    u_entries: Vec<(u32, usize)>,
    u_rows: Vec<(u32, u32)>,
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
            rows: Vec::with_capacity(n),
            l_entries: Vec::with_capacity(n * n),
            u_entries: Vec::with_capacity(n * n),
            lower: vec![0; n + 1],
            upper: vec![0; n + 1],
            singular: false,
            schedule: None,
            planned: false,
            forward: Vec::with_capacity(n * n),
            forward_rows: Vec::with_capacity(n),
            inv_pivot: vec![0.0; n],
            backward: Vec::with_capacity(n * n),
            backward_rows: Vec::with_capacity(n),
            work: vec![0.0; WORK],
        }
    }

    /// Plans the elimination for matrices whose non-zero entries all lie in
    /// `pattern` (column-major, `n × n`; the diagonal is always included):
    /// the pivot order by minimum degree (Markowitz-style, on the
    /// symmetrised pattern), then the entries each pivot touches.
    pub fn analyse(&mut self, pattern: &[bool]) {
        let n = self.n;
        let mut filled: Vec<bool> = pattern[..n * n].to_vec();
        for k in 0..n {
            filled[k * n + k] = true;
        }
        // Minimum degree on the graph of the symmetrised pattern: eliminate
        // the state with the fewest neighbours, joining its neighbours.
        let mut graph: Vec<bool> = (0..n * n)
            .map(|e| e % n != e / n && (filled[e] || filled[(e % n) * n + e / n]))
            .collect();
        let mut degree: Vec<usize> = (0..n)
            .map(|v| graph[v * n..(v + 1) * n].iter().filter(|&&g| g).count())
            .collect();
        let mut done = vec![false; n];
        let mut order = Vec::with_capacity(n);
        let mut neighbours = Vec::with_capacity(n);
        for _ in 0..n {
            let v = (0..n)
                .filter(|&v| !done[v])
                .min_by_key(|&v| degree[v])
                .expect("a state is left");
            neighbours.clear();
            neighbours.extend((0..n).filter(|&u| !done[u] && graph[v * n + u]));
            for &a in &neighbours {
                graph[a * n + v] = false;
                degree[a] -= 1;
                for &b in &neighbours {
                    if a != b && !graph[a * n + b] {
                        graph[a * n + b] = true;
                        degree[a] += 1;
                    }
                }
            }
            done[v] = true;
            order.push(v);
        }
        // Symbolic elimination in that order (column-major: entry (i, j) is
        // `filled[j * n + i]`).
        let mut position = vec![0; n];
        for (s, &v) in order.iter().enumerate() {
            position[v] = s;
        }
        let mut plan = Schedule {
            order,
            ..Schedule::default()
        };
        for s in 0..n {
            let p = plan.order[s];
            plan.row_start.push(plan.rows.len());
            plan.col_start.push(plan.cols.len());
            let first_row = plan.rows.len();
            let first_col = plan.cols.len();
            for &i in &plan.order[s + 1..] {
                if filled[p * n + i] {
                    plan.rows.push(i);
                }
                if filled[i * n + p] {
                    plan.cols.push(i);
                }
            }
            for &j in &plan.cols[first_col..] {
                for &i in &plan.rows[first_row..] {
                    filled[j * n + i] = true;
                }
            }
        }
        plan.row_start.push(plan.rows.len());
        plan.col_start.push(plan.cols.len());
        for s in 0..n {
            let i = plan.order[s];
            for &p in &plan.order[..s] {
                if filled[p * n + i] {
                    plan.l_entries.push((p as u32, p * n + i));
                }
            }
            if plan.l_entries.len() > plan.l_rows.last().map_or(0, |r| r.1 as usize) {
                plan.l_rows.push((i as u32, plan.l_entries.len() as u32));
            }
        }
        for s in (0..n).rev() {
            let i = plan.order[s];
            for &j in &plan.order[s + 1..] {
                if filled[j * n + i] {
                    plan.u_entries.push((j as u32, j * n + i));
                }
            }
            if plan.u_entries.len() > plan.u_rows.last().map_or(0, |r| r.1 as usize) {
                plan.u_rows.push((i as u32, plan.u_entries.len() as u32));
            }
        }
        self.forward_rows.clone_from(&plan.l_rows);
        self.backward_rows.clone_from(&plan.u_rows);
        debug_assert!(plan.order.iter().all(|&v| plan.order[position[v]] == v));
        self.schedule = Some(plan);
    }

    /// Elimination along the schedule with diagonal pivots, each accepted
    /// when at least a tenth of the largest entry below it (threshold
    /// pivoting, as sparse direct solvers do: it bounds the growth of the
    /// factors); false, with the factors spoiled, when one is not.
    fn factorise_scheduled(&mut self) -> bool {
        let Some(plan) = &self.schedule else {
            return false;
        };
        let n = self.n;
        let a = &mut self.factors[..n * n];
        for s in 0..n {
            let p = plan.order[s];
            let rows = &plan.rows[plan.row_start[s]..plan.row_start[s + 1]];
            let pivot = a[p * n + p];
            let largest = rows.iter().fold(0.0_f64, |m, &i| m.max(a[p * n + i].abs()));
            if !pivot.is_finite() || pivot == 0.0 || pivot.abs() < 0.1 * largest {
                return false;
            }
            let inv = 1.0 / pivot;
            self.inv_diag[s] = inv;
            for &i in rows {
                a[p * n + i] *= inv;
            }
            for &j in &plan.cols[plan.col_start[s]..plan.col_start[s + 1]] {
                let u = a[j * n + p];
                if u != 0.0 {
                    for &i in rows {
                        a[j * n + i] -= a[p * n + i] * u;
                    }
                }
            }
        }
        for s in 0..n {
            self.inv_pivot[plan.order[s]] = self.inv_diag[s];
        }
        self.forward.clear();
        self.forward
            .extend(plan.l_entries.iter().map(|&(j, e)| (j, a[e])));
        self.backward.clear();
        for &(i, end) in &plan.u_rows {
            let start = self.backward.len();
            let inv = self.inv_pivot[i as usize];
            self.backward.extend(
                plan.u_entries[start..end as usize]
                    .iter()
                    .map(|&(j, e)| (j, a[e] * inv)),
            );
        }
        self.exchanged = false;
        self.singular = false;
        self.planned = true;
        true
    }

    /// The matrix to factorise, column-major: a test writes `A` here, then
    /// calls [`DenseLu::factorise`], which overwrites it with the factors.
    #[cfg(test)]
    pub fn matrix_mut(&mut self) -> &mut [f64] {
        &mut self.factors
    }

    /// The planned solve on `w`, whose first `n` entries are the system's:
    /// every index is below n ≤ 256, so truncating it to a `u8` keeps it,
    /// and proves it in bounds (a bounds check costs as much as the update).
    fn solve_planned(&self, w: &mut [f64; WORK]) {
        let n = self.n;
        // (Two partial sums: a blood pool's row is long.)
        let mut start = 0;
        for &(i, end) in &self.forward_rows {
            let end = end as usize;
            let mut pairs = self.forward[start..end].chunks_exact(2);
            let (mut s0, mut s1) = (0.0, 0.0);
            for pair in &mut pairs {
                s0 += pair[0].1 * w[pair[0].0 as u8 as usize];
                s1 += pair[1].1 * w[pair[1].0 as u8 as usize];
            }
            if let [(j, l)] = pairs.remainder() {
                s0 += l * w[*j as u8 as usize];
            }
            w[i as u8 as usize] -= s0 + s1;
            start = end;
        }
        for (x, &inv) in w[..n].iter_mut().zip(&self.inv_pivot) {
            *x *= inv;
        }
        let mut start = 0;
        for &(i, end) in &self.backward_rows {
            let end = end as usize;
            let mut pairs = self.backward[start..end].chunks_exact(2);
            let (mut s0, mut s1) = (0.0, 0.0);
            for pair in &mut pairs {
                s0 += pair[0].1 * w[pair[0].0 as u8 as usize];
                s1 += pair[1].1 * w[pair[1].0 as u8 as usize];
            }
            if let [(j, u)] = pairs.remainder() {
                s0 += u * w[*j as u8 as usize];
            }
            w[i as u8 as usize] -= s0 + s1;
            start = end;
        }
    }

    /// Non-zero entries of the factors below and above the diagonal.
    #[cfg(test)]
    pub fn entry_counts(&self) -> (usize, usize) {
        if self.planned {
            (self.forward.len(), self.backward.len())
        } else {
            (self.l_entries.len(), self.u_entries.len())
        }
    }

    /// False when a pivot vanished: the matrix is singular.
    pub fn is_regular(&self) -> bool {
        !self.singular
    }

    /// Factorises the matrix written in [`DenseLu::matrix_mut`].
    #[cfg(test)]
    pub fn factorise(&mut self) {
        let original = self.factors.clone();
        self.factorise_with(|m| m.copy_from_slice(&original));
    }

    /// Factorises the matrix that `fill` writes (column-major, every entry):
    /// along the schedule of [`DenseLu::analyse`] when there is one and its
    /// diagonal pivots are acceptable, else by Gaussian elimination with
    /// partial pivoting (right-looking, column-major, whole rows exchanged
    /// as LAPACK's `getrf` does), then the non-zero entries of the factors
    /// gathered for the solves. The trailing update visits only the non-zero
    /// multipliers of each column, so its cost follows the fill-in, not n³.
    /// When the schedule's pivots fail, `fill` writes the matrix again: that
    /// is cheaper than a copy kept at every factorisation.
    pub fn factorise_with(&mut self, fill: impl Fn(&mut [f64])) {
        fill(&mut self.factors);
        if self.schedule.is_some() {
            if self.factorise_scheduled() {
                return;
            }
            fill(&mut self.factors);
        }
        self.factorise_pivoting();
    }

    /// Gaussian elimination with partial pivoting of the matrix in
    /// `factors`.
    fn factorise_pivoting(&mut self) {
        let n = self.n;
        self.planned = false;
        let a = &mut self.factors[..n * n];
        self.singular = false;
        self.exchanged = false;
        for k in 0..n {
            let mut p = k;
            let mut best = a[k * n + k].abs();
            for i in k + 1..n {
                let v = a[k * n + i].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            self.pivots[k] = p;
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
            }
            let inv = 1.0 / a[k * n + k];
            self.inv_diag[k] = inv;
            self.rows.clear();
            for i in k + 1..n {
                let v = &mut a[k * n + i];
                if *v != 0.0 {
                    *v *= inv;
                    self.rows.push(i);
                }
            }
            if self.rows.is_empty() {
                continue;
            }
            let (done, rest) = a.split_at_mut((k + 1) * n);
            let multipliers = &done[k * n..];
            for col in rest.chunks_exact_mut(n) {
                let u = col[k];
                if u != 0.0 {
                    for &i in &self.rows {
                        col[i] -= multipliers[i] * u;
                    }
                }
            }
        }
        self.l_entries.clear();
        self.u_entries.clear();
        for k in 0..n {
            let col = &a[k * n..(k + 1) * n];
            self.lower[k] = self.l_entries.len();
            self.upper[k] = self.u_entries.len();
            for (i, &v) in col.iter().enumerate() {
                if v != 0.0 && i != k {
                    if i > k {
                        self.l_entries.push((i as u32, v));
                    } else {
                        self.u_entries.push((i as u32, v));
                    }
                }
            }
        }
        self.lower[n] = self.l_entries.len();
        self.upper[n] = self.u_entries.len();
    }

    /// Solves `A x = b` in place (meaningless when the matrix is singular).
    /// A `b` of at least [`WORK`] entries (only the first `n` are the
    /// system's) is solved where it lies, without two copies per solve.
    pub fn solve(&mut self, b: &mut [f64]) {
        let n = self.n;
        if self.planned && n <= WORK {
            if let Some(w) = b.get_mut(..WORK) {
                let w: &mut [f64; WORK] = w.try_into().expect("WORK entries");
                self.solve_planned(w);
                return;
            }
            let mut w = std::mem::take(&mut self.work);
            {
                let w: &mut [f64; WORK] = (&mut w[..WORK])
                    .try_into()
                    .expect("the working copy holds WORK entries");
                w[..n].copy_from_slice(&b[..n]);
                self.solve_planned(w);
                b[..n].copy_from_slice(&w[..n]);
            }
            self.work = w;
            return;
        }
        let b = &mut b[..n];
        if self.planned {
            let mut start = 0;
            for &(i, end) in &self.forward_rows {
                let end = end as usize;
                let mut sum = 0.0;
                for &(j, l) in &self.forward[start..end] {
                    sum += l * b[j as usize];
                }
                b[i as usize] -= sum;
                start = end;
            }
            for (x, &inv) in b.iter_mut().zip(&self.inv_pivot) {
                *x *= inv;
            }
            let mut start = 0;
            for &(i, end) in &self.backward_rows {
                let end = end as usize;
                let mut sum = 0.0;
                for &(j, u) in &self.backward[start..end] {
                    sum += u * b[j as usize];
                }
                b[i as usize] -= sum;
                start = end;
            }
            return;
        }
        if self.exchanged {
            for (k, &p) in self.pivots.iter().enumerate() {
                b.swap(k, p);
            }
        }
        // L y = P b, unit lower triangular, column after column.
        for k in 0..n {
            let y = b[k];
            if y != 0.0 {
                for &(i, l) in &self.l_entries[self.lower[k]..self.lower[k + 1]] {
                    b[i as usize] -= l * y;
                }
            }
        }
        // U x = y, from the last column back.
        for k in (0..n).rev() {
            let x = b[k] * self.inv_diag[k];
            b[k] = x;
            if x != 0.0 {
                for &(i, u) in &self.u_entries[self.upper[k]..self.upper[k + 1]] {
                    b[i as usize] -= u * x;
                }
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

    /// With an elimination plan for the matrix's sparsity pattern, the
    /// factors solve the system as the pivoting elimination does; and when a
    /// diagonal pivot is too small for the plan, the pivoting fallback still
    /// solves it.
    #[test]
    fn planned_elimination_solves_like_pivoting() {
        let n = 6;
        // A compartment chain's Newton matrix I − cJ: diagonally dominant,
        // with a return flux that fills in.
        let mut a = vec![0.0; n * n];
        let mut pattern = vec![false; n * n];
        for k in 0..n {
            a[k * n + k] = 1.0 + 0.7 * (k + 1) as f64;
            pattern[k * n + k] = true;
            let to = (k + 1) % n;
            a[k * n + to] = -0.7 * (k + 1) as f64;
            pattern[k * n + to] = true;
        }
        let b: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let check = |a: &[f64], x: &[f64]| {
            for i in 0..n {
                let ax: f64 = (0..n).map(|j| a[j * n + i] * x[j]).sum();
                assert!(
                    (ax - b[i]).abs() < 1e-12 * (1.0 + b[i].abs()),
                    "{ax} vs {}",
                    b[i]
                );
            }
        };
        let mut planned = DenseLu::new(n);
        planned.analyse(&pattern);
        planned.matrix_mut().copy_from_slice(&a);
        planned.factorise();
        assert!(planned.is_regular() && !planned.exchanged);
        let mut x = b.clone();
        planned.solve(&mut x);
        check(&a, &x);
        // A vanishing first pivot: the plan gives way to row exchanges.
        let mut hard = a.clone();
        hard[0] = 0.0;
        planned.matrix_mut().copy_from_slice(&hard);
        planned.factorise();
        assert!(planned.is_regular() && planned.exchanged);
        let mut x = b.clone();
        planned.solve(&mut x);
        check(&hard, &x);
    }

    /// The planned solve agrees for orders on both sides of its working
    /// copy's size (a `u8`-indexed copy up to 256 states, `b` itself beyond).
    #[test]
    fn planned_solve_above_and_below_the_working_copy() {
        for n in [WORK - 1, WORK, WORK + 1, 300] {
            let mut a = vec![0.0; n * n];
            let mut pattern = vec![false; n * n];
            for k in 0..n {
                a[k * n + k] = 2.0 + (k % 7) as f64;
                pattern[k * n + k] = true;
                let to = (k + 1) % n;
                a[k * n + to] = -1.0 - (k % 3) as f64;
                pattern[k * n + to] = true;
            }
            let mut lu = DenseLu::new(n);
            lu.analyse(&pattern);
            lu.matrix_mut().copy_from_slice(&a);
            lu.factorise();
            assert!(lu.is_regular() && lu.planned, "n={n}");
            let b: Vec<f64> = (0..n).map(|i| 1.0 + (i % 5) as f64).collect();
            let mut x = b.clone();
            lu.solve(&mut x);
            for i in 0..n {
                let ax: f64 = (0..n).map(|j| a[j * n + i] * x[j]).sum();
                assert!((ax - b[i]).abs() < 1e-12 * (1.0 + b[i].abs()), "n={n}");
            }
        }
    }

    /// A singular matrix is reported, not solved.
    #[test]
    fn singular_matrix_is_flagged() {
        let lu = lu_of(&[1.0, 2.0, 2.0, 4.0], 2);
        assert!(!lu.is_regular());
    }
}
