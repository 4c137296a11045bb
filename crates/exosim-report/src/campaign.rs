//! A campaign's folder, read and checked: what `exosim run CAMPAIGN` and
//! `exosim merge` write (`summary.json`, `campaign.csv` or
//! `campaign.parquet`, `sensitivity.csv`), never the model again.
//!
//! A campaign folder is often the merge of parts run elsewhere and copied
//! back, so [`CampaignDir::load`] checks it as [`crate::check`] checks a
//! run: a missing or truncated file, a table with fewer rows than the runs
//! the summary records, a column the summary lists but the table lacks, an
//! index of a parameter the campaign does not have — each is refused,
//! naming the file, the line and the column, before anything is drawn.

use std::path::{Path, PathBuf};

use exosim::output::{self, Manifest, Table, Writer};
use serde_json::Value;

use crate::check::{self, Json, Rule};
use crate::error::ReportError;
use crate::table::{LongTable, read_numeric};

/// The whole table as CSV (written while it has at most 100,000 rows).
pub const TABLE_CSV: &str = "campaign.csv";
/// The whole table as Parquet (always written).
pub const TABLE_PARQUET: &str = "campaign.parquet";
/// The sensitivity indices of Saltelli and Morris designs.
pub const INDICES_CSV: &str = "sensitivity.csv";

/// The columns every row of the table has before its parameters.
pub const ROW_COLUMNS: [&str; 4] = ["point", "row", "replicate", "seed"];

/// Observable kinds whose value (unit 1) is a share or a probability,
/// shown as a percentage.
const FRACTION_KINDS: [&str; 3] = [
    "fraction_of_dose",
    "fraction_delivered",
    "detection_probability",
];

/// A parameter or observable as `summary.json` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// Column name: a parameter's path or an observable's name.
    pub name: String,
    /// Unit: as written in the campaign for parameters, SI for observables.
    pub unit: String,
    /// What it is (observables: `kind: definition`).
    pub description: String,
}

impl Info {
    /// Whether the values are shares or probabilities (shown as %): an
    /// observable's description starts with its kind.
    pub fn is_fraction(&self) -> bool {
        let kind = self.description.split(':').next().unwrap_or("");
        (self.unit == "1" || self.unit.is_empty()) && FRACTION_KINDS.contains(&kind)
    }
}

/// The spread of an observable as the summary records it; `None` where
/// it wrote `null` (no run defined the value).
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    /// The observable.
    pub info: Info,
    /// Runs where it is defined.
    pub n: u64,
    /// mean, sd, min, p5, median, p95, max, in the file's (SI) unit.
    pub stats: [Option<f64>; 7],
}

/// Names of [`Spread::stats`], in order, as summary.json keys them.
pub const STATS: [&str; 7] = ["mean", "sd", "min", "p5", "median", "p95", "max"];

/// One row of `sensitivity.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    /// Observable.
    pub observable: String,
    /// Parameter path.
    pub parameter: String,
    /// `S1`, `ST` (Sobol) or `mu`, `mu_star`, `sigma` (Morris).
    pub index: String,
    /// Estimate.
    pub value: f64,
    /// Bootstrap half-width (NaN where none was computed).
    pub conf: f64,
    /// Bootstrap percentile interval (NaN for Morris).
    pub low: f64,
    /// Its upper end.
    pub high: f64,
}

/// The design as the summary records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// `grid`, `latin_hypercube`, `saltelli`, `morris`, ...
    pub method: String,
    /// Design rows (points before replicates).
    pub rows: u64,
    /// Runs per row.
    pub replicates: u64,
    /// The design's `[design]` table as recorded, for the page.
    pub record: Value,
}

impl Design {
    /// The index names a design of this method has, or none.
    pub fn index_names(&self) -> &'static [&'static str] {
        match self.method.as_str() {
            "saltelli" => &["S1", "ST"],
            "morris" => &["mu", "mu_star", "sigma"],
            _ => &[],
        }
    }
}

