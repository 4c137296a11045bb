use super::*;
use crate::campaign::distribution::Distribution;

/// A noisy measurement of each parameter's working coordinate: summary
/// i is zᵢ + 0.2·N(0, 1), the noise from the run's seed.
fn noisy_identity(priors: &[AbcPrior], values: &[f64], seed: u64) -> Option<Vec<f64>> {
    let mut rng = stream(seed, 1, 0);
    Some(
        priors
            .iter()
            .zip(values)
            .map(|(p, &x)| p.to_z(x) + 0.2 * rng.sample::<f64, _>(StandardNormal))
            .collect(),
    )
}

fn settings(population: usize, generations: usize, seed: u64) -> Settings {
    Settings {
        population,
        generations,
        quantile: 0.5,
        min_acceptance: 0.01,
        tolerance: None,
        seed,
    }
}

fn run(priors: &[AbcPrior], data: &[f64], sds: Option<Vec<f64>>, s: &Settings) -> Sampled {
    let simulate = |v: &[f64], seed: u64| noisy_identity(priors, v, seed);
    let m = Model {
        priors,
        data,
        error_model: ErrorModel::Additive,
        sds,
        simulate: &simulate,
    };
    sample(&m, s, None, &mut |_| {}).unwrap()
}

/// The ABC posterior of a normal mean under a flat prior, with a uniform
/// kernel on a Euclidean ball of radius ε in d dimensions: each
/// coordinate is the data plus the noise (sd 0.2) plus a uniform point of
/// the ball, whose per-coordinate variance is ε²/(d + 2). Mean z_obs,
/// variance 0.04 + ε²/(d + 2).
#[test]
fn the_posterior_is_the_normal_law_widened_by_the_tolerance_ball() {
    let priors = vec![
        AbcPrior::of(&Distribution::Uniform {
            low: -5.0,
            high: 5.0,
        }),
        AbcPrior::of(&Distribution::LogUniform {
            low: 1e-3,
            high: 1e3,
        }),
    ];
    let data = [1.3, 2.0];
    let s = settings(1000, 8, 7);
    let out = run(&priors, &data, Some(vec![1.0, 1.0]), &s);
    let last = out.generations.last().unwrap();
    assert_eq!(out.stop, Some(Stop::Generations));
    assert_eq!(out.generations.len(), 9);
    let eps = last.epsilon.unwrap();
    let var = 0.04 + eps * eps / 4.0;
    let ess = last.ess();
    for (j, &z_obs) in data.iter().enumerate() {
        let z: Vec<(f64, f64)> = last
            .particles
            .iter()
            .map(|p| (priors[j].to_z(p.values[j]), p.weight))
            .collect();
        let mean: f64 = z.iter().map(|(x, w)| w * x).sum();
        let v: f64 = z.iter().map(|(x, w)| w * (x - mean).powi(2)).sum();
        let se = (var / ess).sqrt();
        println!(
            "θ{j}: mean {mean:.4} (data {z_obs}, se {se:.4}), var {v:.5} vs {var:.5}, ε {eps:.4}, ESS {ess:.0}"
        );
        assert!((mean - z_obs).abs() < 4.0 * se, "mean {mean} vs {z_obs}");
        // The sd of a variance estimate is var·√(2/ESS): 4 of them.
        assert!(
            (v - var).abs() < 4.0 * var * (2.0 / ess).sqrt(),
            "var {v} vs {var}"
        );
    }
    // Tolerances shrink, and the posterior is far narrower than the prior.
    let eps: Vec<f64> = out.generations.iter().filter_map(|g| g.epsilon).collect();
    assert!(eps.windows(2).all(|w| w[1] < w[0]), "{eps:?}");
}

