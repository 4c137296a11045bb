//! The `exosim` command.
//!
//! Exit codes: 0 success; 1 the run or the writing of results failed;
//! 2 the command line or the study file is invalid.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod abc;
mod campaign;
mod export;
mod fit_folder;
mod progress;

use exosim::body::model::Organ;
use exosim::body::pbpk::Place;
use exosim::campaign::Shard;
use exosim::coupling::tissue_section::Saving;
use exosim::output::{Checkpoints, Manifest, Reuse, Writer};
use exosim::run::{self, RunResult};
use exosim::scenario::{self, Override, Study, StudyError};
use exosim::units::{Dimension, format_human};
use progress::Progress;

/// Simulate extracellular vesicles: release, circulation, biodistribution.
#[derive(Parser)]
#[command(name = "exosim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded default study: small EVs in a mouse, natural, with a
    /// CD47 coat, and in a macrophage-depleted mouse.
    Demo {
        /// Output directory.
        #[arg(short, long, default_value = "results/demo")]
        output: PathBuf,
        #[command(flatten)]
        opts: RunOpts,
    },
    /// Run a study file.
    Run {
        /// Study file (TOML).
        file: PathBuf,
        /// Output directory (created if missing).
        #[arg(short, long)]
        output: PathBuf,
        /// Set a value of the study, as if written in the file: a path
        /// that names it (`vesicles.sEV.diameter`, `doses[0].amount`) and
        /// a value with its unit (`--set vesicles.sEV.diameter="150 nm"`).
        /// Repeatable; applied in order, then checked like the file. For a
        /// campaign, set in its study for every point (not on a path the
        /// campaign varies).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<Override>,
        /// For a campaign file: run only shard I of N (`--shard 3/16`),
        /// writing its part for `exosim merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        #[command(flatten)]
        opts: RunOpts,
    },
    /// Merge the parts of a campaign run in shards (`exosim run CAMPAIGN
    /// --shard I/N`) into its whole table, summary and sensitivity indices.
    Merge {
        /// Folders holding the parts (`part-I-of-N.*`).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory (created if missing).
        #[arg(short, long)]
        output: PathBuf,
        /// Use a non-empty output directory (see `run --force`).
        #[arg(long)]
        force: bool,
        /// No list of written files.
        #[arg(short, long)]
        quiet: bool,
        /// Also write `report.html` and `figures/` into the output
        /// directory (as `exosim report OUT` would).
        #[arg(long)]
        report: bool,
    },
    /// Write a study's body model for other tools.
    Export {
        #[command(subcommand)]
        format: ExportFormat,
    },
    /// Check a study file without running it.
    Validate {
        /// Study file (TOML).
        file: PathBuf,
        /// Set a value of the study first, as `run --set` does.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<Override>,
    },
    /// Write `DIR/report.html` (one self-contained page: key figures,
    /// interactive plots, how the run was made) and static figures in
    /// `DIR/figures/` for a finished run directory or campaign folder
    /// (design, spread of each observable, sensitivity indices).
    Report {
        /// Run directory or campaign folder (holds summary.json).
        dir: PathBuf,
        /// Replace a `report.html` or `figures/` that exosim did not write
        /// there (exosim's own previous report is always replaced).
        #[arg(long)]
        force: bool,
    },
    /// Estimate which cells a blood sample's vesicles came from (NNLS
    /// deconvolution of marker levels against reference source profiles).
    Deconvolve {
        /// Reference profiles: column `marker`, then one column per source.
        reference: PathBuf,
        /// Measured levels: column `marker`, then one column per sample.
        sample: PathBuf,
        /// Bootstrap replicates (parametric, CV from the fit's residuals) for
        /// the confidence intervals: 1 to 1000000 (each keeps one fraction
        /// per source: a million replicates of ten sources take 80 MB).
        #[arg(long, default_value_t = 1000, value_parser = parse_bootstrap)]
        bootstrap: u64,
        /// Confidence level of the intervals, between 0 and 1.
        #[arg(long, default_value_t = 0.95, value_parser = parse_level)]
        level: f64,
        /// Seed of the bootstrap's random streams.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// CSV file for the estimates (sample, source, fraction, lower, upper).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// The formats of `exosim export`.
#[derive(Subcommand)]
enum ExportFormat {
    /// SBML Level 3 Version 2 (core), one model per body arm:
    /// `DIR/model.xml` for a study of one arm, `DIR/model_ARM.xml` for
    /// each arm otherwise (docs/sbml.md).
    Sbml {
        /// Study file (TOML).
        file: PathBuf,
        /// Output directory (created if missing).
        #[arg(short, long)]
        output: PathBuf,
        /// Set a value of the study first, as `run --set` does.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<Override>,
        /// Replace model files already in the output directory.
        #[arg(long)]
        force: bool,
    },
}

/// Most bootstrap replicates `deconvolve` accepts.
const MAX_BOOTSTRAP: u64 = 1_000_000;
/// Most worker threads `--threads` accepts.
const MAX_THREADS: u64 = 1024;

/// A whole number from 1 to `max`, written `2000` or `2e3`.
fn parse_count(text: &str, max: u64, what: &str) -> Result<u64, String> {
    let value = text.parse::<u64>().ok().or_else(|| {
        let x = text.parse::<f64>().ok()?;
        (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 1.9e19).then_some(x as u64)
    });
    match value {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(format!("{n} {what}: the limit is 1 to {max}")),
        None => Err(format!(
            "`{text}` is not a whole number of {what} (1 to {max}, e.g. 1000 or 1e3)"
        )),
    }
}

fn parse_bootstrap(text: &str) -> Result<u64, String> {
    parse_count(text, MAX_BOOTSTRAP, "bootstrap replicates")
}

fn parse_threads(text: &str) -> Result<u64, String> {
    parse_count(text, MAX_THREADS, "threads")
}

/// A confidence level strictly between 0 and 1.
fn parse_level(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err(format!(
            "`{text}` is not a number between 0 and 1 (e.g. 0.95)"
        )),
    }
}

