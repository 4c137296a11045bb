//! A parameter's bounds and the scale it is searched on (a box of
//! coordinates in [0, 1] per parameter).

/// A parameter's bounds and the scale it is searched on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Lowest value.
    pub low: f64,
    /// Highest value.
    pub high: f64,
    /// Searched on the log (a log-uniform parameter).
    pub log: bool,
}

impl Scale {
    /// The value at box coordinate `u` ∈ [0, 1].
    pub fn value(&self, u: f64) -> f64 {
        if self.log {
            self.low * (self.high / self.low).powf(u)
        } else {
            self.low + u * (self.high - self.low)
        }
    }

    /// The box coordinate of `x` (inverse of [`Scale::value`]).
    pub fn coordinate(&self, x: f64) -> f64 {
        if self.log {
            (x / self.low).ln() / (self.high / self.low).ln()
        } else {
            (x - self.low) / (self.high - self.low)
        }
    }
}
