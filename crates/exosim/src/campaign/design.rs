//! Designs: which points of the unit cube a campaign runs.
//!
//! Every sampler returns [`Points`], n rows of d coordinates in [0, 1)
//! (random, Latin hypercube, Sobol, Saltelli, copula) or on Morris's grid
//! [0, 1], and is a pure function of its arguments and a seed: the words come
//! from `random::stream(seed, DOMAIN, entity)`, ChaCha8, so a design does not
//! change with the thread count or the version of `rand`. Integers below n
//! are drawn by multiply-shift (Lemire 2019) and uniforms from the top 53 bits
//! of a word, both written here, for the same reason.
//!
//! [`quantiles`] maps the coordinates to parameter values through each
//! parameter's [`Distribution`]; [`gaussian_copula`] correlates them first.

use nalgebra::DMatrix;
use rand::Rng;

use super::distribution::{Distribution, normal_cdf, normal_quantile};
use crate::random::{Stream, stream};

/// Stream domain of [`random`] (entity: the row).
pub const RANDOM_DOMAIN: u64 = u64::from_be_bytes(*b"camprand");
/// Stream domain of [`latin_hypercube`] (entity: the column).
pub const LHS_DOMAIN: u64 = u64::from_be_bytes(*b"camp_lhs");
/// Stream domain of [`sobol`]'s scramble seed (entity 0).
pub const SOBOL_DOMAIN: u64 = u64::from_be_bytes(*b"campsobl");
/// Stream domain of [`morris`] (entity: the trajectory).
pub const MORRIS_DOMAIN: u64 = u64::from_be_bytes(*b"campmorr");

/// Most points of [`sobol`] and [`saltelli`] (sobol_burley's sequence length).
pub const SOBOL_MAX_POINTS: usize = 1 << 16;
/// Most dimensions of [`sobol`] (sobol_burley's Joe–Kuo direction numbers).
pub const SOBOL_MAX_DIMENSIONS: usize = sobol_burley::NUM_DIMENSIONS as usize;

/// A design: `n` points of `d` coordinates, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    /// Number of points (rows).
    pub n: usize,
    /// Number of coordinates of each point (columns).
    pub d: usize,
    /// `values[i·d + j]`: coordinate j of point i.
    pub values: Vec<f64>,
}

impl Points {
    /// Point `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }

    /// Coordinate `j` of every point.
    pub fn column(&self, j: usize) -> Vec<f64> {
        (0..self.n).map(|i| self.values[i * self.d + j]).collect()
    }

    /// The points one after another.
    pub fn rows(&self) -> impl Iterator<Item = &[f64]> {
        (0..self.n).map(|i| self.row(i))
    }
}

/// A uniform in the open interval (0, 1) from the top 53 bits of a word:
/// never 0 or 1, whose normal quantiles are infinite.
pub(crate) fn open_unit(rng: &mut Stream) -> f64 {
    ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
}

/// An integer uniform on 0..n by multiply-shift (Lemire 2019,
/// docs/references.md#lemire-2019; bias below n/2⁶⁴, negligible here).
pub(crate) fn below(rng: &mut Stream, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// A uniformly random permutation of 0..n (Fisher–Yates).
fn permutation(rng: &mut Stream, n: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        p.swap(i, below(rng, i + 1));
    }
    p
}

/// n independent uniform points: the plain Monte Carlo design, and the
/// reference the others are compared with. Row i comes from its own
/// stream, so the first m rows of `random(n, …)` are `random(m, …)`.
pub fn random(n: usize, d: usize, seed: u64) -> Points {
    let mut values = Vec::with_capacity(n * d);
    for i in 0..n {
        let mut rng = stream(seed, RANDOM_DOMAIN, i as u64);
        values.extend((0..d).map(|_| open_unit(&mut rng)));
    }
    Points { n, d, values }
}

/// A Latin hypercube (McKay, Beckman & Conover 1979,
/// docs/references.md#mckay-1979): each column has exactly one point in each
/// of the n strata [k/n, (k+1)/n), at a uniform position within it; the
/// columns' strata are paired by independent random permutations. Each
/// marginal is thereby sampled evenly whatever n, at the cost of nothing.
pub fn latin_hypercube(n: usize, d: usize, seed: u64) -> Points {
    let mut values = vec![0.0; n * d];
    for j in 0..d {
        let mut rng = stream(seed, LHS_DOMAIN, j as u64);
        let strata = permutation(&mut rng, n);
        for (i, &k) in strata.iter().enumerate() {
            values[i * d + j] = (k as f64 + open_unit(&mut rng)) / n as f64;
        }
    }
    Points { n, d, values }
}

