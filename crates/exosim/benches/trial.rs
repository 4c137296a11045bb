//! What a virtual trial costs (docs/trials.md): the shipped
//! `campaigns/xenograft_trial.toml` (240 virtual mice of the xenograft
//! study, body and effect model, each run in its four arms), printed in
//! one invocation:
//!
//! 1. **Subjects per second**: the campaign's runs on 1 and 2 threads.
//! 2. **Trials per second**: the power curve (1000 simulated trials at each
//!    of 6 sizes, two comparisons each, Welch's test with dropout) drawn
//!    from the subjects' table, on 1 and 2 threads; and the same with the
//!    sample-size search (every size from 2 to 12).
//!
//! Run with `cargo bench -p exosim --bench trial`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use exosim::campaign::trial::Trial;
use exosim::campaign::trial::analysis;
use exosim::campaign::{self, Campaign};
use exosim::output;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
}

/// Best of `repeat` timings of `f`, in seconds.
fn best(repeat: usize, mut f: impl FnMut()) -> f64 {
    (0..repeat)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let c = Campaign::load(&repo().join("campaigns/xenograft_trial.toml")).expect("shipped");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let subjects = c.len() as f64;
    println!("virtual trial: campaigns/xenograft_trial.toml, {subjects} subjects x 4 arms");
    for threads in [1, 2] {
        let run_dir = dir.path().join(format!("run{threads}"));
        let seconds = best(1, || {
            let _ = std::fs::remove_dir_all(&run_dir);
            std::fs::create_dir_all(&run_dir).expect("a folder");
            pool(threads)
                .install(|| campaign::run_whole(&c, &run_dir, |_, _| {}))
                .expect("the trial runs");
        });
        println!(
            "  subjects: {threads} thread(s): {seconds:.2} s, {:.1} subjects/s",
            subjects / seconds
        );
    }
    let table = output::read_parquet(&dir.path().join("run1/campaign.parquet")).expect("table");
    let trial: Trial = c.trial.clone().expect("a trial");
    let curve = Trial {
        power: None,
        ..trial.clone()
    };
    for (what, t) in [("power curve", &curve), ("with the size search", &trial)] {
        let sizes = if t.power.is_some() {
            11
        } else {
            t.subjects.len()
        };
        let count = (t.trials as usize * sizes) as f64;
        for threads in [1, 2] {
            let seconds = best(5, || {
                pool(threads).install(|| analysis::analyse(t, &table, c.seed, 0.95));
            });
            println!(
                "  {what}: {} trials x {sizes} sizes x {} comparisons, {threads} thread(s): \
                 {:.1} ms, {:.0} trials/s",
                t.trials,
                t.arms.len(),
                seconds * 1e3,
                count / seconds
            );
        }
    }
}
