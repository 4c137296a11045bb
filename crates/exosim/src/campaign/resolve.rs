//! A campaign file checked and turned into its points: the study it names,
//! the parameters with their laws, the design's table of values, the
//! observables resolved against the study.

// A study error carries everything a user needs to fix the file; it is
// built once, at the edge, so its size does not matter (as in `scenario`).
#![allow(clippy::result_large_err)]

use std::path::Path;

use super::abc::{self, Abc};
use super::calibration::{self, Calibration};
use super::design::{self, Morris, Points};
use super::distribution::Distribution;
use super::dose_response::DoseResponse;
use super::observable::{self, Observable};
use super::spec::{CampaignSpec, CorrelationSpec, DesignSpec, Method, ParameterSpec};
use super::trial::{self, Trial};
use crate::scenario::check::{Check, Res};
use crate::scenario::error::{KeyPath, Locator, StudyError};
use crate::scenario::{Override, ParamPath, Study, StudySource};
use crate::units;

/// Seeds of points, columns and JSON keep integers exactly below 2^53.
const SEED_MASK: u64 = (1 << 53) - 1;
/// Most runs one campaign may hold (points × replicates).
pub const MAX_RUNS: u64 = 100_000_000;

/// A campaign ready to run.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// Identifier.
    pub name: String,
    /// The study every point changes.
    pub source: StudySource,
    /// The study without changes (names of arms, classes, tests …).
    pub base: Study,
    /// Seed of the design and of the points' seeds.
    pub seed: u64,
    /// Runs per design row.
    pub replicates: u64,
    /// What varies.
    pub parameters: Vec<Parameter>,
    /// One row per design point: the parameters' values, in their units.
    pub values: Points,
    /// The sensitivity analysis the design was made for, if any.
    pub analysis: Analysis,
    /// What each point records.
    pub observables: Vec<Observable>,
    /// Bootstrap resamples and confidence level of the analysis.
    pub bootstrap: usize,
    /// Confidence level of intervals.
    pub confidence: f64,
    /// `method = "calibration"`: the data and how they are fitted.
    pub calibration: Option<Calibration>,
    /// `method = "abc_smc"`: the data, the priors and the sampler.
    pub abc: Option<Abc>,
    /// `[trial]`: the points are virtual subjects of simulated trials.
    pub trial: Option<Trial>,
    /// `[dose_response]`: Hill curves fitted at the merge.
    pub dose_response: Option<DoseResponse>,
    /// The campaign as written, for the run's record.
    pub spec: CampaignSpec,
    /// A digest of the study as resolved, the campaign and exosim's
    /// version: parts of one campaign, and only those, share it.
    pub fingerprint: String,
    /// Values fixed over the study for every point (`exosim run CAMPAIGN
    /// --set PATH=VALUE`), before the point's own: the same campaign on a
    /// changed study without a copied file. The resolved study, and so the
    /// fingerprint, include them.
    pub sets: Vec<Override>,
}

/// One varying value of the study.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Where in the study.
    pub path: ParamPath,
    /// The unit its values are written in (`nm`), empty for numbers.
    pub unit: String,
    /// Whether the study takes a whole number there (all values given
    /// as TOML integers).
    pub integer: bool,
    /// The law of a sampled design (`None` for grids and lists).
    pub law: Option<Distribution>,
}

impl Parameter {
    /// The override that puts `x` at the parameter's path.
    pub fn set(&self, x: f64) -> Override {
        let value = if self.integer {
            toml::Value::Integer(x as i64)
        } else if self.unit.is_empty() {
            toml::Value::Float(x)
        } else {
            toml::Value::String(format!("{} {}", units::exact_number(x), self.unit))
        };
        Override::new(self.path.clone(), value)
    }
}

/// What the points are analysed for once all have run.
#[derive(Debug, Clone)]
pub enum Analysis {
    /// Nothing: the table is the result.
    None,
    /// First- and total-order Sobol indices from Saltelli's rows.
    Sobol,
    /// Morris's elementary effects along the trajectories.
    Morris(Morris),
}

/// One run of a campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Position among all runs of the campaign.
    pub index: u64,
    /// Design row.
    pub row: u64,
    /// Replicate of the row, from 0.
    pub replicate: u64,
    /// The seed of the run, from (campaign seed, index) alone.
    pub seed: u64,
}

