//! The running accounts of a tissue replicate: where each class's
//! vesicles went, and what happened to each cell type.

/// Vesicle accounting of one class, in vesicles (not particles).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClassTally {
    /// Released by cells.
    pub released: f64,
    /// Added by the study.
    pub added: f64,
    /// Taken up by cells.
    pub taken_up: f64,
    /// Degraded in the tissue.
    pub degraded: f64,
    /// Left through draining faces (to lymph or blood).
    pub drained: f64,
    /// Left through absorbing faces.
    pub absorbed: f64,
    /// Arrived from blood through vascular faces (coupled studies).
    pub arrived: f64,
}

/// Events of one cell type, cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TypeTally {
    /// Vesicles taken up by cells of the type.
    pub uptakes: f64,
    /// Cells of the type killed by contact.
    pub kills: f64,
    /// Cells of the type that died (all causes).
    pub deaths: f64,
    /// Divisions.
    pub divisions: f64,
}
