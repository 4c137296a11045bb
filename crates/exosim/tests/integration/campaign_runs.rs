//! Campaigns run as a whole, in shards, on any number of threads, and
//! after a kill: the same bytes every time. Wrong campaign files get a
//! located message.

use std::path::{Path, PathBuf};

use exosim::campaign::{self, Campaign, Shard, merge, runner};

/// The merged files of a campaign without a trial (the first four of
/// `merge::MERGED_FILES`; a trial adds its own, tests/integration/trials.rs).
const MERGED: [&str; 4] = [
    merge::MERGED_FILES[0],
    merge::MERGED_FILES[1],
    merge::MERGED_FILES[2],
    merge::MERGED_FILES[3],
];

fn studies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies")
}

/// A campaign file beside the shipped studies' folder, in `dir`.
#[allow(clippy::result_large_err)] // the error is what the tests read
fn campaign_in(dir: &Path, body: &str) -> Result<Campaign, exosim::scenario::StudyError> {
    let study = studies().join("rvg_brain_targeting.toml");
    let text = format!(
        "[campaign]\nname = \"t\"\nstudy = \"{}\"\nseed = 3\n{body}",
        study.display()
    );
    let path = dir.join("c.toml");
    std::fs::write(&path, text).unwrap();
    Campaign::load(&path)
}

const SALTELLI: &str = r#"
[design]
method = "saltelli"
points = 8
bootstrap = 50

[[parameters]]
path = "body.affinity.RVG.brain"
distribution = "log_uniform"
low = 3
high = 300

[[parameters]]
path = "body.mps.capacity"
distribution = "uniform"
low = 0.1
high = 1.0

[[observables]]
name = "brain_4h"
kind = "fraction_of_dose"
arm = "RVG"
place = "brain"
time = "4 h"
"#;

fn bytes(dir: &Path) -> Vec<Vec<u8>> {
    MERGED
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap_or_default())
        .collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn shards_merged_give_the_bytes_of_the_whole_run_on_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let c = campaign_in(tmp.path(), SALTELLI).unwrap();
    assert_eq!(c.len(), 8 * (2 + 2));
    let whole = tmp.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    pool(1)
        .install(|| campaign::run_whole(&c, &whole, |_, _| {}))
        .unwrap();
    let reference = bytes(&whole);
    assert!(
        reference.iter().all(|b| !b.is_empty()),
        "every merged file is written"
    );
    for threads in [1, 2] {
        for n in [1, 2, 3, 7] {
            let mut dirs = Vec::new();
            for i in 1..=n {
                let d = tmp.path().join(format!("t{threads}-n{n}-p{i}"));
                std::fs::create_dir(&d).unwrap();
                let shard = Shard { index: i, count: n };
                pool(threads)
                    .install(|| runner::run_shard(&c, shard, &d, |_, _| {}))
                    .unwrap();
                dirs.push(d);
            }
            let out = tmp.path().join(format!("t{threads}-n{n}-merged"));
            std::fs::create_dir(&out).unwrap();
            merge::merge(&dirs, &out).unwrap();
            assert_eq!(bytes(&out), reference, "{n} shards on {threads} thread(s)");
        }
    }
}

#[test]
fn shards_split_the_points_without_gap_or_overlap() {
    for runs in [0, 1, 5, 48, 1001] {
        for n in 1..=9 {
            let mut next = 0;
            for i in 1..=n {
                let r = Shard { index: i, count: n }.range(runs);
                assert_eq!(r.start, next);
                assert!(r.end - r.start <= runs / n + 1);
                next = r.end;
            }
            assert_eq!(next, runs);
        }
    }
    assert!("0/3".parse::<Shard>().is_err());
    assert!("4/3".parse::<Shard>().is_err());
    assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
}