#[derive(clap::Args)]
struct RunOpts {
    /// Use a non-empty output directory: first remove what a previous
    /// exosim run wrote there (and temporary files of a killed write);
    /// other files are kept.
    #[arg(long)]
    force: bool,
    /// No progress bar or progress lines, no list of written files (the
    /// result table still goes to stdout).
    #[arg(short, long)]
    quiet: bool,
    /// Worker threads (default: every core, or `RAYON_NUM_THREADS`). The
    /// results do not depend on it.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    threads: Option<u64>,
    /// Seed of every random stream, instead of the study's `seed`.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Also write `report.html` and `figures/` into the output directory.
    #[arg(long)]
    report: bool,
    /// Continue the interrupted run saved in the output directory; the
    /// results are identical to those of an uninterrupted run.
    #[arg(long)]
    resume: bool,
    /// Wall-clock seconds between two saves of a running tissue
    /// replicate's state, for --resume (0: never save).
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS", value_parser = parse_seconds)]
    checkpoint_every: f64,
}

/// A finite, non-negative number of seconds.
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!(
            "`{text}` is not a number of seconds (e.g. 60, or 0 to never save)"
        )),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Merge {
            dirs,
            output,
            force,
            quiet,
            report,
        } => campaign::merge(&dirs, &output, force, quiet, report),
        Command::Export {
            format:
                ExportFormat::Sbml {
                    file,
                    output,
                    set,
                    force,
                },
        } => export::sbml(&file, &output, &set, force),
        Command::Validate { file, set } if campaign::is_campaign(&file) => {
            campaign::validate(&file, &set)
        }
        Command::Validate { file, set } => match load(&file, &set) {
            Ok(study) => {
                println!(
                    "{}: valid study `{}` ({})",
                    file.display(),
                    study.name,
                    parts(&study)
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run {
            file,
            output,
            shard,
            set,
            opts,
        } => run_file(&file, &output, shard, &set, &opts),
        Command::Report { dir, force } => match write_report(&dir, force, false) {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Deconvolve {
            reference,
            sample,
            bootstrap,
            level,
            seed,
            output,
        } => deconvolve(
            &reference,
            &sample,
            bootstrap as usize,
            level,
            seed,
            output.as_deref(),
        ),
        Command::Demo { output, opts } => {
            let study = match scenario::parse_study(exosim::DEMO_STUDY, "<demo>") {
                Ok(s) => s,
                Err(e) => return report_study_error(&e, exosim::DEMO_STUDY),
            };
            match execute(&study, &output, &opts, Writer::Demo) {
                Ok((study, result)) => {
                    println!(
                        "exosim {} — {}",
                        run::VERSION,
                        study.description.as_deref().unwrap_or(&study.name)
                    );
                    println!();
                    print_results(&study, &result, &output);
                    match write_report(&output, true, opts.quiet) {
                        Ok(path) => {
                            println!("report: {}", path.display());
                            ExitCode::SUCCESS
                        }
                        Err(code) => code,
                    }
                }
                Err(code) => code,
            }
        }
    }
}

/// The report's page and its folder of static figures.
const REPORT_OUTPUTS: [&str; 2] = ["report.html", "figures"];

/// Writes `dir/report.html` and `dir/figures/`; returns the page's path.
///
/// exosim's own previous report (as the folder's manifest lists it) is
/// removed first, so that no figure of an older report survives; a
/// `report.html` or `figures/` that exosim did not write is replaced only
/// with `force`. The new page and figures are recorded in the manifest.
fn write_report(dir: &Path, force: bool, quiet: bool) -> Result<PathBuf, ExitCode> {
    let fail = |msg: String| {
        eprintln!("error: report: {msg}");
        ExitCode::from(1)
    };
    let manifest = Manifest::read(dir).map_err(|e| fail(e.to_string()))?;
    for name in REPORT_OUTPUTS {
        let ours = manifest.as_ref().is_some_and(|m| m.owns_report(name));
        if !force && !ours && dir.join(name).exists() {
            return Err(fail(format!(
                "`{}` was not written by an exosim report; move it away, or use --force to replace it",
                dir.join(name).display()
            )));
        }
    }
    // What the new report will make, recorded before it is made, so that a
    // killed write is still removed by the next report or --force.
    let mut manifest = match manifest {
        Some(_) => {
            exosim::output::remove_report(dir).map_err(|e| fail(e.to_string()))?;
            Manifest::read(dir)
                .map_err(|e| fail(e.to_string()))?
                .unwrap_or_else(|| Manifest::new(Writer::Report, Vec::new()))
        }
        None if !dir.join("summary.json").is_file() => {
            // Not a run directory: the report says why, and nothing is marked.
            return exosim_report::write(dir)
                .map(|w| w.html)
                .map_err(|e| fail(e.to_string()));
        }
        None => Manifest::new(Writer::Report, Vec::new()),
    };
    manifest.report = REPORT_OUTPUTS
        .iter()
        .filter(|name| !dir.join(name).exists())
        .map(|name| name.to_string())
        .collect();
    manifest.write(dir).map_err(|e| fail(e.to_string()))?;
    let written = exosim_report::write(dir).map_err(|e| fail(e.to_string()))?;
    manifest.report = std::iter::once(&written.html)
        .chain(&written.figures)
        .filter_map(|p| p.strip_prefix(dir).ok())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .collect();
    manifest.write(dir).map_err(|e| fail(e.to_string()))?;
    if !quiet {
        for f in &written.figures {
            eprintln!("wrote {}", f.display());
        }
        eprintln!("wrote {}", written.html.display());
    }
    Ok(written.html)
}

/// `exosim deconvolve`: prints a table per sample and writes the estimates.
fn deconvolve(
    reference_file: &Path,
    sample_file: &Path,
    replicates: usize,
    level: f64,
    seed: u64,
    output: Option<&Path>,
) -> ExitCode {
    use exosim::biopsy::deconvolution::{self as dc, DeconvolutionError};
    let invalid = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(2)
    };
    let reference = match dc::read_reference(reference_file) {
        Ok(r) => r,
        Err(e) => return invalid(e.to_string()),
    };
    let samples = match dc::read_samples(sample_file) {
        Ok(s) => s,
        Err(e) => return invalid(e.to_string()),
    };
    let mut results = Vec::with_capacity(samples.len());
    for s in &samples {
        let fit = dc::deconvolve(&reference, s)
            .and_then(|fit| Ok((fit, dc::bootstrap(&reference, s, replicates, level, seed)?)));
        let (fit, estimates) = match fit {
            Ok(x) => x,
            Err(DeconvolutionError::MissingMarker {
                marker,
                sample,
                missing_from_sample,
            }) => {
                let (has, lacks) = if missing_from_sample {
                    (reference_file, sample_file)
                } else {
                    (sample_file, reference_file)
                };
                return invalid(format!(
                    "marker `{marker}` is in `{}` but missing from `{}` (sample `{sample}`); \
                     both files must list the same markers",
                    has.display(),
                    lacks.display()
                ));
            }
            Err(e) => return invalid(e.to_string()),
        };
        // Rounded so that 0.9 shows as 90, not 90.00000000000001.
        let pct = (100_000.0 * level).round() / 1000.0;
        println!(
            "sample {}: {} markers, R² = {:.4}, {pct} % CI from {replicates} bootstrap replicates",
            s.name,
            s.markers.len(),
            fit.r_squared
        );
        println!(
            "  {:<16} {:>9}   {:>16}",
            "source",
            "fraction",
            format!("{pct} % CI")
        );
        for e in &estimates {
            println!(
                "  {:<16} {:>7.1} %   [{:>5.1}, {:>5.1}] %",
                e.source,
                100.0 * e.fraction,
                100.0 * e.lower,
                100.0 * e.upper
            );
        }
        println!();
        results.push((s.name.clone(), estimates));
    }
    if let Some(path) = output {
        if let Err(e) = dc::write_estimates(path, &results) {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

/// Reads and validates a study file with values set over it, printing a
/// located error on failure.
// The study error (location and hint) is built once, at the edge.
#[allow(clippy::result_large_err)]
fn load(file: &Path, set: &[Override]) -> Result<Study, ExitCode> {
    let report = |e: StudyError| {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        report_study_error(&e, &text)
    };
    let source = scenario::StudySource::load(file).map_err(report)?;
    let study = source.study(set).map_err(report)?;
    // A valid study is still told what it asks (a run of hours), once.
    for notice in &study.notices {
        eprintln!("{}", notice.render_as(source.text(), "note"));
    }
    Ok(study)
}

fn report_study_error(e: &StudyError, text: &str) -> ExitCode {
    // Once: the located line (for logs and scripts), the quoted source with
    // the value underlined, the hint if any.
    eprintln!("{}", e.render(text));
    ExitCode::from(2)
}

/// `exosim run FILE`: a campaign, or a study with values set over it.
fn run_file(
    file: &Path,
    output: &Path,
    shard: Option<Shard>,
    set: &[Override],
    opts: &RunOpts,
) -> ExitCode {
    if campaign::is_campaign(file) {
        return campaign::run(file, output, shard, set, opts);
    }
    let study = match load(file, set) {
        Ok(study) => study,
        Err(code) => return code,
    };
    if shard.is_some() {
        eprintln!(
            "error: --shard applies to campaign files, and {} is a study",
            file.display()
        );
        return ExitCode::from(2);
    }
    execute(&study, output, opts, Writer::Run)
        .and_then(|(study, result)| {
            print_results(&study, &result, output);
            if opts.report {
                write_report(output, true, opts.quiet).map(|_| ())
            } else {
                Ok(())
            }
        })
        .map(|_| ExitCode::SUCCESS)
        .unwrap_or_else(|c| c)
}

/// What a valid study holds, engine by engine, in one line.
fn parts(study: &Study) -> String {
    let mut parts = Vec::new();
    if !study.arms.is_empty() {
        parts.push(format!(
            "body: {} arm(s), {} vesicle class(es), {} output times",
            study.arms.len(),
            study.vesicles.len(),
            study.output_times.len()
        ));
    }
    if let Some(b) = &study.biopsy {
        parts.push(format!(
            "biopsy: {} test(s) of `{}`",
            b.tests.len(),
            b.marker
        ));
    }
    if let Some(t) = &study.condition_test {
        parts.push(format!(
            "biopsy: {} test(s) of `{}`, {} condition(s) against arm `{}`",
            t.tests.len(),
            t.marker,
            t.conditions.len(),
            t.healthy.name
        ));
    }
    if let Some(s) = &study.signature {
        parts.push(format!("signature: {} condition(s)", s.conditions.len()));
    }
    if let Some(t) = &study.tissue {
        parts.push(format!(
            "tissue: {} cell type(s), {} vesicle class(es), {} variant(s) × {} replicate(s)",
            t.cell_types.len(),
            t.vesicles.len(),
            t.variants.len(),
            t.replicates
        ));
    }
    if let Some(p) = &study.production {
        parts.push(format!(
            "production: {} × {}, {} harvest(s), {}",
            p.culture.units, p.platform, p.schedule.harvests, p.isolation.method
        ));
    }
    parts.join("; ")
}

/// Sizes the process's one thread pool as `--threads` asks.
fn set_threads(opts: &RunOpts) -> Result<(), ExitCode> {
    if let Some(n) = opts.threads {
        // The first and only pool of the process: it cannot already exist.
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .map_err(|e| {
                eprintln!("error: --threads {n}: {e}");
                ExitCode::from(1)
            })?;
    }
    Ok(())
}

/// Runs `study` (with the command line's seed) and writes its results to
/// `dir`, recorded as written by `by`; returns the study as run.
fn execute(
    study: &Study,
    dir: &Path,
    opts: &RunOpts,
    by: Writer,
) -> Result<(Study, RunResult), ExitCode> {
    let fail = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(1)
    };
    let mut study = study.clone();
    if let Some(seed) = opts.seed {
        study.seed = seed;
        study.resolved.study.seed = Some(seed);
    }
    let study = study;
    set_threads(opts)?;
    let interrupted = Checkpoints::exists(dir);
    let reuse = if opts.resume {
        Reuse::Resume
    } else if opts.force {
        Reuse::Replace
    } else if by == Writer::Demo {
        Reuse::ReplaceDemo
    } else {
        Reuse::Refuse
    };
    exosim::output::prepare_output(dir, reuse).map_err(|e| {
        if interrupted {
            fail(format!(
                "{e}; it holds an interrupted run: add --resume to continue it"
            ))
        } else {
            fail(e.to_string())
        }
    })?;
    // Long (tissue) runs keep their progress so that they can resume.
    let store = if opts.resume || (study.tissue.is_some() && opts.checkpoint_every > 0.0) {
        Some(
            Checkpoints::open(dir, &run::fingerprint(&study), opts.resume)
                .map_err(|e| fail(e.to_string()))?,
        )
    } else {
        None
    };
    let saving = store.as_ref().map(|store| Saving {
        store,
        every: if opts.checkpoint_every > 0.0 {
            Duration::from_secs_f64(opts.checkpoint_every)
        } else {
            Duration::MAX
        },
    });
    let progress = Progress::new(&study.name, opts.quiet);
    let result = run::run_saving(&study, saving.as_ref(), |f| progress.tell(f))
        .map_err(|e| fail(e.to_string()))?;
    progress.finish();
    let files = run::write_as(dir, &study, &result, by).map_err(|e| fail(e.to_string()))?;
    if let Some(store) = store {
        store.finish().map_err(|e| fail(e.to_string()))?;
    }
    if !opts.quiet {
        for f in files {
            eprintln!("wrote {}", f.display());
        }
    }
    Ok((study, result))
}

/// The key figures of every engine of the study, for a person reading a
/// terminal: the body arms' pharmacokinetics and organ shares, each blood
/// test, each signature, the tissue's final cells.
fn print_results(study: &Study, result: &RunResult, dir: &Path) {
    print_body(study, result);
    if !result.biopsy.is_empty() {
        print_biopsy(result);
        println!();
    }
    if !result.condition_tests.is_empty() {
        print_condition_tests(result);
        println!();
    }
    if !result.signature.is_empty() {
        print_signature(result);
        println!();
    }
    if study.tissue.is_some() {
        print_tissue(study, result);
        println!();
    }
    println!("results in {}", dir.display());
}

/// Per variant, final cells per type (mean ± sd over replicates) and the
/// tissue mass balance, for a person reading a terminal.
fn print_tissue(study: &Study, result: &RunResult) {
    let Some(model) = &study.tissue else {
        return;
    };
    let summary = exosim::coupling::tissue_section::summarise(model, &result.tissue);
    println!(
        "tissue: final cells per type, mean ± sd over {} replicate(s)",
        summary.replicates
    );
    for v in &summary.variants {
        let cells: Vec<String> = v
            .final_cells
            .iter()
            .map(|(t, s)| format!("{t} {:.1} ± {:.1}", s.mean, s.sd))
            .collect();
        let kills: f64 = v.kills.values().map(|s| s.mean).sum();
        let states: Vec<String> = v
            .final_state
            .iter()
            .map(|(k, s)| format!("{k} {:.3} ± {:.3}", s.mean, s.sd))
            .collect();
        let name = match &v.arm {
            Some(arm) => format!("{arm}/{}", v.name),
            None => v.name.clone(),
        };
        println!(
            "  {:<24} {}; contact kills {:.1}; {}",
            name,
            cells.join(", "),
            kills,
            states.join(", ")
        );
    }
    for c in summary.coupling.iter().flat_map(|c| c.arms()) {
        println!(
            "  coupled with arm `{}` every {} s (body reported from {}):",
            c.arm, c.exchange_interval_s, c.body_reported_from
        );
        for (pair, d) in &c.drained_to_body {
            let a = &c.arrived_from_blood[pair];
            println!(
                "    {pair:<28} drained to body {:.0} ± {:.0}, arrived from blood {:.0} ± {:.0}",
                d.mean, d.sd, a.mean, a.sd
            );
        }
    }
    println!(
        "  vesicle mass balance: relative error {}",
        summary.mass_balance_relative_error
    );
}

/// Each condition's signature AUCs, for a person reading a terminal.
fn print_signature(result: &RunResult) {
    if result.signature.is_empty() {
        return;
    }
    println!(
        "{:<24} {:>10} {:>10}   best single marker (AUC, 95 % CI)",
        "condition", "train AUC", "test AUC"
    );
    for c in &result.signature {
        let b = &c.best_marker_auc;
        println!(
            "{:<24} {:>10.3} {:>10.3}   {} ({:.3}, {:.3}-{:.3})",
            c.condition, c.train_auc, c.test_auc, c.best_marker, b.auc, b.lower, b.upper
        );
    }
}

/// The key figures of each blood test of conditions: the threshold and
/// specificity, then per condition its sensitivity and AUC.
fn print_condition_tests(result: &RunResult) {
    for t in &result.condition_tests {
        println!(
            "test `{}`: threshold {}, specificity {:.1} %",
            t.test,
            three_digits(&format_human(t.threshold, Dimension::Concentration)),
            100.0 * t.specificity.0
        );
        for c in &t.conditions {
            println!(
                "  {:<22} level ×{:<8.3} sensitivity {:>5.1} %   AUC {:.3} ({:.3}-{:.3})",
                c.condition,
                c.fold_change,
                100.0 * c.sensitivity.0,
                c.auc.auc,
                c.auc.lower,
                c.auc.upper
            );
        }
    }
}

/// The key figures of each blood test, for a person reading a terminal.
fn print_biopsy(result: &RunResult) {
    if result.biopsy.is_empty() {
        return;
    }
    let mm = |d: Option<f64>| {
        d.map(|x| format!("{:.1} mm", x * 1e3))
            .unwrap_or_else(|| "not reached".into())
    };
    println!(
        "{:<24} {:>12} {:>12} {:>13} {:>13} {:>20}",
        "test", "threshold", "specificity", "50 % at", "90 % at", "AUC (95 % CI)"
    );
    for t in &result.biopsy {
        let auc = t
            .auc
            .as_ref()
            .map(|a| format!("{:.3} ({:.3}-{:.3})", a.auc, a.lower, a.upper))
            .unwrap_or_else(|| "-".into());
        // A sequencing test's threshold is a p-value, not a concentration.
        let threshold = match &t.sequencing {
            Some(q) => format!("p<{:.1e}", q.p_value_threshold),
            None => three_digits(&format_human(t.threshold, Dimension::Concentration)),
        };
        println!(
            "{:<24} {:>12} {:>11.1}% {:>13} {:>13} {:>20}",
            t.test,
            threshold,
            100.0 * t.specificity.0,
            mm(t.minimal_diameter_50),
            mm(t.minimal_diameter_90),
            auc
        );
        if let Some(s) = &t.screening {
            let median = |q: &[(f64, f64)]| q.iter().find(|(p, _)| *p == 0.5).map(|x| x.1);
            println!(
                "  screening: {} of {} detected; median {} after initiation, at {}",
                s.detected,
                s.n,
                median(&s.time_quantiles)
                    .map(|x| format!("{:.1} years", x / exosim::units::YEAR))
                    .unwrap_or_else(|| "-".into()),
                mm(median(&s.diameter_quantiles)),
            );
            if let Some(lead) = &s.lead_time {
                println!(
                    "  lead over imaging: median {} days ({} found by both; blood first in {:.1} %)",
                    median(&lead.quantiles)
                        .map(|x| format!("{:.0}", x / exosim::units::DAY))
                        .unwrap_or_else(|| "-".into()),
                    lead.n,
                    100.0 * lead.positive_share
                );
            }
        }
    }
}

/// Per arm and vesicle class, the pharmacokinetic figures, and at each
/// report time the shares of the dose in the main places and the plasma
/// concentration.
fn print_body(study: &Study, result: &RunResult) {
    if result.summaries.is_empty() {
        return;
    }
    println!(
        "{:<22} {:>12} {:>14} {:>10} {:>10}",
        "arm", "t½ initial", "t½ terminal", "MRT", "CL"
    );
    // "arm", or "arm/class" when an arm has several vesicle classes.
    let label = |s: &exosim::body::ClassSummary| {
        if study.vesicles.len() > 1 {
            format!("{}/{}", s.arm, s.vesicles)
        } else {
            s.arm.clone()
        }
    };
    for s in &result.summaries {
        let pk = s.pk.as_ref();
        let show = |v: Option<f64>, d: Dimension| {
            v.map(|x| three_digits(&format_human(x, d)))
                .unwrap_or_else(|| "—".into())
        };
        println!(
            "{:<22} {:>12} {:>14} {:>10} {:>10}",
            label(s),
            show(pk.and_then(|p| p.initial_half_life_s), Dimension::Time),
            show(pk.and_then(|p| p.terminal_half_life_s), Dimension::Time),
            show(pk.and_then(|p| p.mrt_s), Dimension::Time),
            show(pk.and_then(|p| p.clearance_m3_per_s), Dimension::Flow),
        );
    }
    let places = [
        Place::Blood,
        Place::Tissue(Organ::Liver),
        Place::Tissue(Organ::Spleen),
        Place::Tissue(Organ::Lungs),
        Place::Tissue(Organ::Kidneys),
        Place::Degraded,
    ];
    for &t in &study.report_times {
        println!();
        print!("% of dose at {:<9}", format_human(t, Dimension::Time));
        for p in places {
            print!(" {:>9}", p.name());
        }
        println!(" {:>10}", "plasma/mL");
        for s in &result.summaries {
            print!("{:<22}", label(s));
            let shares = s.fraction_of_dose.get(&format!("{t}"));
            for p in places {
                let v = shares
                    .and_then(|m| m.get(p.name()))
                    .copied()
                    .unwrap_or(f64::NAN);
                print!(" {:>8.1}%", 100.0 * v);
            }
            let plasma = s.plasma_per_ml.get(&format!("{t}")).copied();
            println!(" {:>10.2e}", plasma.unwrap_or(f64::NAN));
        }
    }
    println!();
}

/// "7.66942 min" → "7.67 min": three significant digits are plenty on a terminal.
fn three_digits(text: &str) -> String {
    let (number, unit) = text.split_once(' ').unwrap_or((text, ""));
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && (x.abs() >= 1e5 || (x != 0.0 && x.abs() < 1e-3)) => {
            format!("{x:.2e} {unit}").trim_end().to_string()
        }
        Ok(x) if x != 0.0 && x.is_finite() => {
            let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
            format!("{x:.decimals$} {unit}").trim_end().to_string()
        }
        _ => text.to_string(),
    }
}
