//! The signature's logistic regression on the shipped autoimmune panel's
//! cohorts, against the fit that linfa-logistic 0.8.1 (the crate exosim used
//! before its own Newton fit) made of the same data.

use std::path::Path;

use exosim::biopsy::panel::DOMAIN_HEALTHY;
use exosim::biopsy::signature::{ConditionSpec, Signature, generate_cohort};
use exosim::scenario::load_study;

/// (condition, weights, intercept) of each full-cohort fit.
fn fits() -> Vec<(String, Vec<f64>, f64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/autoimmune_panel.toml");
    let study = load_study(&path).unwrap_or_else(|e| panic!("{e}"));
    let s = study.signature.as_ref().expect("a signature study");
    let k = s.markers.len();
    let healthy = generate_cohort(
        &s.markers,
        &ConditionSpec::healthy(k),
        &s.correlation,
        s.cohort,
        study.seed,
        DOMAIN_HEALTHY,
    )
    .expect("healthy cohort");
    s.conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let cases = generate_cohort(
                &s.markers,
                c,
                &s.correlation,
                s.cohort,
                study.seed,
                DOMAIN_HEALTHY + 1 + i as u64,
            )
            .expect("case cohort");
            let fit = Signature::fit(&cases, &healthy, s.lambda).expect("fit");
            (c.name.clone(), fit.weights().to_vec(), fit.intercept())
        })
        .collect()
}

/// linfa-logistic 0.8.1's fits of the same cohorts (L-BFGS stopped at a
/// gradient norm of 1e-4), recorded before exosim replaced it.
const LINFA: [(&str, [f64; 6], f64); 2] = [
    (
        "lupus",
        [
            1.3677475477942527,
            0.8306407951489545,
            -0.7387385126088155,
            -0.4181861455433665,
            0.3356203739480775,
            0.16363829262542004,
        ],
        0.0065249421198368025,
    ),
    (
        "rheumatoid_arthritis",
        [
            0.14056307702586424,
            0.1325393436217694,
            -0.09900517246192674,
            1.4198043844998962,
            0.32756350974664095,
            -0.4481481750372731,
        ],
        0.025863321163448055,
    ),
];

#[test]
fn newton_fit_matches_the_previous_linfa_fit() {
    let mut worst: f64 = 0.0;
    for ((name, w, b), (linfa_name, linfa_w, linfa_b)) in fits().into_iter().zip(LINFA) {
        assert_eq!(name, linfa_name);
        for (ours, theirs) in w.iter().chain([&b]).zip(linfa_w.iter().chain([&linfa_b])) {
            let d = (ours - theirs).abs();
            println!("{name}: {ours:.12} vs linfa {theirs:.12} (difference {d:.1e})");
            worst = worst.max(d);
        }
    }
    println!("largest difference from linfa: {worst:.2e}");
    assert!(worst < 1e-6, "{worst:e}");
}
