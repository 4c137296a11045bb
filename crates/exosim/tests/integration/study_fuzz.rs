//! Mutated shipped studies never make the study reader panic.
//!
//! Each case takes a shipped study and applies one to four mutations: a
//! value replaced by an extreme number, a unit of another size or kind, a
//! huge count or an empty list; a line deleted; a line duplicated. Whatever
//! comes out, `parse_study` returns a study or a located error, without
//! panicking and without allocating beyond the documented limits (a panic or
//! an abort fails the test).
//!
//! The default run is short (`FUZZ_DEFAULT_CASES` cases, a few seconds);
//! set `PROPTEST_CASES` for a long one, e.g.
//! `PROPTEST_CASES=100000 cargo test --release -p exosim --test study_fuzz`.

use std::sync::OnceLock;

use proptest::prelude::*;

const FUZZ_DEFAULT_CASES: u32 = 20_000;

/// Replacement values: extreme numbers, units of other sizes and kinds,
/// huge counts, empty and odd text.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2.5",
    "2e6",
    "1e9",
    "2e18",
    "1e300",
    "-1e300",
    "1e-300",
    "nan",
    "inf",
    "-inf",
    "18446744073709551615",
    "-9223372036854775808",
    "\"0 s\"",
    "\"1e-300 s\"",
    "\"1e300 s\"",
    "\"-5 L\"",
    "\"1 month\"",
    "\"1 y\"",
    "\"0 nm\"",
    "\"1e30 /h\"",
    "\"1e-30 /h\"",
    "\"1e6 cm/s\"",
    "\"100 nm\"",
    "\"37 degC\"",
    "\"1e12 /mL\"",
    "\"1e300 mL\"",
    "\"\"",
    "\"x\"",
    "\"main\"",
    "[]",
    "[\"1 s\", \"1 s\"]",
    "true",
    "{}",
];

fn studies() -> &'static Vec<(String, String)> {
    static STUDIES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    STUDIES.get_or_init(|| shipped_files("studies", 10))
}

/// The `.toml` files of the repository folder `folder`, (path, text), in
/// path order; at least `at_least` of them.
pub(crate) fn shipped_files(folder: &str, at_least: usize) -> Vec<(String, String)> {
    let dir = format!("{}/../../{folder}", env!("CARGO_MANIFEST_DIR"));
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("shipped file");
            (p.display().to_string(), text)
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= at_least,
        "the shipped files of {folder}/ are missing"
    );
    out
}

#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// The value of the n-th `key = value` line (modulo their number).
    Value(usize, usize),
    /// The n-th line deleted.
    Delete(usize),
    /// The n-th line written twice.
    Duplicate(usize),
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Mutation::Value(l, v)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        2 => any::<usize>().prop_map(Mutation::Duplicate),
    ]
}

pub(crate) fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return String::new();
    }
    match *m {
        Mutation::Value(n, v) => {
            let assignments: Vec<usize> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    let t = l.trim_start();
                    !t.starts_with('#') && !t.starts_with('[') && t.contains(" = ")
                })
                .map(|(i, _)| i)
                .collect();
            if let Some(&i) = assignments.get(n % assignments.len().max(1)) {
                let key = lines[i].split(" = ").next().unwrap_or("").to_string();
                lines[i] = format!("{key} = {}", VALUES[v]);
            }
        }
        Mutation::Delete(n) => {
            let i = n % lines.len();
            lines.remove(i);
        }
        Mutation::Duplicate(n) => {
            let i = n % lines.len();
            let l = lines[i].clone();
            lines.insert(i, l);
        }
    }
    lines.join("\n") + "\n"
}

/// `PROPTEST_CASES` when set, else `default`.
pub(crate) fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(FUZZ_DEFAULT_CASES),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_shipped_studies_never_panic(
        which in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let all = studies();
        let (path, text) = &all[which % all.len()];
        let mut mutated = text.clone();
        for m in &mutations {
            mutated = apply(&mutated, m);
        }
        // The path keeps relative files (a csv placement) resolvable.
        match exosim::scenario::parse_study(&mutated, path) {
            Ok(study) => {
                // A study that validates holds within its limits.
                prop_assert!(study.output_times.len() <= exosim::scenario::resolve::MAX_OUTPUT_TIMES + 1);
                if let Some(t) = &study.tissue {
                    prop_assert!(t.max_particles as u64 <= exosim::scenario::tissue_spec::MAX_PARTICLES);
                    prop_assert!(t.max_cells as u64 <= exosim::scenario::tissue_spec::MAX_CELLS);
                }
            }
            Err(e) => {
                // A located error: a line within the file and a message.
                prop_assert!(e.line >= 1 && e.line <= mutated.lines().count().max(1) + 1, "{e}");
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}
