//! The vector instruction sets exosim's kernels can use, detected once per
//! process, and the one place that chooses among them.
//!
//! Two kernels have vectorised copies, each for scalar, AVX2 and AVX-512:
//! the screening cohort's lanes (`biopsy::cohort`, with its vector
//! exponential and random words) and the tissue's uptake passes
//! (`tissue::uptake`).
//! In each, the scalar kernel is the reference: it reads as the model, and
//! every vector copy does the same IEEE operations in the same order (no
//! fused multiply–add), so the results are identical bit for bit whichever
//! path runs (tested per kernel, and end to end on whole studies).
//!
//! By default each kernel runs the widest path the processor has. The
//! environment variable [`SIMD_ENV`] (`EXOSIM_SIMD`) forces one:
//! `scalar`, `avx2`, `avx512`, or `auto` (the default). A kernel without a
//! copy for the chosen path would run its widest copy below it (today
//! every kernel has every path). A path the
//! processor lacks, or a value that names no path, is not an error, since
//! every path gives the same results: exosim says so once on stderr and
//! runs the widest path the processor has below the one asked for.

use std::sync::OnceLock;

/// The environment variable that forces a path: `scalar`, `avx2`,
/// `avx512` or `auto`.
pub const SIMD_ENV: &str = "EXOSIM_SIMD";

/// The environment variable that makes the bit-identity tests fail when
/// the processor lacks a path (a comma-separated list, e.g.
/// `avx2,avx512`): so that a CI run cannot pass without comparing them.
pub const REQUIRE_ENV: &str = "EXOSIM_REQUIRE_SIMD";

/// A family of vector instructions a kernel may run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdPath {
    /// Plain Rust, compiled for the baseline of the target (SSE2 on
    /// x86-64): the reference.
    Scalar,
    /// x86-64 with AVX2.
    Avx2,
    /// x86-64 with AVX-512 F, BW, VL and DQ (and AVX2).
    Avx512,
}

impl SimdPath {
    /// Every path, narrowest first.
    pub const ALL: [SimdPath; 3] = [SimdPath::Scalar, SimdPath::Avx2, SimdPath::Avx512];

    /// The path's name, as [`SIMD_ENV`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            SimdPath::Scalar => "scalar",
            SimdPath::Avx2 => "avx2",
            SimdPath::Avx512 => "avx512",
        }
    }

    /// The path named `name` (as [`SimdPath::name`] gives it, any case).
    pub fn parse(name: &str) -> Option<SimdPath> {
        let name = name.trim();
        SimdPath::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Whether this processor can run the path (detected once).
    pub fn is_available(self) -> bool {
        static DETECTED: OnceLock<[bool; 3]> = OnceLock::new();
        DETECTED.get_or_init(detect)[self as usize]
    }

    /// The paths this processor can run, narrowest first.
    pub fn available() -> Vec<SimdPath> {
        SimdPath::ALL
            .into_iter()
            .filter(|p| p.is_available())
            .collect()
    }

    /// `self` where the processor has it, else the widest path it has
    /// below `self` (at least [`SimdPath::Scalar`]). Kernels dispatch on
    /// this, so a path they run is always one the processor has.
    pub fn or_below(self) -> SimdPath {
        SimdPath::ALL[..=self as usize]
            .iter()
            .rev()
            .copied()
            .find(|p| p.is_available())
            .unwrap_or(SimdPath::Scalar)
    }

    /// The path the kernels run in this process: [`SIMD_ENV`] when set,
    /// else the widest the processor has (chosen once; see the module).
    pub fn current() -> SimdPath {
        static CHOSEN: OnceLock<SimdPath> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let request = std::env::var(SIMD_ENV).ok();
            let (path, note) = choose(request.as_deref(), SimdPath::is_available);
            if let Some(note) = note {
                eprintln!("exosim: {note}");
            }
            path
        })
    }
}

impl std::fmt::Display for SimdPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What each path needs of this processor.
fn detect() -> [bool; 3] {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let avx2 = has!("avx2");
        let avx512 =
            avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512dq");
        [true, avx2, avx512]
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        [true, false, false]
    }
}

/// The path for a [`SIMD_ENV`] value `request` on a processor that has the
/// paths `has` accepts, and what to tell the user when that is not the one
/// asked for.
fn choose(request: Option<&str>, has: impl Fn(SimdPath) -> bool) -> (SimdPath, Option<String>) {
    let widest_below = |top: SimdPath| {
        SimdPath::ALL[..=top as usize]
            .iter()
            .rev()
            .copied()
            .find(|&p| has(p))
            .unwrap_or(SimdPath::Scalar)
    };
    let best = widest_below(SimdPath::Avx512);
    let request = request.map(str::trim).unwrap_or("");
    if request.is_empty() || request.eq_ignore_ascii_case("auto") {
        return (best, None);
    }
    match SimdPath::parse(request) {
        Some(path) if has(path) => (path, None),
        Some(path) => {
            let ran = widest_below(path);
            let note = format!(
                "{SIMD_ENV}={request} asks for {}, which this processor lacks; running the \
                 {ran} path (the results are the same on every path)",
                describe(path)
            );
            (ran, Some(note))
        }
        None => {
            let note = format!(
                "{SIMD_ENV}={request} names no path (scalar, avx2, avx512 or auto); running the \
                 {best} path"
            );
            (best, Some(note))
        }
    }
}

