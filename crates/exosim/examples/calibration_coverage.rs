//! Coverage of the calibration's 95 % profile-likelihood intervals: data
//! sets simulated by exosim at known parameter values (a 25 g mouse, an
//! i.v. bolus, blood and liver shares of the dose at 7 times, 5 % Gaussian
//! noise with its sd given), each fitted by maximum likelihood; the share
//! of sets whose interval holds the true value should be near 95 %.
//!
//!     cargo run --release -p exosim --example calibration_coverage [SETS] [SEED]
//!
//! SETS defaults to 50, SEED to 1. The study and campaign are those of
//! the integration test `calibration` (tests/integration/calibration.rs).

use std::path::Path;
use std::time::Instant;

use exosim::campaign::Campaign;
use exosim::campaign::calibration::check;

/// The values that make the synthetic data: capacity 0.4, liver
/// degradation 0.1 /h.
const TRUTH: [f64; 2] = [0.4, 0.1];

fn main() {
    let mut args = std::env::args().skip(1);
    let sets: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/calibration/campaign.toml");
    let campaign = match Campaign::load(&file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let clock = Instant::now();
    let c = check::coverage(&campaign, &TRUTH, 0.05, sets, seed).expect("the study runs");
    println!(
        "{sets} synthetic data sets (seed {seed}), {:.1} s",
        clock.elapsed().as_secs_f64()
    );
    for (j, p) in campaign.parameters.iter().enumerate() {
        println!(
            "{:<40} truth {:<8} covered {:>3} of {sets}: {:.1} %",
            p.path.to_string(),
            TRUTH[j],
            c.covered(j),
            100.0 * c.share(j)
        );
    }
}
