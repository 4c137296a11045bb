//! A parallel screening cohort gives the same summary whatever the thread
//! count and the chunk size: every individual has its own random stream and
//! the aggregates merge exactly.

use exosim::biopsy::screening::{
    ScreeningModel, ThresholdRule, resolve_threshold, screen_cohort, screen_cohort_parallel,
};

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn parallel_cohort_is_independent_of_threads_and_chunks() {
    let mut model = ScreeningModel::example();
    let seed = 2024;
    model.threshold = resolve_threshold(&model, ThresholdRule::Specificity(0.95), 2_000, seed);
    let n = 3_001;
    let one = in_pool(1, || screen_cohort_parallel(&model, n, seed, 64));
    let two = in_pool(2, || screen_cohort_parallel(&model, n, seed, 64));
    let serial = screen_cohort(&model, n, seed, 1_000);
    assert_eq!(one, two);
    assert_eq!(one, serial);
    let other_chunk = in_pool(2, || screen_cohort_parallel(&model, n, seed, 7));
    assert_eq!(one, other_chunk);
    assert_eq!(one.n, n);
    assert!(one.detected > 0, "{one:?}");
}

#[test]
fn parallel_cohort_deterministic_mode_and_empty_cohort() {
    let mut model = ScreeningModel::example();
    model.deterministic = true;
    let a = in_pool(2, || screen_cohort_parallel(&model, 10, 1, 3));
    assert_eq!(a, screen_cohort(&model, 10, 1, 4));
    assert!(a.crossing.is_some());
    let empty = in_pool(2, || screen_cohort_parallel(&model, 0, 1, 3));
    assert_eq!(empty.n, 0);
    assert_eq!(empty.crossing, screen_cohort(&model, 0, 1, 4).crossing);
}