/// Owen-scrambled Sobol points (Sobol' 1967 with Joe & Kuo's 2008 direction
/// numbers, scrambled and shuffled as Burley 2020 does, through the crate
/// `sobol_burley`; docs/references.md#sobol-sequences). Any first 2^k
/// points put exactly 2^(k−m) points in each of the 2^m dyadic intervals of
/// every coordinate (m ≤ k), and the scrambling makes the points unbiased
/// like random ones, so that estimates can be bootstrapped and repeated
/// with other seeds. `sobol_burley` returns 23-bit floats; each is moved to
/// the middle of its 2⁻²³ cell so that no coordinate is exactly 0.
///
/// Errs beyond [`SOBOL_MAX_POINTS`] points or [`SOBOL_MAX_DIMENSIONS`]
/// coordinates.
pub fn sobol(n: usize, d: usize, seed: u64) -> Result<Points, String> {
    if n > SOBOL_MAX_POINTS {
        return Err(format!(
            "a Sobol design holds at most {SOBOL_MAX_POINTS} points, {n} were asked for; \
             use a Latin hypercube or random design for more"
        ));
    }
    if d > SOBOL_MAX_DIMENSIONS {
        return Err(format!(
            "a Sobol design has at most {SOBOL_MAX_DIMENSIONS} coordinates, {d} were asked for"
        ));
    }
    let scramble = stream(seed, SOBOL_DOMAIN, 0).next_u32();
    let half_cell = 0.5 / f64::from(1u32 << 23);
    let mut values = Vec::with_capacity(n * d);
    for i in 0..n as u32 {
        values.extend(
            (0..d as u32).map(|j| f64::from(sobol_burley::sample(i, j, scramble)) + half_cell),
        );
    }
    Ok(Points { n, d, values })
}

/// The Saltelli design for first- and total-order Sobol indices (Saltelli
/// 2002, docs/references.md#saltelli-2002; Saltelli et al. 2010), without
/// the second-order rows, in SALib's row order
/// (`SALib.sample.sobol.sample(problem, n, calc_second_order=False)`): from
/// one Sobol sequence of 2d coordinates, A its first d columns and B its last
/// d, then for each base row i: A_i, AB_i^(1) … AB_i^(d) (A_i with
/// coordinate j taken from B_i), B_i. n·(d + 2) rows, read back by
/// [`super::sensitivity::sobol_indices`]. A power of two for n keeps A and B
/// balanced.
pub fn saltelli(n: usize, d: usize, seed: u64) -> Result<Points, String> {
    let base = sobol(n, 2 * d, seed)?;
    let mut values = Vec::with_capacity(n * (d + 2) * d);
    for i in 0..n {
        let (a, b) = base.row(i).split_at(d);
        values.extend_from_slice(a);
        for j in 0..d {
            values.extend((0..d).map(|k| if k == j { b[k] } else { a[k] }));
        }
        values.extend_from_slice(b);
    }
    Ok(Points {
        n: n * (d + 2),
        d,
        values,
    })
}

/// The full factorial of explicit values: every combination of one value
/// per parameter, the last parameter changing fastest (the order in which
/// one reads a table of a sweep). These are parameter values, not unit-cube
/// coordinates.
pub fn grid(levels: &[Vec<f64>]) -> Points {
    let d = levels.len();
    let n: usize = levels.iter().map(Vec::len).product();
    let mut values = Vec::with_capacity(n * d);
    for i in 0..n {
        let mut rest = i;
        let start = values.len();
        values.resize(start + d, 0.0);
        for (j, l) in levels.iter().enumerate().rev() {
            values[start + j] = l[rest % l.len()];
            rest /= l.len();
        }
    }
    Points { n, d, values }
}

/// The lower Cholesky factor of a correlation matrix given row-major
/// (d × d), after checking that it is one: finite, symmetric, unit
/// diagonal, entries in [−1, 1], positive definite.
fn correlation_factor(r: &[f64], d: usize) -> Result<DMatrix<f64>, String> {
    if r.len() != d * d {
        return Err(format!(
            "the correlation matrix has {} entries; {d} parameters need {d}×{d} = {}",
            r.len(),
            d * d
        ));
    }
    for i in 0..d {
        for j in 0..d {
            let v = r[i * d + j];
            if !v.is_finite() || v.abs() > 1.0 {
                return Err(format!("correlation[{i}][{j}] = {v} is outside [−1, 1]"));
            }
            if i == j && v != 1.0 {
                return Err(format!(
                    "correlation[{i}][{i}] = {v}: a parameter's correlation with itself is 1"
                ));
            }
            if (v - r[j * d + i]).abs() > 1e-12 {
                return Err(format!(
                    "the correlation matrix is not symmetric: [{i}][{j}] = {v} but [{j}][{i}] = {}",
                    r[j * d + i]
                ));
            }
        }
    }
    DMatrix::from_row_slice(d, d, r)
        .cholesky()
        .map(|c| c.l())
        .ok_or_else(|| {
            "the correlation matrix is not positive definite: these correlations cannot hold \
             together (e.g. a~b and b~c strongly positive but a~c negative); weaken some of them"
                .to_string()
        })
}

