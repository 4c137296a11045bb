//! `Campaign` and `merge`: a campaign's folder written as `exosim run
//! CAMPAIGN`, `--shard I/N` and `exosim merge` write it, so that shards
//! run from Python (or Dask, or Slurm) merge with those of the command line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use exosim::campaign::abc::run as abc;
use exosim::campaign::calibration::run as calibration;
use exosim::campaign::merge::{self as merging, MERGED_FILES};
use exosim::campaign::{self as cmp, Campaign, Shard};
use exosim::output::{self, Manifest, OutputError, Reuse, Writer};
use exosim::scenario::{Override, ParamPath};
use pyo3::prelude::*;

use crate::errors::{self, Kind};
use crate::interrupt::{self, Cancel};

/// `(path, JSON value)` pairs as the study's overrides; a path that does
/// not parse or a value TOML cannot hold is a `CampaignError`.
fn overrides(sets: &[(String, String)]) -> PyResult<Vec<Override>> {
    sets.iter()
        .map(|(path, json)| {
            let bad = |m: String| errors::CampaignError::new_err(format!("set {path}: {m}"));
            let at: ParamPath = path.parse().map_err(bad)?;
            let value: serde_json::Value =
                serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
            let value = toml::Value::try_from(value)
                .map_err(|e| bad(format!("not a study value: {e} (TOML has no null)")))?;
            Ok(Override::new(at, value))
        })
        .collect()
}

/// A campaign file and the study it names, checked.
#[pyclass(module = "exosim._exosim", frozen)]
pub struct NativeCampaign {
    campaign: Arc<Campaign>,
}

#[pymethods]
impl NativeCampaign {
    /// Reads and checks a campaign file (its study path starts from its
    /// folder), with `sets` (path, value in JSON) fixed in its study for
    /// every point, as `exosim run CAMPAIGN --set PATH=VALUE` does.
    #[staticmethod]
    #[pyo3(signature = (path, sets = Vec::new()))]
    fn from_path(path: PathBuf, sets: Vec<(String, String)>) -> PyResult<Self> {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let sets = overrides(&sets)?;
        let campaign = Campaign::load_with(&path, &sets)
            .map_err(|e| errors::located(Kind::Campaign, &e, &text))?;
        Ok(Self::new(campaign))
    }

    /// Campaign text named `file` (whose folder is where its study path
    /// starts), with `sets` as for `from_path`.
    #[staticmethod]
    #[pyo3(signature = (text, file = "<string>", sets = Vec::new()))]
    fn from_text(text: &str, file: &str, sets: Vec<(String, String)>) -> PyResult<Self> {
        let sets = overrides(&sets)?;
        let campaign = Campaign::parse_with(text, file, &sets)
            .map_err(|e| errors::located(Kind::Campaign, &e, text))?;
        Ok(Self::new(campaign))
    }

    /// The campaign's name.
    #[getter]
    fn name(&self) -> String {
        self.campaign.name.clone()
    }

    /// Runs in all (design points × replicates).
    #[getter]
    fn runs(&self) -> u64 {
        self.campaign.len()
    }

    /// Whether it is a calibration (a fit to data rather than points):
    /// maximum likelihood or ABC-SMC.
    #[getter]
    fn is_calibration(&self) -> bool {
        self.campaign.calibration.is_some() || self.campaign.abc.is_some()
    }

    /// Runs the whole campaign into `dir` and merges it there (or fits a
    /// calibration); returns the summary in JSON. A folder holding this
    /// campaign's interrupted run resumes it, as on the command line.
    #[pyo3(signature = (dir, threads = None, force = false, progress = None))]
    fn run(
        &self,
        py: Python<'_>,
        dir: PathBuf,
        threads: Option<usize>,
        force: bool,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let campaign = self.campaign.clone();
        interrupt::run(py, threads, progress, move |cancel| {
            let json = if campaign.abc.is_some() {
                sample_abc(&campaign, &dir, force, cancel).map(|r| serde_json::to_string(&r))
            } else if campaign.calibration.is_some() {
                calibrate(&campaign, &dir, force, cancel).map(|r| serde_json::to_string(&r))
            } else {
                run_points(&campaign, &dir, None, force, cancel)
            };
            json.map_err(errors::campaign)?.map_err(errors::other)
        })
    }

    /// Runs shard `index` of `count` (from 1) into `dir`, writing its part
    /// for `merge`; returns the part's record in JSON.
    #[pyo3(signature = (index, count, dir, threads = None, force = false, progress = None))]
    #[allow(clippy::too_many_arguments)] // Python's keyword arguments
    fn run_shard(
        &self,
        py: Python<'_>,
        index: u64,
        count: u64,
        dir: PathBuf,
        threads: Option<usize>,
        force: bool,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        if !(1..=count).contains(&index) {
            return Err(errors::CampaignError::new_err(format!(
                "shard {index}/{count}: a shard is I/N with 1 ≤ I ≤ N (e.g. 3/16)"
            )));
        }
        if self.campaign.calibration.is_some() || self.campaign.abc.is_some() {
            return Err(errors::CampaignError::new_err(
                "a calibration runs whole: its starts (or generations) share one state",
            ));
        }
        let campaign = self.campaign.clone();
        let shard = Shard { index, count };
        interrupt::run(py, threads, progress, move |cancel| {
            run_points(&campaign, &dir, Some(shard), force, cancel)
                .map_err(errors::campaign)?
                .map_err(errors::other)
        })
    }
}