#[test]
fn a_killed_run_resumes_from_its_journal_to_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let c = campaign_in(tmp.path(), SALTELLI).unwrap();
    let whole = tmp.path().join("whole");
    std::fs::create_dir(&whole).unwrap();
    pool(1)
        .install(|| campaign::run_whole(&c, &whole, |_, _| {}))
        .unwrap();

    let killed = tmp.path().join("killed");
    std::fs::create_dir(&killed).unwrap();
    // A kill after the first chunk: the progress callback stops the run.
    let stop = std::panic::catch_unwind(|| {
        pool(1).install(|| campaign::run_whole(&c, &killed, |done, _| assert!(done == 0, "killed")))
    });
    assert!(stop.is_err());
    let journal = killed.join(Shard::WHOLE.file("jsonl"));
    let kept = std::fs::read_to_string(&journal).unwrap();
    let lines = kept.lines().count();
    assert!(
        lines > 1 && lines < 1 + c.len() as usize,
        "{lines} lines kept"
    );
    // …and a line cut in the middle of its write.
    std::fs::write(&journal, format!("{kept}{{\"point\":{},\"obs", lines - 1)).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    pool(2)
        .install(|| campaign::run_whole(&c, &killed, |done, _| seen.lock().unwrap().push(done)))
        .unwrap();
    let first = seen.lock().unwrap()[0];
    assert_eq!(
        first,
        (lines - 1) as u64,
        "the kept points are not run again"
    );
    assert_eq!(bytes(&killed), bytes(&whole));
    assert!(!journal.exists());
}

#[test]
fn merging_refuses_parts_of_another_campaign_and_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = campaign_in(tmp.path(), SALTELLI).unwrap();
    let b = campaign_in(tmp.path(), &SALTELLI.replace("points = 8", "points = 4")).unwrap();
    assert_ne!(a.fingerprint, b.fingerprint);
    let dir = |name: &str| {
        let d = tmp.path().join(name);
        std::fs::create_dir(&d).unwrap();
        d
    };
    let (a1, b2, a3) = (dir("a1"), dir("b2"), dir("a3"));
    runner::run_shard(&a, Shard { index: 1, count: 3 }, &a1, |_, _| {}).unwrap();
    runner::run_shard(&b, Shard { index: 2, count: 3 }, &b2, |_, _| {}).unwrap();
    runner::run_shard(&a, Shard { index: 3, count: 3 }, &a3, |_, _| {}).unwrap();
    let out = dir("out");
    let e = merge::merge(&[a1.clone(), b2], &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not belong"), "{e}");
    let e = merge::merge(&[a1.clone(), a3], &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing parts: 2 of 3"), "{e}");
    let e = merge::merge(&[a1.clone(), a1], &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than once: 1"), "{e}");
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "a refused merge writes nothing"
    );
}

/// The message of a campaign that does not load.
fn error_of(body: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let e = campaign_in(tmp.path(), body).unwrap_err();
    assert!(e.file.ends_with("c.toml") && e.line > 0, "{e}");
    e.to_string()
}

#[test]
fn wrong_campaigns_are_refused_with_the_key_and_a_hint() {
    let path = error_of(&SALTELLI.replace("body.mps.capacity", "body.mps.capacty"));
    assert!(
        path.contains("parameters[1].path") && path.contains("did you mean `body.mps.capacity`"),
        "{path}"
    );
    let unit = error_of(&SALTELLI.replace("low = 0.1", "low = \"0.1 nm\""));
    assert!(unit.contains("differs from"), "{unit}");
    let reversed = error_of(&SALTELLI.replace("low = 3\nhigh = 300", "low = 300\nhigh = 3"));
    assert!(reversed.contains("parameters[0]"), "{reversed}");
    let spread = error_of(
        &SALTELLI
            .replace("method = \"saltelli\"", "method = \"random\"")
            .replace(
                "distribution = \"uniform\"\nlow = 0.1\nhigh = 1.0",
                "distribution = \"normal\"\nmean = 0.5\nsd = -0.1",
            ),
    );
    assert!(spread.contains("parameters[1]"), "{spread}");
    let observable = error_of(&SALTELLI.replace("place = \"brain\"", "place = \"brian\""));
    assert!(
        observable.contains("observables[0]") && observable.contains("brain"),
        "{observable}"
    );
    let study = error_of(&SALTELLI.replace("[design]", "[design]\nmethod2 = 1"));
    assert!(study.contains("method2"), "{study}");
    let value = error_of(&SALTELLI.replace("low = 0.1", "low = -0.5"));
    assert!(
        value.contains("body.mps.capacity") && value.contains("negative"),
        "{value}"
    );
}

#[test]
fn a_point_is_its_index_whatever_runs_it() {
    let tmp = tempfile::tempdir().unwrap();
    let c = campaign_in(tmp.path(), SALTELLI).unwrap();
    let p = c.point(17);
    assert_eq!(p, c.point(17));
    assert_ne!(p.seed, c.point(18).seed);
    assert!(p.seed < 1 << 53);
    let a = runner::run_point(&c, 17);
    let b = pool(2).install(|| runner::run_point(&c, 17));
    assert_eq!(a, b);
    assert!(a.error.is_none() && a.observed[0].is_some_and(|x| x > 0.0 && x < 1.0));
}