/// Correlated uniforms from independent ones through a Gaussian copula
/// (Nelsen 2006; Iman & Conover 1982, docs/references.md#gaussian-copula):
/// u' = Φ(L·Φ⁻¹(u)) row by row, L the Cholesky factor of `correlation`
/// (d × d, row-major). The normal scores Φ⁻¹(u') then have exactly that
/// correlation matrix, and the marginals stay uniform, so [`quantiles`]
/// afterwards gives each parameter its own law: a virtual population whose
/// rank correlations follow `correlation` (for normal scores exactly,
/// Spearman's ρ_s = (6/π)·asin(r/2)). Results are kept inside (0, 1) by
/// 2⁻⁵³ so that unbounded laws stay finite.
pub fn gaussian_copula(points: &Points, correlation: &[f64]) -> Result<Points, String> {
    let d = points.d;
    let l = correlation_factor(correlation, d)?;
    if let Some(u) = points.values.iter().find(|u| !(**u > 0.0 && **u < 1.0)) {
        return Err(format!(
            "a copula needs coordinates strictly between 0 and 1, got {u}"
        ));
    }
    let eps = 1.0 / (1u64 << 53) as f64;
    let mut values = Vec::with_capacity(points.values.len());
    let mut z = vec![0.0; d];
    for row in points.rows() {
        for (z, &u) in z.iter_mut().zip(row) {
            *z = normal_quantile(u);
        }
        for i in 0..d {
            let zi: f64 = (0..=i).map(|k| l[(i, k)] * z[k]).sum();
            values.push(normal_cdf(zi).clamp(eps, 1.0 - eps));
        }
    }
    Ok(Points {
        n: points.n,
        d,
        values,
    })
}

/// Parameter values from unit-cube coordinates: column j through the
/// quantile function of `marginals[j]`, after checking every law.
pub fn quantiles(points: &Points, marginals: &[Distribution]) -> Result<Points, String> {
    if marginals.len() != points.d {
        return Err(format!(
            "{} distributions for points of {} coordinates",
            marginals.len(),
            points.d
        ));
    }
    for (j, m) in marginals.iter().enumerate() {
        m.check().map_err(|e| format!("parameter {j}: {e}"))?;
    }
    let values = points
        .values
        .iter()
        .enumerate()
        .map(|(k, &u)| marginals[k % points.d].quantile(u))
        .collect();
    Ok(Points {
        n: points.n,
        d: points.d,
        values,
    })
}

/// One step of a Morris trajectory: which coordinate moved, and whether up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MorrisStep {
    /// The coordinate that changed.
    pub parameter: usize,
    /// Whether it increased by Δ (else it decreased by Δ).
    pub up: bool,
}

/// A Morris design: `r` trajectories of d + 1 points each (rows
/// t·(d+1) … t·(d+1)+d of `points`); step k of trajectory t,
/// `steps[t·d + k]`, goes from row t·(d+1)+k to the next row.
#[derive(Debug, Clone, PartialEq)]
pub struct Morris {
    /// The points, on the grid {0, 1/(p−1), …, 1}.
    pub points: Points,
    /// The number of grid levels p.
    pub levels: usize,
    /// The step Δ = p / (2(p − 1)) in unit-cube coordinates.
    pub delta: f64,
    /// Which coordinate each step moved, and in which direction.
    pub steps: Vec<MorrisStep>,
}