impl NativeCampaign {
    fn new(campaign: Campaign) -> Self {
        NativeCampaign {
            campaign: Arc::new(campaign),
        }
    }
}

/// How a folder may be used: this command's own journal there resumes it;
/// otherwise refused when not empty, unless `force` (as `exosim run`).
fn reuse(dir: &Path, journal: &str, force: bool) -> Reuse {
    let ours = Manifest::read(dir)
        .ok()
        .flatten()
        .is_some_and(|m| m.written_by == Writer::Campaign);
    if force {
        Reuse::Replace
    } else if ours && dir.join(journal).is_file() {
        Reuse::Resume
    } else {
        Reuse::Refuse
    }
}

/// The files a run of `shard` (or of the whole campaign) writes.
fn planned(shard: Option<Shard>) -> Vec<String> {
    let part = shard.unwrap_or(Shard::WHOLE);
    let mut files = vec![part.file("jsonl")];
    files.extend(["parquet", "json"].map(|e| part.file(e)));
    if shard.is_none() {
        files.extend(MERGED_FILES.map(String::from));
    }
    files
}

/// `exosim run CAMPAIGN -o DIR [--shard I/N]`: the part, and for the whole
/// campaign the merged files; the summary (or the part's record) in JSON.
fn run_points(
    campaign: &Campaign,
    dir: &Path,
    shard: Option<Shard>,
    force: bool,
    cancel: &Cancel,
) -> Result<serde_json::Result<String>, OutputError> {
    let journal = shard.unwrap_or(Shard::WHOLE).file("jsonl");
    output::prepare_output(dir, reuse(dir, &journal, force))?;
    let files = planned(shard);
    Manifest::new(Writer::Campaign, files.clone()).write(dir)?;
    let tell = |done: u64, total: u64| cancel.tell(done as f64 / total.max(1) as f64);
    let json = match shard {
        Some(s) => {
            cmp::runner::run_shard(campaign, s, dir, tell).map(|r| serde_json::to_string(&r))
        }
        None => cmp::run_whole(campaign, dir, tell).map(|s| serde_json::to_string(&s)),
    }?;
    let written: Vec<String> = files.into_iter().filter(|f| dir.join(f).exists()).collect();
    Manifest::new(Writer::Campaign, written).write(dir)?;
    Ok(json)
}

/// `exosim run CALIBRATION -o DIR`: the fit, resumed from the saved starts
/// of an interrupted run in `dir`.
fn calibrate(
    campaign: &Campaign,
    dir: &Path,
    force: bool,
    cancel: &Cancel,
) -> Result<calibration::Report, OutputError> {
    output::prepare_output(dir, reuse(dir, calibration::STATE_FILE, force))?;
    let written = campaign
        .calibration
        .as_ref()
        .map(calibration::files)
        .unwrap_or_default();
    let mut files = vec![calibration::STATE_FILE.to_string()];
    files.extend(written.iter().cloned());
    Manifest::new(Writer::Campaign, files).write(dir)?;
    let report = calibration::calibrate(campaign, dir, |done, total| {
        cancel.tell(done as f64 / total.max(1) as f64)
    })?;
    Manifest::new(Writer::Campaign, written).write(dir)?;
    Ok(report)
}

/// `exosim run ABC_CAMPAIGN -o DIR`: the sampler, resumed after the
/// generations an interrupted run saved in `dir`.
fn sample_abc(
    campaign: &Campaign,
    dir: &Path,
    force: bool,
    cancel: &Cancel,
) -> Result<abc::Report, OutputError> {
    output::prepare_output(dir, reuse(dir, abc::STATE_FILE, force))?;
    let written: Vec<String> = abc::FILES.map(String::from).to_vec();
    let mut files = vec![abc::STATE_FILE.to_string()];
    files.extend(written.iter().cloned());
    Manifest::new(Writer::Campaign, files).write(dir)?;
    let report = abc::calibrate(campaign, dir, |done, total| {
        cancel.tell(done as f64 / total.max(1) as f64)
    })?;
    Manifest::new(Writer::Campaign, written).write(dir)?;
    Ok(report)
}

/// Merges the parts in `dirs` into `out` as `exosim merge DIRS -o OUT`
/// does; returns the merged summary in JSON.
#[pyfunction]
#[pyo3(signature = (dirs, out, force = false))]
pub fn merge(py: Python<'_>, dirs: Vec<PathBuf>, out: PathBuf, force: bool) -> PyResult<String> {
    let reuse = if force { Reuse::Replace } else { Reuse::Refuse };
    let summary = py
        .detach(|| errors::no_panic(|| merge_into(&dirs, &out, reuse).map_err(errors::campaign)))?;
    serde_json::to_string(&summary).map_err(errors::other)
}

/// `exosim merge`'s steps: the parts checked before the folder is made (a
/// refused merge leaves nothing), merged, then the manifest.
fn merge_into(dirs: &[PathBuf], out: &Path, reuse: Reuse) -> Result<merging::Summary, OutputError> {
    merging::find_parts(dirs)?;
    output::prepare_output(out, reuse)?;
    let summary = merging::merge(dirs, out)?;
    let written: Vec<String> = MERGED_FILES
        .iter()
        .filter(|f| out.join(f).exists())
        .map(|f| f.to_string())
        .collect();
    Manifest::new(Writer::Merge, written).write(out)?;
    Ok(summary)
}
