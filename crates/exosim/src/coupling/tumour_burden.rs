//! The tissue engine's tumour as the biopsy's tumour burden: the study's
//! `[tissue]` is run with the study seed (alone, as its own outputs are),
//! the count of one cell type is averaged over the replicates of one
//! variant and scaled to real cells, and the biopsy's tests follow it.

use super::tissue_section::{self, ReplicateRun};
use crate::biopsy::burden::{TabulatedBurden, TissueBurdenReport};
use crate::biopsy::study::{self, BiopsyRunError, BiopsyStudy, TestResult, TissueBurdenSource};
use crate::tissue::model::TissueModel;

/// Runs every test of `biopsy`; a tumour that follows the tissue's count
/// first runs `tissue` (the study's `[tissue]`) with `seed`.
pub fn run_biopsy(
    biopsy: &BiopsyStudy,
    tissue: Option<&TissueModel>,
    seed: u64,
    progress: &(dyn Fn(f64) + Sync),
) -> Result<Vec<TestResult>, BiopsyRunError> {
    let burden = match (&biopsy.tissue_burden, tissue) {
        (Some(source), Some(model)) => Some(burden(model, source, seed)?),
        (Some(_), None) => {
            return Err(BiopsyRunError::Burden(
                "the tumour follows the tissue's count, but the study has no `[tissue]`".into(),
            ));
        }
        (None, _) => None,
    };
    study::run(biopsy, seed, burden, progress)
}

/// Simulates `model` with `seed` (the same runs as the study's own
/// `[tissue]` outputs) and tabulates the replicate-mean burden of `source`.
pub fn burden(
    model: &TissueModel,
    source: &TissueBurdenSource,
    seed: u64,
) -> Result<(TabulatedBurden, TissueBurdenReport), BiopsyRunError> {
    let runs = tissue_section::run(model, seed).map_err(|e| BiopsyRunError::Tissue(Box::new(e)))?;
    tabulate(&runs, source).map_err(BiopsyRunError::Burden)
}

/// The replicate mean of `cells_<cell_type>` in the runs of the source's
/// variant, times its cells per simulated cell. Errors in words when no
/// run or no frame matches, or when the tail cannot be fitted.
pub fn tabulate(
    runs: &[ReplicateRun],
    source: &TissueBurdenSource,
) -> Result<(TabulatedBurden, TissueBurdenReport), String> {
    let (variant, cell_type) = (&source.variant, &source.cell_type);
    let column = format!("cells_{cell_type}");
    let of: Vec<&ReplicateRun> = runs.iter().filter(|r| &r.variant == variant).collect();
    let first = of
        .first()
        .ok_or_else(|| format!("the tissue engine ran no replicate of variant `{variant}`"))?;
    let times: Vec<f64> = first.record.rows.iter().map(|r| r[0]).collect();
    let mut cells = vec![0.0; times.len()];
    for r in &of {
        let series = r
            .record
            .series(&column)
            .ok_or_else(|| format!("the tissue record has no column `{column}`"))?;
        if series.len() != times.len() {
            return Err("the tissue replicates recorded different frames".into());
        }
        for (c, x) in cells.iter_mut().zip(series) {
            *c += x;
        }
    }
    let scale = source.cells_per_simulated_cell;
    let n = of.len() as f64;
    for c in &mut cells {
        *c *= scale / n;
    }
    let burden = TabulatedBurden::from_frames(times, cells, source.extrapolate)?;
    let report = TissueBurdenReport {
        cell_type: cell_type.clone(),
        variant: variant.clone(),
        replicates: of.len(),
        cells_per_simulated_cell: scale,
        span_s: burden.span(),
        initial_cells: burden.initial_cells(),
        final_cells: *burden.cells.last().expect("two frames"),
        extrapolate: source.extrapolate,
        extrapolation_rate_per_s: burden.tail_rate,
        extrapolation_doubling_time_s: burden
            .tail_rate
            .filter(|&r| r > 0.0)
            .map(|r| std::f64::consts::LN_2 / r),
    };
    Ok((burden, report))
}