/// Credible intervals of a posterior are calibrated over data drawn from
/// the prior (Cook, Gelman & Rubin 2006): 95 % intervals cover the true
/// value in 95 % of data sets, and ABC's tolerance only widens them.
#[test]
fn credible_intervals_cover_the_truth_at_their_level() {
    let prior = vec![AbcPrior::of(&Distribution::Uniform {
        low: -5.0,
        high: 5.0,
    })];
    let trials = 100;
    let mut covered = 0;
    for i in 0..trials {
        let mut rng = stream(99, 2, i);
        let truth = -4.0 + 8.0 * rng.random::<f64>();
        let y = truth + 0.2 * rng.sample::<f64, _>(StandardNormal);
        let out = run(&prior, &[y], None, &settings(200, 5, i));
        let last = out.generations.last().unwrap();
        let (lo, hi) = (
            weighted_quantile(last, 0, 0.025),
            weighted_quantile(last, 0, 0.975),
        );
        covered += u32::from(lo <= truth && truth <= hi);
    }
    let rate = f64::from(covered) / trials as f64;
    println!("coverage of 95 % intervals: {rate} over {trials} data sets");
    assert!((0.90..=0.99).contains(&rate), "{rate}");
}

/// Proposals are kept in index order whatever runs them: one thread and
/// two give the same generations, bit for bit.
#[test]
fn the_population_does_not_depend_on_the_thread_count() {
    let prior = vec![AbcPrior::of(&Distribution::Normal { mean: 0.0, sd: 2.0 })];
    let s = settings(200, 4, 3);
    let on = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| run(&prior, &[0.7], None, &s))
    };
    assert_eq!(on(1), on(2));
}

/// A sampler resumed from its second generation ends where the whole
/// run ends.
#[test]
fn a_resumed_sampler_ends_where_the_whole_run_ends() {
    let prior = vec![AbcPrior::of(&Distribution::LogNormal {
        mean: 1.0,
        cv: 1.0,
    })];
    let s = settings(150, 5, 5);
    let simulate = |v: &[f64], seed: u64| noisy_identity(&prior, v, seed);
    let m = Model {
        priors: &prior,
        data: &[0.3],
        error_model: ErrorModel::Additive,
        sds: None,
        simulate: &simulate,
    };
    let mut second = None;
    let whole = sample(&m, &s, None, &mut |st| {
        if st.generations.len() == 2 {
            second = Some(st.clone());
        }
    })
    .unwrap();
    let second: Sampled =
        serde_json::from_str(&serde_json::to_string(&second.unwrap()).unwrap()).unwrap();
    assert_eq!(sample(&m, &s, Some(second), &mut |_| {}).unwrap(), whole);
}

/// `tolerance` ends the sampler once ε reaches it.
#[test]
fn the_sampler_stops_at_its_tolerance() {
    let prior = vec![AbcPrior::of(&Distribution::Uniform {
        low: -5.0,
        high: 5.0,
    })];
    let mut s = settings(200, 50, 1);
    s.tolerance = Some(0.2);
    let out = run(&prior, &[0.0], Some(vec![1.0]), &s);
    assert_eq!(out.stop, Some(Stop::Tolerance));
    let eps: Vec<f64> = out.generations.iter().filter_map(|g| g.epsilon).collect();
    assert!(
        eps.last().unwrap() <= &0.2 && eps[eps.len() - 2] > 0.2,
        "{eps:?}"
    );
}

/// A model whose runs are noise (sd 10) around the data keeps a share of
/// its proposals that falls with ε (about 0.08·ε): the sampler stops on
/// `min_acceptance` after a few generations, keeping the last full one.
#[test]
fn the_sampler_stops_when_too_few_proposals_are_kept() {
    let prior = vec![AbcPrior::of(&Distribution::Uniform {
        low: 0.0,
        high: 1.0,
    })];
    let simulate = |v: &[f64], seed: u64| {
        let mut rng = stream(seed, 1, 0);
        Some(vec![v[0] + 10.0 * rng.sample::<f64, _>(StandardNormal)])
    };
    let m = Model {
        priors: &prior,
        data: &[0.0],
        error_model: ErrorModel::Additive,
        sds: Some(vec![1.0]),
        simulate: &simulate,
    };
    let mut s = settings(100, 30, 2);
    s.min_acceptance = 0.05;
    let out = sample(&m, &s, None, &mut |_| {}).unwrap();
    let rates: Vec<f64> = out.generations.iter().map(Generation::acceptance).collect();
    println!("acceptance by generation: {rates:?}");
    assert_eq!(out.stop, Some(Stop::Acceptance));
    assert!((3..10).contains(&out.generations.len()), "{rates:?}");
}