/// The numbers a `[[parameters]]` entry gives its law, in its unit.
#[derive(Debug, Clone, Copy)]
struct Given {
    low: Option<f64>,
    high: Option<f64>,
    mean: Option<f64>,
    sd: Option<f64>,
    cv: Option<f64>,
}

impl Campaign {
    /// Reads and checks a campaign file and the study it names.
    pub fn load(path: &Path) -> Result<Campaign, StudyError> {
        Campaign::load_with(path, &[])
    }

    /// As [`Campaign::load`], with `sets` fixed over the study for every
    /// point (see [`Campaign::sets`]).
    pub fn load_with(path: &Path, sets: &[Override]) -> Result<Campaign, StudyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StudyError {
            file: file.clone(),
            line: 1,
            column: 1,
            key: KeyPath::root().to_string(),
            message: format!("cannot read the campaign file: {e}"),
            hint: None,
            span: None,
        })?;
        Campaign::parse_with(&text, &file, sets)
    }

    /// A campaign from its text; `file` names it in errors and is where the
    /// study's relative path starts.
    pub fn parse(text: &str, file: &str) -> Result<Campaign, StudyError> {
        Campaign::parse_with(text, file, &[])
    }

    /// As [`Campaign::parse`], with `sets` fixed over the study.
    pub fn parse_with(text: &str, file: &str, sets: &[Override]) -> Result<Campaign, StudyError> {
        let loc = Locator::new(file, text);
        let spec: CampaignSpec = toml::from_str(text).map_err(|e| loc.from_toml(&e))?;
        Resolver {
            c: Check::new(&loc),
            sets,
        }
        .campaign(spec)
    }

    /// Runs in all: design rows × replicates.
    pub fn len(&self) -> u64 {
        self.values.n as u64 * self.replicates
    }

    /// Whether the campaign has no run.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The run at `index`.
    pub fn point(&self, index: u64) -> Point {
        Point {
            index,
            row: index / self.replicates,
            replicate: index % self.replicates,
            seed: point_seed(self.seed, index),
        }
    }

    /// The study of a point: the campaign's fixed values, then the
    /// parameters' values, set over the file.
    pub fn study(&self, point: &Point) -> Result<Study, StudyError> {
        let row = self.values.row(point.row as usize);
        let sets: Vec<Override> = (self.sets.iter().cloned())
            .chain(self.parameters.iter().zip(row).map(|(p, &x)| p.set(x)))
            .collect();
        let mut study = self.source.study(&sets)?;
        study.seed = point.seed;
        Ok(study)
    }
}

/// A point's seed: SplitMix64 of the campaign seed and the index, below
/// 2^53 (exact in a `f64` column and in JSON).
pub fn point_seed(seed: u64, index: u64) -> u64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    mix(seed ^ mix(index)) & SEED_MASK
}

/// FNV-1a, 64 bits: a digest that is the same on every machine.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

struct Resolver<'a, 't> {
    c: Check<'a, 't>,
    /// Values fixed over the study for every point.
    sets: &'a [Override],
}

impl Resolver<'_, '_> {
    /// The fixed values, then `more`.
    fn with_sets(&self, more: &[Override]) -> Vec<Override> {
        self.sets.iter().chain(more).cloned().collect()
    }

    fn campaign(&self, spec: CampaignSpec) -> Res<Campaign> {
        let root = KeyPath::root().key("campaign");
        self.c
            .identifier(&root.key("name"), &spec.campaign.name, "campaign")?;
        let source = self.study_source(&spec)?;
        let base = source
            .study(self.sets)
            .map_err(|e| self.in_study(&root.key("study"), e))?;
        let seed = spec.campaign.seed.unwrap_or(base.seed);
        let replicates = spec.campaign.replicates.unwrap_or(1);
        self.c.count_in(
            &root.key("replicates"),
            replicates,
            1,
            MAX_RUNS,
            "replicates",
        )?;
        let parameters = self.parameters(&spec)?;
        let (values, analysis) = self.design(&spec, &parameters, seed)?;
        let runs = values.n as u64 * replicates;
        if runs > MAX_RUNS {
            return self.c.err(
                &KeyPath::root().key("design"),
                format!("{runs} runs: a campaign holds at most {MAX_RUNS}"),
                Some("fewer points or replicates, or several campaigns".into()),
            );
        }
        self.check_points(&source, &parameters, &values)?;
        let trial = self.trial(&spec, &base, runs)?;
        let observables = self.observables(&spec, &base, trial.as_ref())?;
        let dose_response = self.dose_response(&spec, &observables)?;
        let (bootstrap, confidence) = self.intervals(&spec.design)?;
        let (calibration, abc) = self.fits(&spec, &base, &parameters, seed)?;
        let fingerprint = format!(
            "{:016x}",
            fnv1a(&[
                crate::run::fingerprint(&base).as_bytes(),
                serde_json::to_string(&spec).unwrap_or_default().as_bytes(),
                calibration.as_ref().map_or(b"", |c| c.data.text.as_bytes()),
                abc.as_ref().map_or(b"", |a| a.data.text.as_bytes()),
            ])
        );
        Ok(Campaign {
            name: spec.campaign.name.clone(),
            source,
            base,
            seed,
            replicates,
            parameters,
            values,
            analysis,
            observables,
            bootstrap,
            confidence,
            calibration,
            abc,
            trial,
            dose_response,
            spec,
            fingerprint,
            sets: self.sets.to_vec(),
        })
    }