/// Everything a finished campaign folder holds, read and checked.
#[derive(Debug, Clone)]
pub struct CampaignDir {
    /// The folder.
    pub dir: PathBuf,
    /// `summary.json` as written.
    pub summary: Value,
    /// Campaign name.
    pub name: String,
    /// exosim version that wrote the summary.
    pub version: String,
    /// Digest of the study and campaign.
    pub fingerprint: String,
    /// Runs of the campaign.
    pub runs: u64,
    /// The design.
    pub design: Design,
    /// Parameters, in column order.
    pub parameters: Vec<Info>,
    /// Observables and their spread, in column order.
    pub observables: Vec<Spread>,
    /// Runs that failed.
    pub failed: u64,
    /// The first of them: (point, error).
    pub failures: Vec<(u64, String)>,
    /// Observables without indices, and why.
    pub skipped: Vec<(String, String)>,
    /// The file the rows were read from.
    pub table_file: PathBuf,
    /// One row per run.
    pub table: Table,
    /// `sensitivity.csv`, in file order.
    pub indices: Vec<Index>,
    /// The virtual trial, when the campaign ran one (docs/trials.md).
    pub trial: Option<crate::trial::Trial>,
}

/// Whether `dir` holds a campaign rather than a study run: its summary
/// names a campaign, or (no summary yet) its manifest, table or parts say
/// so, so that an unfinished campaign is refused as one.
pub fn is_campaign(dir: &Path) -> bool {
    let summary = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    if let Some(s) = summary {
        return s.get("campaign").is_some_and(Value::is_string) && s.get("study").is_none();
    }
    let by_campaign = Manifest::read(dir)
        .ok()
        .flatten()
        .is_some_and(|m| matches!(m.written_by, Writer::Campaign | Writer::Merge));
    by_campaign || dir.join(TABLE_PARQUET).is_file() || !parts(dir).is_empty()
}

