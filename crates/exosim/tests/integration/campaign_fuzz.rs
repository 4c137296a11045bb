//! Mutated shipped campaigns never make the campaign reader panic.
//!
//! The mutations of `study_fuzz` (a value replaced by an extreme number, a
//! unit of another size or kind, an empty list or odd text; a line deleted
//! or written twice), one to four of them, on each shipped campaign file.
//! Whatever comes out, `Campaign::parse` (which also reads the study the
//! campaign names, its data files, and the study at the design's corners)
//! returns a campaign within the documented limits or a located error,
//! without panicking.
//!
//! The default run is short (`FUZZ_DEFAULT_CASES`, a few seconds); set
//! `PROPTEST_CASES` for a long one, e.g.
//! `PROPTEST_CASES=20000 cargo test --release -p exosim --test integration campaign_fuzz`.

use std::sync::OnceLock;

use exosim::campaign::Campaign;
use proptest::prelude::*;

use crate::study_fuzz::{apply, cases, mutation, shipped_files};

const FUZZ_DEFAULT_CASES: u32 = 5_000;

fn campaigns() -> &'static Vec<(String, String)> {
    static CAMPAIGNS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    CAMPAIGNS.get_or_init(|| shipped_files("campaigns", 5))
}

/// Every shipped campaign reads as it is: the mutations start from valid files.
#[test]
fn shipped_campaigns_read() {
    for (path, text) in campaigns() {
        if let Err(e) = Campaign::parse(text, path) {
            panic!("{e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(FUZZ_DEFAULT_CASES),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_shipped_campaigns_never_panic(
        which in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let all = campaigns();
        let (path, text) = &all[which % all.len()];
        let mut mutated = text.clone();
        for m in &mutations {
            mutated = apply(&mutated, m);
        }
        // The path keeps the study and data files resolvable.
        match Campaign::parse(&mutated, path) {
            Ok(c) => {
                prop_assert!(!c.is_empty() && c.len() <= exosim::campaign::resolve::MAX_RUNS);
            }
            Err(e) => {
                prop_assert!(e.line >= 1 && e.line <= mutated.lines().count().max(1) + 1, "{e}");
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}