/// The instruction sets of `path`, for messages.
fn describe(path: SimdPath) -> &'static str {
    match path {
        SimdPath::Scalar => "the scalar path",
        SimdPath::Avx2 => "AVX2",
        SimdPath::Avx512 => "AVX-512 (F, BW, VL and DQ)",
    }
}

/// For the bit-identity tests of a kernel whose copies are `kernel_paths`:
/// the paths to compare, those of `kernel_paths` this processor has (the
/// scalar reference first). Prints which paths `test` compares, and panics
/// (fails the test) when [`REQUIRE_ENV`] names a path the processor lacks
/// or a name that is no path.
#[doc(hidden)]
pub fn paths_to_compare(test: &str, kernel_paths: &[SimdPath]) -> Vec<SimdPath> {
    let required = std::env::var(REQUIRE_ENV).unwrap_or_default();
    let mut lacking = Vec::new();
    for name in required.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match SimdPath::parse(name) {
            Some(p) if p.is_available() => {}
            Some(p) => lacking.push(p.name().to_string()),
            None => {
                panic!("{REQUIRE_ENV}={required}: {name:?} names no path (scalar, avx2, avx512)")
            }
        }
    }
    assert!(
        lacking.is_empty(),
        "{test}: {REQUIRE_ENV}={required} requires {}, which this processor lacks (it has {})",
        lacking.join(", "),
        names(&SimdPath::available())
    );
    let paths: Vec<SimdPath> = kernel_paths
        .iter()
        .copied()
        .filter(|p| p.is_available())
        .collect();
    let skipped: Vec<SimdPath> = kernel_paths
        .iter()
        .copied()
        .filter(|p| !p.is_available())
        .collect();
    eprintln!(
        "{test}: comparing the paths {} bit for bit{}{}",
        names(&paths),
        if skipped.is_empty() {
            String::new()
        } else {
            format!("; this processor lacks {}", names(&skipped))
        },
        if required.trim().is_empty() {
            String::new()
        } else {
            format!(" ({REQUIRE_ENV}={required})")
        }
    );
    paths
}

fn names(paths: &[SimdPath]) -> String {
    let v: Vec<&str> = paths.iter().map(|p| p.name()).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unset, empty or `auto`: the widest path the processor has.
    #[test]
    fn without_a_request_the_widest_path_runs() {
        let all = |_: SimdPath| true;
        let avx2_only = |p: SimdPath| p != SimdPath::Avx512;
        assert_eq!(choose(None, all), (SimdPath::Avx512, None));
        assert_eq!(choose(Some(""), avx2_only), (SimdPath::Avx2, None));
        assert_eq!(choose(Some("AUTO"), avx2_only), (SimdPath::Avx2, None));
        assert_eq!(
            choose(None, |p| p == SimdPath::Scalar),
            (SimdPath::Scalar, None)
        );
    }

    /// A path the processor has runs as asked, silently.
    #[test]
    fn a_forced_path_runs_where_the_processor_has_it() {
        let all = |_: SimdPath| true;
        for p in SimdPath::ALL {
            assert_eq!(choose(Some(p.name()), all), (p, None));
        }
        assert_eq!(choose(Some(" Scalar "), all), (SimdPath::Scalar, None));
    }

    /// A path the processor lacks falls back to the widest below it, with
    /// a message that names both; a name that is no path, to the widest.
    #[test]
    fn a_missing_or_unknown_path_falls_back_with_a_message() {
        let avx2_only = |p: SimdPath| p != SimdPath::Avx512;
        let (path, note) = choose(Some("avx512"), avx2_only);
        assert_eq!(path, SimdPath::Avx2);
        assert_eq!(
            note.as_deref(),
            Some(
                "EXOSIM_SIMD=avx512 asks for AVX-512 (F, BW, VL and DQ), which this processor \
                 lacks; running the avx2 path (the results are the same on every path)"
            )
        );
        let (path, note) = choose(Some("avx2"), |p| p == SimdPath::Scalar);
        assert_eq!(path, SimdPath::Scalar);
        assert!(note.unwrap().contains("asks for AVX2"));
        let (path, note) = choose(Some("sse9"), avx2_only);
        assert_eq!(path, SimdPath::Avx2);
        assert_eq!(
            note.as_deref(),
            Some(
                "EXOSIM_SIMD=sse9 names no path (scalar, avx2, avx512 or auto); running the avx2 \
                 path"
            )
        );
    }

    /// `or_below` never returns a path the processor lacks, and keeps one
    /// it has.
    #[test]
    fn or_below_stays_on_the_processor() {
        for p in SimdPath::ALL {
            let q = p.or_below();
            assert!(q.is_available() && q <= p);
            if p.is_available() {
                assert_eq!(q, p);
            }
        }
        assert!(SimdPath::Scalar.is_available());
        assert_eq!(SimdPath::available()[0], SimdPath::Scalar);
    }
}