/// The part records (`part-I-of-N.json`) of a shard's folder, sorted.
fn parts(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("part-") && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// `summary.json` of a campaign folder, or why there is none: a shard's
/// folder is told to merge first, an unfinished run to finish.
fn read_summary(dir: &Path) -> Result<Value, ReportError> {
    if !dir.is_dir() {
        return Err(ReportError::NotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    let path = dir.join("summary.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let found = parts(dir);
            let why = if found.is_empty() {
                "a campaign writes it last, after its table: the campaign did not finish \
                 (run the same command again to resume it)"
                    .to_string()
            } else {
                format!(
                    "this folder holds part of a campaign run in shards ({}); merge the parts \
                     first (`exosim merge DIR… -o OUT`), then make the report of OUT",
                    found.join(", ")
                )
            };
            return Err(ReportError::MissingFile { path, why });
        }
        Err(source) => return Err(output::OutputError::Io { path, source }.into()),
    };
    serde_json::from_str(&text).map_err(|source| ReportError::Json { path, source })
}

/// A parameter or observable entry of the summary.
fn info(j: &Json, v: &Value, at: &str) -> Result<Info, ReportError> {
    Ok(Info {
        name: j.string(v.get("name"), &format!("{at}.name"))?.to_string(),
        unit: j.string(v.get("unit"), &format!("{at}.unit"))?.to_string(),
        description: v
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    })
}

/// An observable's spread; `null` statistics are kept as `None`.
fn spread(j: &Json, v: &Value, at: &str) -> Result<Spread, ReportError> {
    let info = info(j, v, at)?;
    let n = j.number(v.get("n"), &format!("{at}.n"), Rule::AtLeast(0.0))? as u64;
    let mut stats = [None; 7];
    for (slot, key) in stats.iter_mut().zip(STATS) {
        *slot = j.optional(v.get(key), &format!("{at}.{key}"), Rule::Finite)?;
    }
    Ok(Spread { info, n, stats })
}

/// The design record: its method and size.
fn design(j: &Json, summary: &Value) -> Result<Design, ReportError> {
    let d = j.object(summary.get("design"), "design")?;
    Ok(Design {
        method: j.string(d.get("method"), "design.method")?.to_string(),
        rows: j.number(d.get("rows"), "design.rows", Rule::AtLeast(0.0))? as u64,
        replicates: j.number(d.get("replicates"), "design.replicates", Rule::AtLeast(1.0))? as u64,
        record: d.clone(),
    })
}

/// The failures the summary lists, (point, message).
fn failures(j: &Json, summary: &Value) -> Result<Vec<(u64, String)>, ReportError> {
    let list = j.array(summary.get("failures"), "failures")?;
    list.iter()
        .enumerate()
        .map(|(i, f)| {
            let at = |k: &str| format!("failures[{i}].{k}");
            let point = j.number(f.get("point"), &at("point"), Rule::AtLeast(0.0))? as u64;
            Ok((
                point,
                j.string(f.get("message"), &at("message"))?.to_string(),
            ))
        })
        .collect()
}

impl CampaignDir {
    /// Reads `dir`. Fails, naming the file (and the field, line or
    /// column), when `summary.json` is missing or broken, when the table
    /// is missing, truncated or lacks a column the summary lists, or when
    /// the indices do not match the campaign.
    pub fn load(dir: &Path) -> Result<Self, ReportError> {
        let summary = read_summary(dir)?;
        let path = dir.join("summary.json");
        let j = Json::new(&path);
        let list = |key: &str| j.array(summary.get(key), key);
        let parameters = (list("parameters")?.iter().enumerate())
            .map(|(i, v)| info(&j, v, &format!("parameters[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let observables = (list("observables")?.iter().enumerate())
            .map(|(i, v)| spread(&j, v, &format!("observables[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let skipped = j
            .object(summary.get("sensitivity_skipped"), "sensitivity_skipped")?
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let mut c = CampaignDir {
            dir: dir.to_path_buf(),
            name: j.string(summary.get("campaign"), "campaign")?.to_string(),
            version: j
                .string(summary.get("exosim_version"), "exosim_version")?
                .to_string(),
            fingerprint: j
                .string(summary.get("fingerprint"), "fingerprint")?
                .to_string(),
            runs: j.number(summary.get("runs"), "runs", Rule::AtLeast(1.0))? as u64,
            design: design(&j, &summary)?,
            failed: j.number(summary.get("failed"), "failed", Rule::AtLeast(0.0))? as u64,
            failures: failures(&j, &summary)?,
            parameters,
            observables,
            skipped,
            table_file: PathBuf::new(),
            table: Table::new(),
            indices: Vec::new(),
            trial: None,
            summary,
        };
        (c.table_file, c.table) = c.read_table()?;
        c.check_table()?;
        c.indices = c.read_indices()?;
        c.trial = crate::trial::load(dir, &c.summary)?;
        c.check_trial_columns()?;
        Ok(c)
    }

    /// The rows: `campaign.csv` when there is one (the file people open
    /// and copy), else `campaign.parquet`; as many as the summary's runs.
    fn read_table(&self) -> Result<(PathBuf, Table), ReportError> {
        let (csv, parquet) = (self.dir.join(TABLE_CSV), self.dir.join(TABLE_PARQUET));
        let (path, table) = if csv.is_file() {
            let t = read_numeric(&csv)?;
            (csv, t)
        } else if parquet.is_file() {
            let t = output::read_parquet(&parquet)?;
            (parquet, t)
        } else {
            return Err(ReportError::MissingFile {
                path: parquet,
                why: format!(
                    "summary.json records {} runs, and a campaign writes one row per run there",
                    self.runs
                ),
            });
        };
        if table.n_rows() as u64 != self.runs {
            return Err(ReportError::invalid(
                &path,
                format!(
                    "{} rows, but summary.json records {} runs (file truncated?)",
                    table.n_rows(),
                    self.runs
                ),
            ));
        }
        Ok((path, table))
    }

    /// Every column the summary lists is in the table; parameters are
    /// finite; `failed` is 0 or 1 and counts the summary's failures.
    fn check_table(&self) -> Result<(), ReportError> {
        let path = &self.table_file;
        // Data row i is line i + 2 of a CSV (the header is line 1); a
        // Parquet file has no lines to name.
        let csv = path.ends_with(TABLE_CSV);
        let line = |i: usize| csv.then_some(i + 2);
        let names = ROW_COLUMNS
            .iter()
            .map(|s| s.to_string())
            .chain(self.parameters.iter().map(|p| p.name.clone()))
            .chain(self.observables.iter().map(|o| o.info.name.clone()))
            .chain(["failed".to_string()]);
        for name in names {
            if self.table.column(&name).is_none() {
                let message = "missing: summary.json lists this column";
                return Err(check::invalid(path, csv.then_some(1), &name, message));
            }
        }
        for p in &self.parameters {
            let values = self.values(&p.name);
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                let why = format!("{} where the design gives a finite value", values[i]);
                return Err(check::invalid(path, line(i), &p.name, why));
            }
        }
        let failed = self.values("failed");
        if let Some(i) = failed.iter().position(|&v| v != 0.0 && v != 1.0) {
            let why = format!("{} where a run writes 0 or 1", failed[i]);
            return Err(check::invalid(path, line(i), "failed", why));
        }
        let n = failed.iter().filter(|&&v| v == 1.0).count() as u64;
        if n != self.failed {
            let why = format!("{n} failed runs, but summary.json records {}", self.failed);
            return Err(check::invalid(path, None, "failed", why));
        }
        Ok(())
    }

    /// A trial's endpoint of every arm is a column of the table
    /// (`trial.ARM`), which its per-subject figures read.
    fn check_trial_columns(&self) -> Result<(), ReportError> {
        let Some(t) = &self.trial else { return Ok(()) };
        for arm in t.all_arms() {
            let name = format!("trial.{arm}");
            if self.table.column(&name).is_none() {
                let why = "missing: summary.json has a trial with this arm";
                let line = self.table_file.ends_with(TABLE_CSV).then_some(1);
                return Err(check::invalid(&self.table_file, line, &name, why));
            }
        }
        Ok(())
    }

    /// The values of a column of the table (empty when absent).
    pub fn values(&self, name: &str) -> &[f64] {
        self.table
            .column(name)
            .map(|c| c.values.as_slice())
            .unwrap_or(&[])
    }

    /// `sensitivity.csv`, when the summary lists indices: every row names
    /// an observable and a parameter of the campaign and an index of its
    /// design, and the file has as many rows as the summary.
    fn read_indices(&self) -> Result<Vec<Index>, ReportError> {
        let summary_path = self.dir.join("summary.json");
        let j = Json::new(&summary_path);
        let listed = j
            .array(self.summary.get("sensitivity"), "sensitivity")?
            .len();
        let path = self.dir.join(INDICES_CSV);
        if listed == 0 {
            return Ok(Vec::new());
        }
        if !path.is_file() {
            return Err(ReportError::MissingFile {
                path,
                why: format!("summary.json lists {listed} sensitivity indices"),
            });
        }
        let t = LongTable::read(&path)?;
        if t.len() != listed {
            let why = format!(
                "{} rows, but summary.json lists {listed} indices (file truncated?)",
                t.len()
            );
            return Err(ReportError::invalid(&path, why));
        }
        (0..t.len()).map(|r| self.index_row(&t, r)).collect()
    }

    /// Row `r` of `sensitivity.csv`, checked against the campaign.
    fn index_row(&self, t: &LongTable, r: usize) -> Result<Index, ReportError> {
        let col = |name: &str| t.require(name);
        let (o, p, k) = (col("observable")?, col("parameter")?, col("index")?);
        let bad =
            |c: usize, why: String| check::invalid(&t.path, Some(t.line(r)), &t.headers[c], why);
        let observable = t.text(r, o).to_string();
        if !self.observables.iter().any(|x| x.info.name == observable) {
            return Err(bad(
                o,
                format!("`{observable}` is not an observable of the campaign"),
            ));
        }
        let parameter = t.text(r, p).to_string();
        if !self.parameters.iter().any(|x| x.name == parameter) {
            return Err(bad(
                p,
                format!("`{parameter}` is not a parameter of the campaign"),
            ));
        }
        let index = t.text(r, k).to_string();
        let allowed = self.design.index_names();
        if !allowed.contains(&index.as_str()) {
            let why = format!(
                "`{index}` is not an index of a {} design (expected: {})",
                self.design.method,
                allowed.join(", ")
            );
            return Err(bad(k, why));
        }
        let number = |name: &str| t.number(r, col(name)?);
        let value = number("value")?;
        if matches!(index.as_str(), "S1" | "ST" | "mu_star")
            && let Some(why) = Rule::Finite.broken(value)
        {
            return Err(bad(col("value")?, why));
        }
        Ok(Index {
            observable,
            parameter,
            index,
            value,
            conf: number("conf")?,
            low: number("low")?,
            high: number("high")?,
        })
    }

    /// The indices of one observable and one index name, in file order.
    pub fn index_of(&self, observable: &str, index: &str, parameter: &str) -> Option<&Index> {
        self.indices
            .iter()
            .find(|x| x.observable == observable && x.index == index && x.parameter == parameter)
    }
}