    /// `[calibration]` and `[abc]`: a maximum-likelihood fit or an
    /// ABC-SMC posterior, each table only with its method.
    fn fits(
        &self,
        spec: &CampaignSpec,
        base: &Study,
        parameters: &[Parameter],
        seed: u64,
    ) -> Res<(Option<Calibration>, Option<Abc>)> {
        let laws: Vec<_> = parameters.iter().map(|p| p.law.as_ref()).collect();
        let method = spec.design.method;
        if spec.abc.is_some() && method != Method::AbcSmc {
            return self.c.err(
                &KeyPath::root().key("abc"),
                "an [abc] table without method = \"abc_smc\"",
                Some("set [design] method = \"abc_smc\", or remove the table".into()),
            );
        }
        match method {
            Method::Calibration => Ok((Some(calibration::resolve(&self.c, spec, base, &laws)?), None)),
            Method::AbcSmc => Ok((None, Some(abc::resolve(&self.c, spec, base, &laws, seed)?))),
            _ if spec.calibration.is_some() => self.c.err(
                &KeyPath::root().key("calibration"),
                "a [calibration] table without method = \"calibration\" or \"abc_smc\"",
                Some("set [design] method = \"calibration\" (maximum likelihood) or \"abc_smc\", or remove the table".into()),
            ),
            _ => Ok((None, None)),
        }
    }

    /// `[dose_response]`: the dose among the varied parameters, the
    /// observables among those recorded.
    fn dose_response(
        &self,
        spec: &CampaignSpec,
        observables: &[Observable],
    ) -> Res<Option<DoseResponse>> {
        let Some(d) = &spec.dose_response else {
            return Ok(None);
        };
        let at = KeyPath::root().key("dose_response");
        let paths: Vec<String> = spec.parameters.iter().map(|p| p.path.clone()).collect();
        let parameter = match (&d.parameter, paths.as_slice()) {
            (Some(p), _) => paths[self
                .c
                .name_in(&at.key("parameter"), p, &paths, "parameter")?]
            .clone(),
            (None, [only]) => only.clone(),
            (None, _) => {
                return self.c.err(
                    &at.key("parameter"),
                    "the campaign varies several parameters: name the dose",
                    Some(format!("one of: {}", paths.join(", "))),
                );
            }
        };
        let names: Vec<String> = observables.iter().map(|o| o.name.clone()).collect();
        let fitted = match &d.observables {
            Some(list) => {
                for (i, o) in list.iter().enumerate() {
                    self.c
                        .name_in(&at.key("observables").index(i), o, &names, "observable")?;
                }
                list.clone()
            }
            None => names,
        };
        Ok(Some(DoseResponse {
            parameter,
            observables: fitted,
        }))
    }

    /// `[trial]`, on a design that draws a population.
    fn trial(&self, spec: &CampaignSpec, base: &Study, runs: u64) -> Res<Option<Trial>> {
        let Some(t) = &spec.trial else {
            return Ok(None);
        };
        if !matches!(
            spec.design.method,
            Method::Random | Method::LatinHypercube | Method::Sobol
        ) {
            return self.c.err(
                &KeyPath::root().key("design").key("method"),
                "a trial draws its subjects from a virtual population",
                Some("use method = \"random\", \"latin_hypercube\" or \"sobol\"".into()),
            );
        }
        trial::resolve(&self.c, t, base, runs).map(Some)
    }

