//! What the figures of a campaign's pages draw, shared by the campaign
//! page and the trial section: how many runs a plot draws and which, the
//! unit an observable or a parameter is shown in, the bins of a histogram.

use crate::campaign::{Info, Spread};
use crate::format::{self, Scale};

/// Most runs one scatter plot draws (5000 points are about 100 kB of JSON).
pub const MAX_SCATTER_POINTS: usize = 5000;

/// Most points all the scatter plots of a page draw together, so that a
/// campaign of many parameters and observables still gives a page that
/// opens quickly; each plot draws at least [`MIN_SCATTER_POINTS`].
pub const MAX_PAGE_POINTS: usize = 60_000;

/// Fewest runs a scatter plot draws (all of them, when fewer).
pub const MIN_SCATTER_POINTS: usize = 500;

/// How many runs each of `plots` scatter plots draws.
pub fn scatter_cap(plots: usize) -> usize {
    (MAX_PAGE_POINTS / plots.max(1)).clamp(MIN_SCATTER_POINTS, MAX_SCATTER_POINTS)
}

/// Most bins of a histogram.
const MAX_BINS: usize = 50;

/// The unit an observable is shown in, chosen for its median.
pub fn observable_scale(o: &Spread) -> Scale {
    format::scale(
        &o.info.unit,
        o.info.is_fraction(),
        o.stats[4].unwrap_or(f64::NAN),
    )
}

/// A parameter is shown in the unit its campaign file wrote it in.
pub fn parameter_scale(p: &Info) -> Scale {
    let unit = if p.unit == "1" { "" } else { p.unit.as_str() };
    Scale {
        unit: unit.to_string(),
        factor: 1.0,
    }
}

/// Equal bins over the finite values (Rice's rule, 2·n^⅓ bins, at most
/// [`MAX_BINS`]): (edges, counts). A single value gets one bin around it.
pub fn bins(values: &[f64]) -> Option<(Vec<f64>, Vec<u64>)> {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        return None;
    }
    if hi <= lo {
        let half = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        return Some((vec![lo - half, lo + half], vec![v.len() as u64]));
    }
    // The tolerance keeps a whole 2·n^⅓ (n = 1000) from rounding up a bin.
    let k = ((2.0 * (v.len() as f64).cbrt() - 1e-9).ceil() as usize).clamp(1, MAX_BINS);
    let width = (hi - lo) / k as f64;
    let edges: Vec<f64> = (0..=k).map(|i| lo + width * i as f64).collect();
    let mut counts = vec![0u64; k];
    for x in v {
        counts[(((x - lo) / width) as usize).min(k - 1)] += 1;
    }
    Some((edges, counts))
}

/// A bijective mix of 64 bits (SplitMix64's finaliser).
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The rows a scatter plot draws: every row up to `cap`; beyond, the
/// `cap` rows with the smallest hash of their number, in row order. A
/// hash rather than a stride, so that a design's own period (Saltelli's
/// d + 2 rows per base row) cannot alias into drawing one kind of row.
pub fn sample_rows(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap {
        return (0..n).collect();
    }
    let mut rows: Vec<usize> = (0..n).collect();
    rows.sort_by_key(|&i| mix(i as u64));
    rows.truncate(cap);
    rows.sort_unstable();
    rows
}
