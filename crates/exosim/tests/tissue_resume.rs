//! Resuming long tissue runs: a replicate stopped at any step boundary and
//! continued from its saved state gives exactly the results of an
//! uninterrupted run (randomness is keyed by seed and step, and every
//! changing part of the run is saved), and a whole study resumed from a
//! store holding finished and unfinished replicates matches a fresh run.

use std::time::Duration;

use exosim::output::Checkpoints;
use exosim::scenario::parse_study;
use exosim::tissue::engine::{Resume, SavedRun, SavedRunRef, TissueError, TissueRun};
use exosim::tissue::study::{self, Saving, replicate_seed};

/// The small tumour–immune tissue of `tissue_study.rs`: secretion, cargo,
/// both rule triggers, killing, division, death, motility, an inhibitor,
/// draining and absorbing faces.
const SMALL: &str = r#"
[study]
name = "small_tissue"
seed = 3
duration = "2 h"
output_interval = "20 min"

[tissue]
size = ["80 um", "80 um", "80 um"]
boundary = "reflective"
faces = { z_upper = "draining", x_lower = "absorbing" }
time_step = "10 s"
cell_time_step = "1 min"
snapshot_times = ["1 h", "2 h"]
replicates = 2
hindrance = 0.5

[[tissue.binding]]
ligand = "l1"
receptor = "r1"
strength = 2.0

[[tissue.vesicles]]
name = "t_ev"
diameter = "100 nm"
diameter_cv = 0.3
half_life = "3 h"
weight = 5
ligands = { l1 = 1.0 }
cargo = { sup = { mean = 0.5, dispersion = 1.0 } }

[[tissue.vesicles]]
name = "k_ev"
diameter = "100 nm"
weight = 5
cargo = { tox = { mean = 3.0 } }

[[tissue.cell_types]]
name = "tumour"
radius = "6 um"
nonspecific_uptake = 0.2
division_time = "3 h"
death_state = "viability"
state = { viability = { initial = 1.0 } }
secretion = [{ class = "t_ev", rate = "300 /h" }]

[[tissue.cell_types]]
name = "killer"
radius = "4 um"
receptors = { r1 = 1.0 }
motility = "10 um^2/min"
state = { cytotoxicity = { initial = 1.0, relax = "0.1 /h" } }
secretion = [{ class = "k_ev", rate = "100 /h", scale = [{ state = "cytotoxicity", gain = 1.0 }] }]
kills = [{ target = "tumour", rate = "0.3 /h", scale = [{ state = "cytotoxicity", gain = 1.0 }] }]

[[tissue.placements]]
shape = "spheroid"
cell_type = "tumour"
count = 20
radius = "15 um"

[[tissue.placements]]
shape = "random"
cell_type = "killer"
count = 15

[[tissue.rules]]
name = "suppress"
cell_type = "killer"
cargo = "sup"
state = "cytotoxicity"
change_per_copy = -0.01

[[tissue.rules]]
name = "poison"
cell_type = "tumour"
cargo = "tox"
state = "viability"
on = "held"
rate_per_copy = "-0.005 /h"

[[tissue.inhibitors]]
name = "block"
cell_types = ["tumour"]
start = "1 h"
concentration = 3.0
ec50 = 1.0
emax = 0.8

[[tissue.variants]]
name = "base"
without_inhibitors = ["block"]

[[tissue.variants]]
name = "blocked"
"#;

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serialisable")
}

/// Stopped after step `stop_at` (as a crash would stop it), saved there,
/// then resumed in a fresh run: the record equals the uninterrupted one,
/// rows, snapshots and final tallies alike, for a stop before, between and
/// after cell steps and snapshot times.
#[test]
fn a_replicate_resumed_from_any_step_equals_the_uninterrupted_run() {
    let s = parse_study(SMALL, "small.toml").expect("valid study");
    let model = s.tissue.clone().expect("a tissue section");
    let variant = &model.variants[0];
    let seed = replicate_seed(s.seed, 0);
    let whole = TissueRun::new(&model, variant, seed)
        .run(variant, true, |_| {})
        .expect("runs");
    let dir = tempfile::tempdir().unwrap();
    let store = Checkpoints::open(dir.path(), "{}", false).unwrap();
    // 720 steps of 10 s, cells every 6 steps, snapshots at steps 360 and 720.
    for stop_at in [1_u64, 6, 359, 360, 361, 719] {
        let mut step = 0;
        let mut due = || {
            step += 1;
            step == stop_at
        };
        let mut save = |state: &SavedRunRef<'_>| {
            store.save("unit", state).map_err(|e| e.to_string())?;
            Err("stopped here".to_string())
        };
        let stopped = TissueRun::new(&model, variant, seed).run_resumable(
            variant,
            true,
            |_| {},
            Resume {
                from: None,
                due: &mut due,
                save: &mut save,
            },
        );
        assert!(
            matches!(stopped, Err(TissueError::Save { .. })),
            "stopped at {stop_at}"
        );
        let saved: SavedRun = store.load("unit").unwrap().expect("a saved state");
        assert_eq!(saved.step(), stop_at);
        let mut never = || false;
        let mut keep = |_: &SavedRunRef<'_>| Ok(());
        let resumed = TissueRun::new(&model, variant, seed)
            .run_resumable(
                variant,
                true,
                |_| {},
                Resume {
                    from: Some(saved),
                    due: &mut never,
                    save: &mut keep,
                },
            )
            .expect("resumes");
        assert_eq!(json(&resumed), json(&whole), "resumed from step {stop_at}");
    }
}

/// A study run with its progress saved at every step gives the same
/// replicates as a run that never saved; resumed from its store, where one
/// replicate's state was lost (it reruns) and the others are finished (they
/// are read back), it gives them again.
#[test]
fn a_study_resumed_from_its_store_equals_a_fresh_run() {
    let s = parse_study(SMALL, "small.toml").expect("valid study");
    let model = s.tissue.clone().expect("a tissue section");
    let fresh = study::run_in(&s, &model).expect("runs");
    let dir = tempfile::tempdir().unwrap();
    let store = Checkpoints::open(dir.path(), "{\"seed\":3}", false).unwrap();
    let saving = Saving {
        store: &store,
        every: Duration::ZERO,
    };
    let saved = study::run_saving(&s, &model, Some(&saving)).expect("runs while saving");
    assert_eq!(json(&saved), json(&fresh));
    // Reopened with one replicate's state lost.
    std::fs::remove_file(dir.path().join(".exosim-resume/tissue-1-0.state")).unwrap();
    let store = Checkpoints::open(dir.path(), "{\"seed\":3}", true).unwrap();
    let saving = Saving {
        store: &store,
        every: Duration::MAX,
    };
    let again = study::run_saving(&s, &model, Some(&saving)).expect("reads back");
    assert_eq!(json(&again), json(&fresh));
}
