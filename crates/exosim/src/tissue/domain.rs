//! The tissue domain: an axis-aligned box in 2-D or 3-D and what happens to
//! a vesicle that crosses one of its faces.
//!
//! Each face has its own [`Boundary`]: reflective (mirrored back in),
//! absorbing (removed, e.g. taken up by a sink), periodic (re-enters on the
//! opposite face; both faces of an axis or neither) or draining (leaves the
//! tissue into lymph or blood; counted apart from absorption so that the
//! mass balance can tell the two apart).
//!
//! Lengths are in metres, like everything inside the engines.

use thiserror::Error;

/// What a face of the domain does to a vesicle that crosses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// The vesicle is mirrored back into the domain.
    Reflective,
    /// The vesicle is removed and counted as absorbed.
    Absorbing,
    /// The vesicle re-enters through the opposite face (both faces of the
    /// axis must be periodic).
    Periodic,
    /// The vesicle leaves the tissue into lymph or blood and is counted as
    /// drained, apart from absorbed ones.
    Draining,
}

/// What [`Domain::apply`] decided for one position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The (possibly mirrored or wrapped) position lies in the domain.
    Inside,
    /// The vesicle crossed an absorbing face.
    Absorbed {
        /// Axis of the face (0 = x, 1 = y, 2 = z).
        axis: usize,
        /// Side of the face (0 = lower, 1 = upper).
        side: usize,
    },
    /// The vesicle crossed a draining face.
    Drained {
        /// Axis of the face (0 = x, 1 = y, 2 = z).
        axis: usize,
        /// Side of the face (0 = lower, 1 = upper).
        side: usize,
    },
}

/// Why a [`Domain`] is invalid.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DomainError {
    /// The dimension is neither 2 nor 3.
    #[error("domain dimension must be 2 or 3, got {0}")]
    Dimension(usize),
    /// An axis has a non-positive or non-finite extent.
    #[error(
        "domain axis {axis} must have finite bounds with lower < upper, got [{lower}, {upper}]"
    )]
    Extent {
        /// The axis (0 = x, 1 = y, 2 = z).
        axis: usize,
        /// Its lower bound (m).
        lower: f64,
        /// Its upper bound (m).
        upper: f64,
    },
    /// Only one face of an axis is periodic.
    #[error("domain axis {axis}: periodic must be set on both faces or on neither")]
    HalfPeriodic {
        /// The axis (0 = x, 1 = y, 2 = z).
        axis: usize,
    },
}

/// An axis-aligned box with a boundary condition on each face.
///
/// In 2-D (`dim == 2`) only x and y are used; z and its faces are ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    /// Number of spatial dimensions, 2 or 3.
    pub dim: usize,
    /// Lower corner (m).
    pub lower: [f64; 3],
    /// Upper corner (m).
    pub upper: [f64; 3],
    /// Boundary of each face: `faces[axis][0]` lower, `faces[axis][1]` upper.
    pub faces: [[Boundary; 2]; 3],
}

impl Domain {
    /// A validated domain (see [`Domain::validate`]).
    pub fn new(
        dim: usize,
        lower: [f64; 3],
        upper: [f64; 3],
        faces: [[Boundary; 2]; 3],
    ) -> Result<Self, DomainError> {
        let domain = Domain {
            dim,
            lower,
            upper,
            faces,
        };
        domain.validate()?;
        Ok(domain)
    }

    /// A validated domain with the same boundary on every face.
    pub fn uniform(
        dim: usize,
        lower: [f64; 3],
        upper: [f64; 3],
        boundary: Boundary,
    ) -> Result<Self, DomainError> {
        Self::new(dim, lower, upper, [[boundary; 2]; 3])
    }

    /// Checks the dimension, that every used axis has a finite positive
    /// extent, and that periodic faces come in pairs.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.dim != 2 && self.dim != 3 {
            return Err(DomainError::Dimension(self.dim));
        }
        for axis in 0..self.dim {
            let (lower, upper) = (self.lower[axis], self.upper[axis]);
            if !(lower.is_finite() && upper.is_finite() && lower < upper) {
                return Err(DomainError::Extent { axis, lower, upper });
            }
            let [a, b] = self.faces[axis];
            if (a == Boundary::Periodic) != (b == Boundary::Periodic) {
                return Err(DomainError::HalfPeriodic { axis });
            }
        }
        Ok(())
    }

    /// Extent of `axis` (m).
    pub fn length(&self, axis: usize) -> f64 {
        self.upper[axis] - self.lower[axis]
    }

    /// Whether `pos` lies in the closed box (used axes only).
    pub fn contains(&self, pos: &[f64; 3]) -> bool {
        (0..self.dim).all(|a| pos[a] >= self.lower[a] && pos[a] <= self.upper[a])
    }

    /// Brings `pos` back into the domain or decides that the vesicle left.
    ///
    /// Axes are handled in order x, y, z. Reflective faces mirror the
    /// position, repeatedly until it is inside (a step may be longer than
    /// the box; between two reflective faces this is a fold modulo twice
    /// the length); periodic axes wrap into `[lower, upper)`. Crossing an
    /// absorbing or draining face, also after a mirror on the opposite
    /// face, ends the walk: the function returns at once and leaves `pos`
    /// where the crossing put it (outside the box).
    pub fn apply(&self, pos: &mut [f64; 3]) -> Fate {
        for (axis, p) in pos.iter_mut().enumerate().take(self.dim) {
            let lo = self.lower[axis];
            let hi = self.upper[axis];
            let x = *p;
            if x >= lo && x <= hi {
                continue;
            }
            let faces = self.faces[axis];
            let len = hi - lo;
            match faces {
                [Boundary::Periodic, _] => {
                    let mut y = lo + (x - lo).rem_euclid(len);
                    if y >= hi {
                        // Rounding in rem_euclid can give exactly `len`.
                        y = lo;
                    }
                    *p = y;
                }
                [Boundary::Reflective, Boundary::Reflective] => {
                    let period = 2.0 * len;
                    let mut y = (x - lo).rem_euclid(period);
                    if y > len {
                        y = period - y;
                    }
                    *p = (lo + y).clamp(lo, hi);
                }
                _ => {
                    // At most one face is reflective here, so at most one
                    // mirror happens before the walk ends or is inside.
                    let mut x = x;
                    loop {
                        let side = if x < lo {
                            0
                        } else if x > hi {
                            1
                        } else {
                            break;
                        };
                        match faces[side] {
                            Boundary::Reflective => {
                                let wall = if side == 0 { lo } else { hi };
                                x = 2.0 * wall - x;
                            }
                            Boundary::Absorbing => {
                                *p = x;
                                return Fate::Absorbed { axis, side };
                            }
                            Boundary::Draining => {
                                *p = x;
                                return Fate::Drained { axis, side };
                            }
                            Boundary::Periodic => {
                                unreachable!("validated: periodic faces come in pairs")
                            }
                        }
                    }
                    *p = x;
                }
            }
        }
        Fate::Inside
    }
}
