//! `exosim run CAMPAIGN` for an ABC-SMC calibration: the sampler's
//! folder, its progress and the posteriors on the terminal.

use std::path::Path;
use std::process::ExitCode;

use exosim::campaign::Campaign;
use exosim::campaign::abc::run::{self as abc, Report};
use exosim::output::{Manifest, Writer};

use crate::RunOpts;
use crate::fit_folder::{fail, prepare_fit};
use crate::progress::Progress;

/// `exosim validate`'s line for an ABC-SMC campaign.
pub fn describe(c: &Campaign) -> String {
    let a = c.abc.as_ref().expect("an ABC-SMC campaign");
    format!(
        "valid ABC-SMC calibration `{}` ({} data row(s) from {}; {} parameter(s), {} particles, up to {} generation(s))",
        c.name,
        a.data.rows.len(),
        a.data.file,
        c.parameters.len(),
        a.settings.population,
        a.settings.generations
    )
}

/// Runs the sampler into `dir`, resuming after the generations an
/// interrupted run saved there.
pub fn run(campaign: &Campaign, dir: &Path, opts: &RunOpts) -> ExitCode {
    let files: Vec<String> = abc::FILES.map(String::from).to_vec();
    if let Err(code) = prepare_fit(dir, opts, abc::STATE_FILE, files.clone()) {
        return code;
    }
    let progress = Progress::new(&format!("{} (ABC-SMC)", campaign.name), opts.quiet);
    let tell = |done: u64, total: u64| progress.tell(done as f64 / total.max(1) as f64);
    let report = abc::calibrate(campaign, dir, tell);
    progress.finish();
    let report = match report {
        Ok(r) => r,
        Err(e) => return fail(e.to_string()),
    };
    if let Err(e) = Manifest::new(Writer::Campaign, files.clone()).write(dir) {
        return fail(e.to_string());
    }
    print_posteriors(&report);
    if !opts.quiet {
        for f in &files {
            eprintln!("wrote {}", dir.join(f).display());
        }
    }
    println!("results in {}", dir.display());
    if opts.report
        && let Err(code) = crate::write_report(dir, true, opts.quiet)
    {
        return code;
    }
    ExitCode::SUCCESS
}

/// Each generation's tolerance, then each parameter's posterior.
fn print_posteriors(r: &Report) {
    println!(
        "ABC-SMC `{}`: {} data row(s), {} particles, {} run(s), stopped on {}",
        r.campaign,
        r.rows,
        r.population,
        r.runs,
        serde_json::to_value(r.stop)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    );
    println!(
        "{:>10} {:>12} {:>10} {:>8} {:>8}",
        "generation", "epsilon", "proposals", "accept", "ESS"
    );
    for g in &r.generations {
        let eps = g.epsilon.map_or("prior".to_string(), |e| format!("{e:.4}"));
        println!(
            "{:>10} {:>12} {:>10} {:>8.3} {:>8.1}",
            g.generation, eps, g.proposals, g.acceptance, g.ess
        );
    }
    let level = format!("{:.0} % credible interval", 100.0 * r.confidence);
    println!(
        "{:<44} {:>12} {:>12}  {:<28} unit",
        "parameter", "mean", "median", level
    );
    for p in &r.posteriors {
        println!(
            "{:<44} {:>12.4e} {:>12.4e}  [{:.4e}, {:.4e}]     {}",
            p.path, p.mean, p.median, p.low, p.high, p.unit
        );
    }
}