    /// The study file, relative to the campaign file.
    fn study_source(&self, spec: &CampaignSpec) -> Res<StudySource> {
        let at = KeyPath::root().key("campaign").key("study");
        let dir = Path::new(self.c.loc.file())
            .parent()
            .unwrap_or(Path::new("."));
        let path = dir.join(&spec.campaign.study);
        if !path.is_file() {
            return self.c.err(
                &at,
                format!("no study file at {}", path.display()),
                Some("the path is relative to the campaign file".into()),
            );
        }
        StudySource::load(&path).map_err(|e| self.in_study(&at, e))
    }

    /// An error of the study (or of a value set over it) seen from the
    /// campaign's key `at`: the study's own location stays in the message.
    fn in_study(&self, at: &KeyPath, e: StudyError) -> StudyError {
        self.c.loc.error(at, e.to_string(), None)
    }

    fn parameters(&self, spec: &CampaignSpec) -> Res<Vec<Parameter>> {
        let sampled = !matches!(spec.design.method, Method::Grid | Method::List);
        let mut seen: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for (i, p) in spec.parameters.iter().enumerate() {
            let at = KeyPath::root().key("parameters").index(i);
            if seen.contains(&p.path) {
                return self
                    .c
                    .err(&at.key("path"), format!("`{}` varies twice", p.path), None);
            }
            seen.push(p.path.clone());
            let path: ParamPath = p
                .path
                .parse()
                .or_else(|m: String| self.c.err(&at.key("path"), m, None))?;
            if let Some(set) = self.sets.iter().find(|s| s.path == path) {
                return self.c.err(
                    &at.key("path"),
                    format!("`{}` varies here and is fixed by --set {set}", p.path),
                    Some("drop the --set, or the parameter".into()),
                );
            }
            out.push(if sampled {
                self.sampled(&at, p, path)?
            } else {
                self.listed(&at, p, path)?
            });
        }
        if out.is_empty() {
            return self.c.err(
                &KeyPath::root(),
                "the campaign varies no parameter",
                Some("add a [[parameters]] table with a `path`".into()),
            );
        }
        Ok(out)
    }

    /// A parameter of a sampled design: its law.
    fn sampled(&self, at: &KeyPath, p: &ParameterSpec, path: ParamPath) -> Res<Parameter> {
        const LAWS: [&str; 4] = ["uniform", "log_uniform", "normal", "log_normal"];
        let Some(kind) = p.distribution.as_deref() else {
            return self.c.err(
                at,
                "a sampled design needs a `distribution`",
                Some(format!("one of: {}", LAWS.join(", "))),
            );
        };
        self.c.choice(&at.key("distribution"), kind, &LAWS)?;
        let mut unit = None;
        let mut q = |key: &str, v: &Option<toml::Value>| -> Res<Option<f64>> {
            v.as_ref()
                .map(|v| self.quantity(&at.key(key), v, &mut unit))
                .transpose()
        };
        let (low, high, mean, sd) = (
            q("low", &p.low)?,
            q("high", &p.high)?,
            q("mean", &p.mean)?,
            q("sd", &p.sd)?,
        );
        let given = [
            ("values", p.values.is_some()),
            ("mean", mean.is_some()),
            ("sd", sd.is_some()),
            ("cv", p.cv.is_some()),
        ];
        let allowed: &[&str] = match kind {
            "normal" => &["mean", "sd"],
            "log_normal" => &["mean", "cv"],
            _ => &[],
        };
        if let Some((key, _)) = given.iter().find(|(k, g)| *g && !allowed.contains(k)) {
            return self.c.err(
                &at.key(key),
                format!("`{key}` does not apply to a {kind} parameter"),
                None,
            );
        }
        let law = self.law(
            at,
            kind,
            Given {
                low,
                high,
                mean,
                sd,
                cv: p.cv,
            },
        )?;
        law.check()
            .or_else(|m| self.c.err(&at.key("distribution"), m, None))?;
        Ok(Parameter {
            path,
            unit: unit.unwrap_or_default(),
            integer: false,
            law: Some(law),
        })
    }

