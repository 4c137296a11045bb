//! `exosim run CAMPAIGN`, `--shard I/N` and `exosim merge`: a campaign's
//! output folder, its progress and its result table on the terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use exosim::campaign::calibration::run::{self as calibration, Report};
use exosim::campaign::merge::{self, MERGED_FILES, Summary};
use exosim::campaign::{self as cmp, Campaign, Shard};
use exosim::output::{self, Manifest, Reuse, Writer};
use exosim::scenario::Override;

use crate::RunOpts;
use crate::fit_folder::{fail, prepare_fit};
use crate::progress::Progress;

/// Whether `file` is a campaign file (it has a `[campaign]` table) rather
/// than a study file.
pub fn is_campaign(file: &Path) -> bool {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .is_some_and(|t| t.contains_key("campaign"))
}

/// Reads and checks a campaign file, with `set` fixed over its study for
/// every point, printing a located error on failure.
pub fn load(file: &Path, set: &[Override]) -> Result<Campaign, ExitCode> {
    Campaign::load_with(file, set).map_err(|e| {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        eprintln!("{}", e.render(&text));
        ExitCode::from(2)
    })
}

/// `exosim validate CAMPAIGN [--set PATH=VALUE]…`.
pub fn validate(file: &Path, set: &[Override]) -> ExitCode {
    match load(file, set) {
        Ok(c) if c.abc.is_some() => {
            println!("{}: {}", file.display(), crate::abc::describe(&c));
            ExitCode::SUCCESS
        }
        Ok(c) if c.calibration.is_some() => {
            let cal = c.calibration.as_ref().expect("checked");
            println!(
                "{}: valid calibration `{}` ({} data row(s) from {}; {} parameter(s), {} start(s))",
                file.display(),
                c.name,
                cal.data.rows.len(),
                cal.data.file,
                c.parameters.len(),
                cal.starts
            );
            ExitCode::SUCCESS
        }
        Ok(c) => {
            println!(
                "{}: valid campaign `{}` ({} run(s): {} design point(s) × {} replicate(s); {} parameter(s), {} observable(s))",
                file.display(),
                c.name,
                c.len(),
                c.values.n,
                c.replicates,
                c.parameters.len(),
                c.observables.len()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// The files a run of `shard` (or of the whole campaign) writes.
fn planned(shard: Option<Shard>) -> Vec<String> {
    let part = shard.unwrap_or(Shard::WHOLE);
    let mut files = vec![part.file("jsonl")];
    match shard {
        Some(s) => files.extend(["parquet", "json"].map(|e| s.file(e))),
        None => {
            files.extend(["parquet", "json"].map(|e| part.file(e)));
            files.extend(MERGED_FILES.map(String::from));
        }
    }
    files
}

/// How the folder may be used: a folder holding this command's own
/// journal resumes it (the journal checks that it is the same campaign
/// and shard); otherwise as any run.
fn reuse(dir: &Path, shard: Option<Shard>, opts: &RunOpts) -> Reuse {
    let journal = dir.join(shard.unwrap_or(Shard::WHOLE).file("jsonl"));
    let ours = Manifest::read(dir)
        .ok()
        .flatten()
        .is_some_and(|m| m.written_by == Writer::Campaign);
    if opts.force {
        Reuse::Replace
    } else if opts.resume || (ours && journal.is_file()) {
        Reuse::Resume
    } else {
        Reuse::Refuse
    }
}

/// `exosim run CAMPAIGN -o DIR [--shard I/N | --report]`; `--report` makes
/// the same page as `exosim report DIR` once the whole campaign is written.
pub fn run(
    file: &Path,
    dir: &Path,
    shard: Option<Shard>,
    set: &[Override],
    opts: &RunOpts,
) -> ExitCode {
    if opts.seed.is_some() {
        eprintln!(
            "error: --seed applies to study files; a campaign's seed is `seed` in its [campaign] table"
        );
        return ExitCode::from(2);
    }
    if opts.report && shard.is_some() {
        eprintln!(
            "error: --report needs the whole campaign: merge the parts (`exosim merge`), then run `exosim report` on the merged folder"
        );
        return ExitCode::from(2);
    }
    let campaign = match load(file, set) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(code) = crate::set_threads(opts) {
        return code;
    }
    if campaign.abc.is_some() {
        if shard.is_some() {
            return fail(
                "--shard does not apply to ABC-SMC: each generation draws from the last".into(),
            );
        }
        return crate::abc::run(&campaign, dir, opts);
    }
    if campaign.calibration.is_some() {
        if shard.is_some() {
            return fail(
                "--shard does not apply to a calibration: its starts share one state".into(),
            );
        }
        return calibrate(&campaign, dir, opts);
    }
    if let Err(e) = output::prepare_output(dir, reuse(dir, shard, opts)) {
        return fail(e.to_string());
    }
    let files = planned(shard);
    if let Err(e) = Manifest::new(Writer::Campaign, files.clone()).write(dir) {
        return fail(e.to_string());
    }
    let label = match shard {
        Some(s) => format!("{} (shard {}/{})", campaign.name, s.index, s.count),
        None => campaign.name.clone(),
    };
    let progress = Progress::new(&label, opts.quiet);
    let tell = |done: u64, total: u64| progress.tell(done as f64 / total.max(1) as f64);
    let outcome = match shard {
        Some(s) => cmp::runner::run_shard(&campaign, s, dir, tell).map(|r| (r.failed, None)),
        None => cmp::run_whole(&campaign, dir, tell).map(|s| (s.failed, Some(s))),
    };
    progress.finish();
    let (failed, summary) = match outcome {
        Ok(o) => o,
        Err(e) => return fail(e.to_string()),
    };
    let written: Vec<String> = files.into_iter().filter(|f| dir.join(f).exists()).collect();
    if let Err(e) = Manifest::new(Writer::Campaign, written.clone()).write(dir) {
        return fail(e.to_string());
    }
    let code = finish(dir, &written, failed, summary.as_ref(), opts.quiet);
    if opts.report {
        // The same page as `exosim report DIR`, from the files just written.
        if let Err(code) = crate::write_report(dir, true, opts.quiet) {
            return code;
        }
    }
    code
}

/// `exosim merge DIR… -o OUT [--report]`.
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool, quiet: bool, report: bool) -> ExitCode {
    let reuse = if force { Reuse::Replace } else { Reuse::Refuse };
    // Checked before the folder is made, so a refused merge leaves nothing.
    if let Err(e) = merge::find_parts(dirs) {
        return fail(e.to_string());
    }
    if let Err(e) = output::prepare_output(out, reuse) {
        return fail(e.to_string());
    }
    match merge::merge(dirs, out) {
        Ok(summary) => {
            let written: Vec<String> = MERGED_FILES
                .iter()
                .filter(|f| out.join(f).exists())
                .map(|f| f.to_string())
                .collect();
            if let Err(e) = Manifest::new(Writer::Merge, written.clone()).write(out) {
                return fail(e.to_string());
            }
            let code = finish(out, &written, summary.failed, Some(&summary), quiet);
            if report && let Err(code) = crate::write_report(out, true, quiet) {
                return code;
            }
            code
        }
        Err(e) => fail(e.to_string()),
    }
}

fn finish(
    dir: &Path,
    written: &[String],
    failed: u64,
    summary: Option<&Summary>,
    quiet: bool,
) -> ExitCode {
    if let Some(s) = summary {
        print_summary(s);
    }
    if failed > 0 {
        eprintln!(
            "warning: {failed} run(s) failed; their errors are in summary.json (or the part's record)"
        );
    }
    if !quiet {
        for f in written {
            eprintln!("wrote {}", dir.join(f).display());
        }
    }
    println!("results in {}", dir.display());
    ExitCode::SUCCESS
}

/// The spread of each observable, then the sensitivity indices.
fn print_summary(s: &Summary) {
    println!(
        "campaign `{}`: {} run(s), {} failed",
        s.campaign, s.runs, s.failed
    );
    println!(
        "{:<32} {:>12} {:>12} {:>12} {:>12} {:>12}  unit",
        "observable", "mean", "sd", "5 %", "median", "95 %"
    );
    for o in &s.observables {
        println!(
            "{:<32} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e} {:>12.4e}  {}",
            o.name, o.mean, o.sd, o.p5, o.median, o.p95, o.unit
        );
    }
    if !s.sensitivity.is_empty() {
        println!();
        println!(
            "{:<32} {:<36} {:<8} {:>10} {:>10}",
            "observable", "parameter", "index", "value", "± conf"
        );
        for r in &s.sensitivity {
            println!(
                "{:<32} {:<36} {:<8} {:>10.4} {:>10.4}",
                r.observable, r.parameter, r.index, r.value, r.conf
            );
        }
    }
    for (name, why) in &s.sensitivity_skipped {
        println!("no indices for `{name}`: {why}");
    }
    for f in &s.dose_response {
        let c = &f.curve;
        let open = |o: bool| if o { " (open)" } else { "" };
        println!(
            "{} against {}: ED50 {:.4e} ({:.4e}{} – {:.4e}{}, {} %), Hill {:.3}, from {:.4e} to {:.4e}, residual sd {:.3e}",
            f.observable,
            f.parameter,
            c.ed50,
            c.ed50_low,
            open(c.low_open),
            c.ed50_high,
            open(c.high_open),
            c.level * 100.0,
            c.hill,
            c.top,
            c.bottom,
            c.residual_sd
        );
    }
    if let Some(t) = &s.trial {
        print_trial(t);
    }
    println!();
}

/// The power of each comparison at each size, then the size search.
fn print_trial(t: &exosim::campaign::trial::analysis::TrialSummary) {
    println!();
    println!(
        "trial: {} simulated trials per size from {} virtual subjects, α = {}, dropout {}",
        t.trial.trials, t.population, t.trial.alpha, t.trial.dropout
    );
    println!(
        "{:<24} {:>8} {:>8} {:>18}",
        format!("arm vs {}", t.trial.comparator()),
        "per arm",
        "power",
        "interval"
    );
    for p in &t.power {
        println!(
            "{:<24} {:>8} {:>8.3} {:>8.3} – {:<7.3}",
            p.arm, p.subjects, p.power, p.low, p.high
        );
    }
    for s in &t.search {
        println!("{}: {}", s.arm, s.verdict);
    }
}

/// `exosim run CAMPAIGN -o DIR` for a calibration: the fit instead of
/// points, resumed from the saved starts of an interrupted run in `DIR`.
fn calibrate(campaign: &Campaign, dir: &Path, opts: &RunOpts) -> ExitCode {
    let Some(cal) = campaign.calibration.as_ref() else {
        return fail("the campaign is not a calibration".into());
    };
    if let Err(code) = prepare_fit(dir, opts, calibration::STATE_FILE, calibration::files(cal)) {
        return code;
    }
    let progress = Progress::new(&format!("{} (calibration)", campaign.name), opts.quiet);
    let tell = |done: u64, total: u64| progress.tell(done as f64 / total.max(1) as f64);
    let report = calibration::calibrate(campaign, dir, tell);
    progress.finish();
    let report = match report {
        Ok(r) => r,
        Err(e) => return fail(e.to_string()),
    };
    let written = calibration::files(cal);
    if let Err(e) = Manifest::new(Writer::Campaign, written.clone()).write(dir) {
        return fail(e.to_string());
    }
    print_estimates(&report);
    let code = finish(dir, &written, 0, None, opts.quiet);
    if opts.report {
        // The calibration's page, as `exosim report DIR` makes it.
        if let Err(code) = crate::write_report(dir, true, opts.quiet) {
            return code;
        }
    }
    code
}

/// The estimates with their intervals, then the fit's figures.
fn print_estimates(r: &Report) {
    println!(
        "calibration `{}` ({}): {} data row(s), {} error model, {} run(s)",
        r.campaign,
        r.objective.replace('_', " "),
        r.rows,
        serde_json::to_value(r.error_model)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        r.evaluations
    );
    let level = match &r.resamples {
        Some(b) => format!(
            "{:.0} % bootstrap ({} of {} refitted)",
            100.0 * r.confidence,
            b.fitted,
            b.drawn
        ),
        None => format!("{:.0} % profile interval", 100.0 * r.confidence),
    };
    println!("{:<44} {:>12}  {:<40} unit", "parameter", "estimate", level);
    for e in &r.estimates {
        let mark = |open: bool| if open { " (bound)" } else { "" };
        let interval = format!(
            "[{:.4e}{}, {:.4e}{}]",
            e.low,
            mark(e.low_at_bound),
            e.high,
            mark(e.high_at_bound)
        );
        println!(
            "{:<44} {:>12.4e}  {:<40} {}",
            e.path, e.estimate, interval, e.unit
        );
    }
    let sigma = match (r.sigma, r.sigma_groups.is_empty()) {
        (Some(s), _) => format!("{s:.4}"),
        (None, true) => "per row".to_string(),
        (None, false) => r
            .sigma_groups
            .iter()
            .map(|g| format!("{} {:.4}", g.group, g.sigma))
            .collect::<Vec<_>>()
            .join(", "),
    };
    println!(
        "−log L {:.4}, AIC {:.4}, BIC {:.4}, σ {} ({}), χ² {:.3} on {} df{}",
        r.neg_log_likelihood,
        r.aic,
        r.bic,
        sigma,
        r.sigma_source,
        r.goodness.chi_square,
        r.goodness.degrees_of_freedom,
        r.goodness
            .p_value
            .map_or(String::new(), |p| format!(", p = {p:.3}"))
    );
    println!();
}