/// Morris's one-at-a-time design (Morris 1991,
/// docs/references.md#morris-1991): each trajectory starts at a random
/// point of the p-level grid and moves every coordinate once, in a random
/// order, by ±Δ = p/(2(p−1)). Coordinate j takes the levels l_j and
/// l_j + Δ, l_j uniform on the lower half of the grid, and starts at either
/// one with probability ½: with p even, every level is then equally likely,
/// Morris's condition for unbiased elementary effects. p must be even and
/// at least 2.
pub fn morris(r: usize, d: usize, levels: usize, seed: u64) -> Result<Morris, String> {
    if levels < 2 || !levels.is_multiple_of(2) {
        return Err(format!(
            "Morris needs an even number of levels, at least 2 (4 is usual), got {levels}"
        ));
    }
    let half = levels / 2;
    let step = (levels - 1) as f64;
    let mut values = Vec::with_capacity(r * (d + 1) * d);
    let mut steps = Vec::with_capacity(r * d);
    for t in 0..r {
        let mut rng = stream(seed, MORRIS_DOMAIN, t as u64);
        let low: Vec<usize> = (0..d).map(|_| below(&mut rng, half)).collect();
        let up: Vec<bool> = (0..d).map(|_| rng.next_u64() >> 63 == 1).collect();
        let order = permutation(&mut rng, d);
        let mut x: Vec<f64> = (0..d)
            .map(|j| (low[j] + if up[j] { 0 } else { half }) as f64 / step)
            .collect();
        values.extend_from_slice(&x);
        for &j in &order {
            x[j] = (low[j] + if up[j] { half } else { 0 }) as f64 / step;
            values.extend_from_slice(&x);
            steps.push(MorrisStep {
                parameter: j,
                up: up[j],
            });
        }
    }
    Ok(Morris {
        points: Points {
            n: r * (d + 1),
            d,
            values,
        },
        levels,
        delta: levels as f64 / (2.0 * step),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stratum of each coordinate of column j, among n.
    fn strata(p: &Points, rows: usize, j: usize, n: usize) -> Vec<usize> {
        let mut s: Vec<usize> = (0..rows)
            .map(|i| (p.row(i)[j] * n as f64) as usize)
            .collect();
        s.sort_unstable();
        s
    }

    /// McKay et al. 1979: exactly one point per stratum per column; the
    /// same seed gives the same design, another seed another.
    #[test]
    fn latin_hypercube_has_one_point_per_stratum() {
        let p = latin_hypercube(97, 5, 11);
        for j in 0..5 {
            assert_eq!(strata(&p, 97, j, 97), (0..97).collect::<Vec<_>>());
        }
        assert_eq!(p, latin_hypercube(97, 5, 11));
        assert_ne!(p, latin_hypercube(97, 5, 12));
    }

    /// Random points lie in (0, 1), and a longer design starts with the
    /// shorter one (one stream per row).
    #[test]
    fn random_points_are_open_and_prefix_stable() {
        let p = random(300, 4, 3);
        assert!(p.values.iter().all(|&u| u > 0.0 && u < 1.0));
        let q = random(100, 4, 3);
        assert_eq!(&p.values[..400], &q.values[..]);
        let mean = p.values.iter().sum::<f64>() / p.values.len() as f64;
        assert!(
            (mean - 0.5).abs() < 4.0 * (1.0 / 12.0 / 1200.0f64).sqrt(),
            "{mean}"
        );
    }

    /// Sobol' 1967: the points lie in (0, 1), and the first 2^k points of
    /// every coordinate put one point in each interval of width 2^−k, for
    /// every k up to the design's size; the first two coordinates also form
    /// a (0, m, 2)-net (one point in each 2^a × 2^b box, a + b = m).
    #[test]
    fn sobol_points_stratify() {
        let p = sobol(1024, 40, 5).unwrap();
        assert!(p.values.iter().all(|&u| u > 0.0 && u < 1.0));
        for k in [2, 4, 8, 10] {
            let m = 1 << k;
            for j in 0..40 {
                assert_eq!(
                    strata(&p, m, j, m),
                    (0..m).collect::<Vec<_>>(),
                    "k {k} col {j}"
                );
            }
        }
        for a in 0..=8 {
            let (nx, ny) = (1usize << a, 1usize << (8 - a));
            let mut boxes: Vec<usize> = (0..256)
                .map(|i| {
                    let r = p.row(i);
                    (r[0] * nx as f64) as usize * ny + (r[1] * ny as f64) as usize
                })
                .collect();
            boxes.sort_unstable();
            assert_eq!(boxes, (0..256).collect::<Vec<_>>(), "{nx}×{ny}");
        }
        assert_ne!(p, sobol(1024, 40, 6).unwrap());
        assert!(
            sobol(SOBOL_MAX_POINTS + 1, 2, 0)
                .unwrap_err()
                .contains("at most")
        );
        assert!(sobol(4, SOBOL_MAX_DIMENSIONS + 1, 0).is_err());
    }

    /// Saltelli's rows in SALib's order: A_i, AB_i^(j) (A_i with column j of
    /// B_i), B_i, A and B the two halves of one 2d-dimensional Sobol point.
    #[test]
    fn saltelli_rows_follow_salib_order() {
        let (n, d) = (16, 3);
        let base = sobol(n, 2 * d, 9).unwrap();
        let s = saltelli(n, d, 9).unwrap();
        assert_eq!((s.n, s.d), (n * (d + 2), d));
        for i in 0..n {
            let (a, b) = base.row(i).split_at(d);
            assert_eq!(s.row(i * (d + 2)), a);
            assert_eq!(s.row(i * (d + 2) + d + 1), b);
            for j in 0..d {
                let ab = s.row(i * (d + 2) + 1 + j);
                for k in 0..d {
                    assert_eq!(ab[k], if k == j { b[k] } else { a[k] });
                }
            }
        }
    }

    /// The grid is the Cartesian product, last parameter fastest.
    #[test]
    fn grid_enumerates_the_product() {
        let g = grid(&[vec![1.0, 2.0], vec![10.0, 20.0, 30.0], vec![-1.0]]);
        assert_eq!((g.n, g.d), (6, 3));
        let rows: Vec<Vec<f64>> = g.rows().map(<[f64]>::to_vec).collect();
        let mut want = Vec::new();
        for a in [1.0, 2.0] {
            for b in [10.0, 20.0, 30.0] {
                want.push(vec![a, b, -1.0]);
            }
        }
        assert_eq!(rows, want);
        assert_eq!(grid(&[vec![1.0], vec![]]).n, 0);
        // No parameter: one run, of the study as written.
        assert_eq!(grid(&[]).rows().collect::<Vec<_>>(), [&[] as &[f64]]);
    }

    /// A copula refuses what is not a correlation matrix, each with its
    /// reason, and with the identity leaves the points as they were.
    #[test]
    fn copula_rejects_bad_matrices() {
        let p = random(50, 3, 1);
        let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let same = gaussian_copula(&p, &id).unwrap();
        for (a, b) in same.values.iter().zip(&p.values) {
            assert!((a - b).abs() < 1e-13, "{a} {b}");
        }
        let bad: [(&[f64], &str); 5] = [
            (
                &[1.0, 0.5, 0.0, 0.4, 1.0, 0.0, 0.0, 0.0, 1.0],
                "not symmetric",
            ),
            (
                &[1.0, 0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 1.0],
                "with itself is 1",
            ),
            (
                &[1.0, 1.5, 0.0, 1.5, 1.0, 0.0, 0.0, 0.0, 1.0],
                "outside [−1, 1]",
            ),
            (
                &[1.0, 0.9, -0.9, 0.9, 1.0, 0.9, -0.9, 0.9, 1.0],
                "not positive definite",
            ),
            (&[1.0, 0.0, 0.0, 1.0], "9"),
        ];
        for (r, words) in bad {
            let e = gaussian_copula(&p, r).unwrap_err();
            assert!(e.contains(words), "{r:?}: {e}");
        }
    }

    /// Morris 1991: every trajectory moves each coordinate exactly once by
    /// ±Δ = p/(2(p−1)), the points stay on the p-level grid, and with p
    /// even all levels are used equally often.
    #[test]
    fn morris_trajectories_move_each_parameter_once() {
        let (r, d, p) = (400, 5, 4);
        let m = morris(r, d, p, 2).unwrap();
        assert_eq!(m.delta, 4.0 / 6.0);
        let mut count = vec![0usize; p];
        for t in 0..r {
            let mut moved = vec![false; d];
            for k in 0..d {
                let (a, b) = (
                    m.points.row(t * (d + 1) + k),
                    m.points.row(t * (d + 1) + k + 1),
                );
                let step = m.steps[t * d + k];
                for j in 0..d {
                    let change = b[j] - a[j];
                    if j == step.parameter {
                        let sign = if step.up { 1.0 } else { -1.0 };
                        assert!((change - sign * m.delta).abs() < 1e-15);
                    } else {
                        assert_eq!(change, 0.0);
                    }
                }
                assert!(!moved[step.parameter]);
                moved[step.parameter] = true;
            }
            for &x in m.points.row(t * (d + 1)) {
                let level = x * (p - 1) as f64;
                assert_eq!(level, level.round());
                count[level as usize] += 1;
            }
        }
        let expect = (r * d / p) as f64;
        for c in count {
            assert!(
                (c as f64 - expect).abs() < 4.0 * expect.sqrt(),
                "{c} vs {expect}"
            );
        }
        assert!(morris(3, 2, 5, 0).unwrap_err().contains("even"));
    }
}
