//! Body arms as the groups of a blood test of conditions: each arm's
//! steady plasma level of the marker's vesicle class (the body engine's
//! network solved at steady state, `crate::body::steady`) is the level its
//! condition's median person lives at, so that a test for, say, gut
//! barrier dysfunction reads levels the body engine made, not numbers
//! typed in by hand.

use crate::biopsy::condition_test::{Crossing, Group};
use crate::body::model::{Plan, SourceSite};
use crate::body::{pbpk, steady};

/// What one arm gives the test.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmLevel {
    /// The arm's group: its steady plasma level (per m³) and, when every
    /// release of the class is into the gut lumen, its barrier.
    pub group: Group,
    /// Load of the busiest macrophage site over its Km at steady state:
    /// how far the body beyond the barrier is from linear.
    pub saturation: f64,
}

/// Why an arm cannot give a level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelError {
    /// The arm has no constant release of the class: its steady level is 0
    /// whatever the condition.
    NotReleased,
    /// The steady state could not be solved (in words).
    Steady(String),
}

/// The steady level of the class `class` in arm `arm` of `plan`.
pub fn arm_level(plan: &Plan, arm: usize, class: usize) -> Result<ArmLevel, LevelError> {
    let a = &plan.arms[arm];
    let sources: Vec<_> = a.sources.iter().filter(|s| s.class == class).collect();
    if sources.iter().all(|s| s.rate <= 0.0) {
        return Err(LevelError::NotReleased);
    }
    let model = pbpk::build(plan, a);
    let y = steady::steady_state(a, &model).map_err(LevelError::Steady)?;
    let level = steady::plasma_level(a, &model, &y, class).ok_or(LevelError::NotReleased)?;
    let barrier = &a.body.gut_barrier;
    let crossing = sources
        .iter()
        .all(|s| s.site == SourceSite::GutLumen)
        .then_some(Crossing {
            permeability: barrier.permeability,
            translocation_rate: barrier.translocation,
            transit_rate: barrier.transit,
        });
    let saturation = model
        .network
        .sites
        .iter()
        .map(|site| {
            let load: f64 = (site.members.iter())
                .map(|m| m.affinity * y[m.from] / m.volume)
                .sum();
            load / site.km
        })
        .fold(0.0, f64::max);
    Ok(ArmLevel {
        group: Group {
            name: a.name.clone(),
            level,
            crossing,
        },
        saturation,
    })
}
