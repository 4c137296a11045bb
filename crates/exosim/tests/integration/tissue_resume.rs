//! Resuming long tissue runs: a replicate stopped at any step boundary and
//! continued from its saved state gives exactly the results of an
//! uninterrupted run (randomness is keyed by seed and step, and every
//! changing part of the run is saved), and a whole study resumed from a
//! store holding finished and unfinished replicates matches a fresh run.

use std::time::Duration;

use exosim::coupling::tissue_section::{self as study, Saving, replicate_seed};
use exosim::output::Checkpoints;
use exosim::scenario::parse_study;
use exosim::tissue::engine::{Resume, SavedRun, SavedRunRef, TissueError, TissueRun};

/// The small tumour–immune tissue of `tissue_study.rs`: secretion, cargo,
/// both rule triggers, killing, division, death, motility, an inhibitor,
/// draining and absorbing faces.
const SMALL: &str = include_str!("../fixtures/small_tissue.toml");

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
/// replicates as a run that never saved; resumed from its store, a lost
/// replicate reruns to the same result and finished ones are read back.
#[test]
fn a_study_resumed_from_its_store_equals_a_fresh_run() {
    let s = parse_study(SMALL, "small.toml").expect("valid study");
    let model = s.tissue.clone().expect("a tissue section");
    let fresh = study::run_in(&s.plan(), s.seed, &model).expect("runs");
    let dir = tempfile::tempdir().unwrap();
    let store = Checkpoints::open(dir.path(), "{\"seed\":3}", false).unwrap();
    let saving = Saving {
        store: &store,
        every: Duration::ZERO,
    };
    let saved =
        study::run_saving(&s.plan(), s.seed, &model, Some(&saving)).expect("runs while saving");
    assert_eq!(json(&saved), json(&fresh));
    // Reopened with one replicate's state lost, and another's replaced by
    // a different finished replicate: what the store holds is what comes
    // back, so the finished ones are read, not rerun.
    let states = dir.path().join(".exosim-resume");
    std::fs::remove_file(states.join("tissue-1-0.state")).unwrap();
    std::fs::copy(
        states.join("tissue-0-1.state"),
        states.join("tissue-0-0.state"),
    )
    .unwrap();
    let store = Checkpoints::open(dir.path(), "{\"seed\":3}", true).unwrap();
    let saving = Saving {
        store: &store,
        every: Duration::MAX,
    };
    let again = study::run_saving(&s.plan(), s.seed, &model, Some(&saving)).expect("reads back");
    // Jobs are (variant, replicate), variants first.
    assert_eq!(json(&again[0]), json(&fresh[1]), "read back from the store");
    assert_ne!(json(&fresh[0]), json(&fresh[1]));
    for k in 1..again.len() {
        assert_eq!(json(&again[k]), json(&fresh[k]), "job {k}");
    }
}