    /// The law of kind `kind` from the values `given`, truncated to `low`
    /// and `high` for the normal and log-normal ones.
    fn law(&self, at: &KeyPath, kind: &str, given: Given) -> Res<Distribution> {
        let need = |key: &str, v: Option<f64>| {
            v.ok_or_else(|| {
                self.c
                    .loc
                    .error(at, format!("a {kind} parameter needs `{key}`"), None)
            })
        };
        let Given {
            low,
            high,
            mean,
            sd,
            cv,
        } = given;
        // An open lower end is −∞ for a normal law, 0 for a log-normal one.
        let floor = if kind == "log_normal" {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        let truncate = |inner: Distribution| match (low, high) {
            (None, None) => inner,
            _ => Distribution::Truncated {
                inner: Box::new(inner),
                low: low.unwrap_or(floor),
                high: high.unwrap_or(f64::INFINITY),
            },
        };
        Ok(match kind {
            "uniform" => Distribution::Uniform {
                low: need("low", low)?,
                high: need("high", high)?,
            },
            "log_uniform" => Distribution::LogUniform {
                low: need("low", low)?,
                high: need("high", high)?,
            },
            "normal" => truncate(Distribution::Normal {
                mean: need("mean", mean)?,
                sd: need("sd", sd)?,
            }),
            _ => truncate(Distribution::LogNormal {
                mean: need("mean", mean)?,
                cv: need("cv", cv)?,
            }),
        })
    }

    /// A parameter of a grid or list: its `values`.
    fn listed(&self, at: &KeyPath, p: &ParameterSpec, path: ParamPath) -> Res<Parameter> {
        let Some(values) = &p.values else {
            return self.c.err(
                at,
                "a grid or list parameter needs `values`",
                Some("e.g. values = [\"50 nm\", \"100 nm\", \"200 nm\"]".into()),
            );
        };
        if values.is_empty() {
            return self.c.err(&at.key("values"), "no values", None);
        }
        let mut unit = None;
        for (j, v) in values.iter().enumerate() {
            self.quantity(&at.key("values").index(j), v, &mut unit)?;
        }
        Ok(Parameter {
            path,
            unit: unit.unwrap_or_default(),
            integer: values.iter().all(toml::Value::is_integer),
            law: None,
        })
    }

    /// A number, or a quantity written as text: its value, and its unit
    /// checked against (or recorded in) `unit`.
    fn quantity(&self, at: &KeyPath, v: &toml::Value, unit: &mut Option<String>) -> Res<f64> {
        let (x, u) = match v {
            toml::Value::Integer(i) => (*i as f64, String::new()),
            toml::Value::Float(x) => (*x, String::new()),
            toml::Value::String(s) => match units::split_number(s.trim()) {
                Some((x, rest)) => (x, rest.trim().to_string()),
                None => {
                    return self.c.err(
                        at,
                        format!("`{s}` is not a number with a unit"),
                        Some("write a quantity as the study does, e.g. \"150 nm\"".into()),
                    );
                }
            },
            other => {
                return self.c.err(
                    at,
                    format!("{} is not a number or a quantity", other.type_str()),
                    None,
                );
            }
        };
        self.c.finite(at, x)?;
        match unit {
            Some(known) if *known != u => self.c.err(
                at,
                format!("unit `{u}` differs from `{known}` in the same parameter"),
                Some("write every value of one parameter in the same unit".into()),
            ),
            _ => {
                *unit = Some(u);
                Ok(x)
            }
        }
    }

    fn intervals(&self, d: &DesignSpec) -> Res<(usize, f64)> {
        let at = KeyPath::root().key("design");
        let bootstrap = d.bootstrap.unwrap_or(1000);
        self.c
            .count_in(&at.key("bootstrap"), bootstrap, 2, 1_000_000, "resamples")?;
        let confidence = d.confidence.unwrap_or(0.95);
        if !(confidence > 0.0 && confidence < 1.0) {
            return self.c.err(
                &at.key("confidence"),
                format!("{confidence} is not a level between 0 and 1"),
                Some("e.g. 0.95".into()),
            );
        }
        Ok((bootstrap as usize, confidence))
    }

    fn observables(
        &self,
        spec: &CampaignSpec,
        base: &Study,
        trial: Option<&Trial>,
    ) -> Res<Vec<Observable>> {
        let mut out: Vec<Observable> = Vec::new();
        let own = trial.map_or(Vec::new(), |t| {
            t.all_arms()
                .into_iter()
                .flat_map(|a| t.observables(a))
                .collect()
        });
        for o in &own {
            out.push(observable::resolve(
                o,
                base,
                self.c.loc,
                &KeyPath::root().key("trial"),
            )?);
        }
        for (i, o) in spec.observables.iter().enumerate() {
            let at = KeyPath::root().key("observables").index(i);
            let resolved = observable::resolve(o, base, self.c.loc, &at)?;
            if out.iter().any(|p| p.name == resolved.name) {
                return self.c.err(
                    &at.key("name"),
                    format!("`{}` is recorded twice", resolved.name),
                    None,
                );
            }
            if spec.parameters.iter().any(|p| p.path == resolved.name) {
                return self.c.err(
                    &at.key("name"),
                    "an observable is named like a parameter",
                    None,
                );
            }
            out.push(resolved);
        }
        if out.is_empty() && !matches!(spec.design.method, Method::Calibration | Method::AbcSmc) {
            return self.c.err(
                &KeyPath::root(),
                "the campaign records no observable",
                Some("add an [[observables]] table (docs/observables.md)".into()),
            );
        }
        Ok(out)
    }

    /// Every value a grid or list takes, each parameter alone, and the first
    /// design point whole: a wrong path or unit is found before any run,
    /// located at the parameter that sets it.
    fn check_points(&self, source: &StudySource, params: &[Parameter], values: &Points) -> Res<()> {
        for (j, p) in params.iter().enumerate() {
            let at = KeyPath::root().key("parameters").index(j);
            let mut column = values.column(j);
            column.sort_by(f64::total_cmp);
            column.dedup();
            let probe: Vec<f64> = match p.law {
                None => column,
                Some(_) => vec![column[0], column[column.len() - 1]],
            };
            for x in probe {
                source
                    .study(&self.with_sets(&[p.set(x)]))
                    .map_err(|e| self.in_study(&at.key("path"), e))?;
            }
        }
        let first: Vec<Override> = params
            .iter()
            .zip(values.row(0))
            .map(|(p, &x)| p.set(x))
            .collect();
        source
            .study(&self.with_sets(&first))
            .map(|_| ())
            .map_err(|e| self.in_study(&KeyPath::root().key("parameters"), e))
    }

    fn design(
        &self,
        spec: &CampaignSpec,
        params: &[Parameter],
        seed: u64,
    ) -> Res<(Points, Analysis)> {
        let at = KeyPath::root().key("design");
        let d = params.len();
        let method = spec.design.method;
        if !spec.correlations.is_empty()
            && !matches!(
                method,
                Method::Random | Method::LatinHypercube | Method::Sobol
            )
        {
            return self.c.err(
                &KeyPath::root().key("correlations"),
                "correlations apply to random, latin_hypercube and sobol designs",
                Some("sensitivity designs assume independent parameters".into()),
            );
        }
        let n = || -> Res<usize> {
            let points = spec.design.points.ok_or_else(|| {
                self.c.loc.error(
                    &at,
                    "this design needs `points`",
                    Some("e.g. points = 256".into()),
                )
            })?;
            self.c
                .count_in(&at.key("points"), points, 1, MAX_RUNS, "points")?;
            Ok(points as usize)
        };
        let fail = |m: String| self.c.loc.error(&at, m, None);
        let unit = match method {
            Method::Grid => return Ok((self.grid_values(spec, params, false)?, Analysis::None)),
            Method::List => return Ok((self.grid_values(spec, params, true)?, Analysis::None)),
            Method::Random => design::random(n()?, d, seed),
            Method::LatinHypercube => design::latin_hypercube(n()?, d, seed),
            // One point at the middle of the box: the checks of the
            // parameters' paths run on it; the search makes its own points.
            Method::Calibration | Method::AbcSmc => Points {
                n: 1,
                d,
                values: vec![0.5; d],
            },
            Method::Sobol => design::sobol(n()?, d, seed).map_err(fail)?,
            Method::Saltelli => {
                let unit = design::saltelli(n()?, d, seed).map_err(fail)?;
                return Ok((self.marginals(&unit, params)?, Analysis::Sobol));
            }
            Method::Morris => {
                self.bounded(spec, params)?;
                let levels = spec.design.levels.unwrap_or(4);
                let m = design::morris(n()?, d, levels as usize, seed)
                    .map_err(|m| self.c.loc.error(&at.key("levels"), m, None))?;
                return Ok((self.marginals(&m.points, params)?, Analysis::Morris(m)));
            }
        };
        let unit = self.correlated(unit, spec, params)?;
        Ok((self.marginals(&unit, params)?, Analysis::None))
    }

    /// Morris's grid reaches 0 and 1: every law must have finite bounds.
    fn bounded(&self, spec: &CampaignSpec, params: &[Parameter]) -> Res<()> {
        for (j, p) in params.iter().enumerate() {
            let law = p.law.as_ref().expect("sampled parameters have a law");
            if !(law.quantile(0.0).is_finite() && law.quantile(1.0).is_finite()) {
                return self.c.err(
                    &KeyPath::root()
                        .key("parameters")
                        .index(j)
                        .key("distribution"),
                    format!(
                        "`{}`: Morris's grid needs bounded laws",
                        spec.parameters[j].path
                    ),
                    Some("use uniform or log_uniform, or truncate with low and high".into()),
                );
            }
        }
        Ok(())
    }

    fn marginals(&self, unit: &Points, params: &[Parameter]) -> Res<Points> {
        let laws: Vec<Distribution> = params
            .iter()
            .map(|p| p.law.clone().expect("sampled parameters have a law"))
            .collect();
        design::quantiles(unit, &laws).map_err(|m| {
            self.c
                .loc
                .error(&KeyPath::root().key("parameters"), m, None)
        })
    }

    fn correlated(&self, unit: Points, spec: &CampaignSpec, params: &[Parameter]) -> Res<Points> {
        if spec.correlations.is_empty() {
            return Ok(unit);
        }
        let d = params.len();
        let mut r = vec![0.0; d * d];
        (0..d).for_each(|i| r[i * d + i] = 1.0);
        for (k, c) in spec.correlations.iter().enumerate() {
            let (a, b) = self.pair(k, c, params)?;
            r[a * d + b] = c.r;
            r[b * d + a] = c.r;
        }
        design::gaussian_copula(&unit, &r).map_err(|m| {
            self.c
                .loc
                .error(&KeyPath::root().key("correlations"), m, None)
        })
    }

    fn pair(&self, k: usize, c: &CorrelationSpec, params: &[Parameter]) -> Res<(usize, usize)> {
        let at = KeyPath::root().key("correlations").index(k);
        let names: Vec<String> = params.iter().map(|p| p.path.to_string()).collect();
        let a = self.c.name_in(
            &at.key("between").index(0),
            &c.between[0],
            &names,
            "parameter",
        )?;
        let b = self.c.name_in(
            &at.key("between").index(1),
            &c.between[1],
            &names,
            "parameter",
        )?;
        if a == b {
            return self
                .c
                .err(&at.key("between"), "a parameter with itself", None);
        }
        if !(c.r > -1.0 && c.r < 1.0) {
            return self
                .c
                .err(&at.key("r"), format!("{} is not in (−1, 1)", c.r), None);
        }
        Ok((a, b))
    }

    fn grid_values(&self, spec: &CampaignSpec, params: &[Parameter], list: bool) -> Res<Points> {
        let mut columns: Vec<Vec<f64>> = Vec::new();
        for (j, p) in spec.parameters.iter().enumerate() {
            let at = KeyPath::root().key("parameters").index(j).key("values");
            let mut unit = Some(params[j].unit.clone());
            let values = p.values.as_deref().unwrap_or_default();
            let xs = values
                .iter()
                .enumerate()
                .map(|(i, v)| self.quantity(&at.index(i), v, &mut unit))
                .collect::<Res<Vec<f64>>>()?;
            if list && !columns.is_empty() && xs.len() != columns[0].len() {
                let n0: &Vec<f64> = &columns[0];
                return self.c.err(
                    &at,
                    format!(
                        "{} values, but the first parameter has {}",
                        xs.len(),
                        n0.len()
                    ),
                    Some("a list design takes one value per point from every parameter".into()),
                );
            }
            columns.push(xs);
        }
        if list {
            let n = columns[0].len();
            let d = columns.len();
            let values = (0..n)
                .flat_map(|i| columns.iter().map(move |c| c[i]))
                .collect();
            return Ok(Points { n, d, values });
        }
        let size: u128 = columns.iter().map(|c| c.len() as u128).product();
        if size > MAX_RUNS as u128 {
            return self.c.err(
                &KeyPath::root().key("design"),
                format!("the grid has {size} points, more than {MAX_RUNS}"),
                Some("fewer values, or a sampled design".into()),
            );
        }
        Ok(design::grid(&columns))
    }
}
