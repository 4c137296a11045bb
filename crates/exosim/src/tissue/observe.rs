//! Observation of a tissue run: the time series (cells per type, state
//! summaries, vesicles per class and place, uptakes, kills, mass balance)
//! and snapshots of cells and vesicles, written as CSV and as VTK XML files
//! (`.vtu` per frame, `.pvd` collections with real times) that ParaView opens.
//!
//! File contract (read by `exosim report`):
//! - `tissue_timeseries.csv`: `variant`, `replicate`, `time_s`, then
//!   `cells_<type>`, `state_<type>_<var>_mean`, `held_<type>_<molecule>_mean`,
//!   `vesicles_<class>_<place>` (place: released, added, free, taken_up,
//!   degraded, drained, absorbed, arrived), `uptakes_<type>`, `kills_<type>`,
//!   `deaths_<type>`, `divisions_<type>`, `particles`, `mass_balance_error`;
//! - `tissue_snapshots/<variant>/cells_<NNNN>.csv` (`time_s,id,type,x_m,y_m,
//!   z_m,radius_m`, then state variables) and `vesicles_<NNNN>.csv`
//!   (`time_s,class,x_m,y_m,z_m,weight`, then `cargo_<molecule>`: copies
//!   carried by the particle, summed over its `weight` vesicles), plus
//!   `cells_<NNNN>.vtu`, `vesicles_<NNNN>.vtu`, `cells.pvd`, `vesicles.pvd`.
//!
//! Coordinates are in metres in every file, like everything else exosim writes.

use std::io::{self, Write};
use std::path::Path;

use super::model::TissueModel;
use super::tally::{ClassTally, TypeTally};
use crate::output::{OutputError, write_atomic};

/// Positions and attributes of cells and vesicles at one time.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Frame {
    /// Time, s.
    pub time: f64,
    /// Cell type per cell.
    pub cell_kind: Vec<u32>,
    /// Cell centres, m.
    pub cell_pos: Vec<[f64; 3]>,
    /// Cell identifiers.
    pub cell_id: Vec<u64>,
    /// State variables, `state_stride` per cell.
    pub cell_state: Vec<f64>,
    /// Entries per cell in `cell_state`.
    pub state_stride: usize,
    /// Vesicle class per particle.
    pub vesicle_class: Vec<u32>,
    /// Particle positions, m.
    pub vesicle_pos: Vec<[f64; 3]>,
    /// Vesicles per particle.
    pub vesicle_weight: Vec<f64>,
    /// Cargo copies carried per particle (summed over its vesicles),
    /// `cargo_stride` molecules per particle, as the engine holds them.
    #[serde(default)]
    pub vesicle_cargo: Vec<f32>,
    /// Entries per particle in `vesicle_cargo` (the study's molecules).
    #[serde(default)]
    pub cargo_stride: usize,
}

impl Frame {
    /// Copies of molecule `m` carried by particle `i`.
    pub fn cargo(&self, i: usize, m: usize) -> f64 {
        self.vesicle_cargo[i * self.cargo_stride + m] as f64
    }
}

/// What one replicate of one variant observed.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Recorder {
    /// Column names after `time_s`.
    pub header: Vec<String>,
    /// One row per output time; the first value is the time (s).
    pub rows: Vec<Vec<f64>>,
    /// Snapshots, in time order.
    pub frames: Vec<Frame>,
    /// Mass-balance error at the end.
    pub final_mass_balance: f64,
    /// Vesicle accounting at the end.
    pub final_classes: Vec<ClassTally>,
    /// Cell events at the end.
    pub final_types: Vec<TypeTally>,
}

/// Places of a vesicle, in column order.
pub const PLACES: [&str; 8] = [
    "released", "added", "free", "taken_up", "degraded", "drained", "absorbed", "arrived",
];

impl Recorder {
    /// An empty record with the columns of `model`.
    pub fn new(model: &TissueModel) -> Self {
        let mut header = Vec::new();
        for t in &model.cell_types {
            header.push(format!("cells_{}", t.name));
        }
        for t in &model.cell_types {
            for v in &t.state {
                header.push(format!("state_{}_{}_mean", t.name, v.name));
            }
            for m in &model.molecules {
                header.push(format!("held_{}_{}_mean", t.name, m));
            }
        }
        for v in &model.vesicles {
            for p in PLACES {
                header.push(format!("vesicles_{}_{p}", v.name));
            }
        }
        for what in ["uptakes", "kills", "deaths", "divisions"] {
            for t in &model.cell_types {
                header.push(format!("{what}_{}", t.name));
            }
        }
        header.push("particles".into());
        header.push("mass_balance_error".into());
        Recorder {
            header,
            ..Default::default()
        }
    }

    /// Index of a column by name (after `time_s`), for tests and summaries.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Values of a column over time.
    pub fn series(&self, name: &str) -> Option<Vec<f64>> {
        let j = self.column(name)? + 1;
        Some(self.rows.iter().map(|r| r[j]).collect())
    }
}

/// Shortest text that reads back as the same `f64`.
fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else {
        format!("{x:?}")
    }
}

/// Writes the long-format time series of every (variant, replicate) run.
pub fn write_timeseries(
    path: &Path,
    runs: &[(String, usize, &Recorder)],
) -> Result<(), OutputError> {
    let keyed: Vec<(String, &Recorder)> = runs
        .iter()
        .map(|(v, r, rec)| (format!("{v},{r}"), *rec))
        .collect();
    write_keyed(path, "variant,replicate", &keyed)
}

/// Writes the long-format time series of every (arm, variant, replicate)
/// run, when several body arms hold copies of the tissue: the columns of
/// [`write_timeseries`] after an `arm` column.
pub fn write_timeseries_per_arm(
    path: &Path,
    runs: &[(String, String, usize, &Recorder)],
) -> Result<(), OutputError> {
    let keyed: Vec<(String, &Recorder)> = runs
        .iter()
        .map(|(a, v, r, rec)| (format!("{a},{v},{r}"), *rec))
        .collect();
    write_keyed(path, "arm,variant,replicate", &keyed)
}

/// Rows of every run, each after its key columns (`keys`, written as is).
fn write_keyed(path: &Path, keys: &str, runs: &[(String, &Recorder)]) -> Result<(), OutputError> {
    let Some((_, first)) = runs.first() else {
        return Ok(());
    };
    write_atomic(path, |w| {
        write!(w, "{keys},time_s")?;
        for h in &first.header {
            write!(w, ",{h}")?;
        }
        writeln!(w)?;
        for (key, rec) in runs {
            for row in &rec.rows {
                write!(w, "{key}")?;
                for x in row {
                    write!(w, ",{}", num(*x))?;
                }
                writeln!(w)?;
            }
        }
        Ok(())
    })
}

/// Names of the state columns of snapshots: every state variable of any
/// type, in first-seen order.
fn state_names(model: &TissueModel) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for t in &model.cell_types {
        for v in &t.state {
            if !names.contains(&v.name) {
                names.push(v.name.clone());
            }
        }
    }
    names
}

/// Value of the state column `name` for cell `i` of `frame` (NaN when its
/// type has no such variable).
fn state_value(model: &TissueModel, frame: &Frame, i: usize, name: &str) -> f64 {
    let t = &model.cell_types[frame.cell_kind[i] as usize];
    t.state
        .iter()
        .position(|v| v.name == name)
        .map_or(f64::NAN, |j| frame.cell_state[i * frame.state_stride + j])
}

/// Writes the snapshots of one variant into `dir` (created if needed): CSV
/// and VTK per frame, and the two `.pvd` collections.
pub fn write_snapshots(
    dir: &Path,
    model: &TissueModel,
    frames: &[Frame],
) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|e| OutputError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let states = state_names(model);
    for (k, f) in frames.iter().enumerate() {
        write_atomic(&dir.join(format!("cells_{k:04}.csv")), |w| {
            write!(w, "time_s,id,type,x_m,y_m,z_m,radius_m")?;
            for s in &states {
                write!(w, ",{s}")?;
            }
            writeln!(w)?;
            for i in 0..f.cell_kind.len() {
                let t = &model.cell_types[f.cell_kind[i] as usize];
                let p = f.cell_pos[i];
                write!(
                    w,
                    "{},{},{},{},{},{},{}",
                    num(f.time),
                    f.cell_id.get(i).copied().unwrap_or(i as u64),
                    t.name,
                    num(p[0]),
                    num(p[1]),
                    num(p[2]),
                    num(t.radius)
                )?;
                for s in &states {
                    write!(w, ",{}", num(state_value(model, f, i, s)))?;
                }
                writeln!(w)?;
            }
            Ok(())
        })?;
        write_atomic(&dir.join(format!("vesicles_{k:04}.csv")), |w| {
            write!(w, "time_s,class,x_m,y_m,z_m,weight")?;
            for m in &model.molecules {
                write!(w, ",cargo_{m}")?;
            }
            writeln!(w)?;
            for i in 0..f.vesicle_class.len() {
                let p = f.vesicle_pos[i];
                write!(
                    w,
                    "{},{},{},{},{},{}",
                    num(f.time),
                    model.vesicles[f.vesicle_class[i] as usize].name,
                    num(p[0]),
                    num(p[1]),
                    num(p[2]),
                    num(f.vesicle_weight[i])
                )?;
                for m in 0..f.cargo_stride {
                    write!(w, ",{}", num(f.cargo(i, m)))?;
                }
                writeln!(w)?;
            }
            Ok(())
        })?;
        let radius: Vec<f64> = f
            .cell_kind
            .iter()
            .map(|&k| model.cell_types[k as usize].radius)
            .collect();
        let mut cell_data: Vec<(String, Vec<f64>)> = vec![
            (
                "type".into(),
                f.cell_kind.iter().map(|&k| k as f64).collect(),
            ),
            ("radius_m".into(), radius),
        ];
        for s in &states {
            cell_data.push((
                s.clone(),
                (0..f.cell_kind.len())
                    .map(|i| state_value(model, f, i, s))
                    .collect(),
            ));
        }
        write_atomic(&dir.join(format!("cells_{k:04}.vtu")), |w| {
            write_vtu(w, &f.cell_pos, &cell_data)
        })?;
        let mut vesicle_data = vec![
            (
                "class".into(),
                f.vesicle_class.iter().map(|&c| c as f64).collect(),
            ),
            ("weight".into(), f.vesicle_weight.clone()),
        ];
        for (m, name) in model.molecules.iter().enumerate().take(f.cargo_stride) {
            vesicle_data.push((
                format!("cargo_{name}"),
                (0..f.vesicle_class.len()).map(|i| f.cargo(i, m)).collect(),
            ));
        }
        write_atomic(&dir.join(format!("vesicles_{k:04}.vtu")), |w| {
            write_vtu(w, &f.vesicle_pos, &vesicle_data)
        })?;
    }
    for what in ["cells", "vesicles"] {
        write_atomic(&dir.join(format!("{what}.pvd")), |w| {
            writeln!(w, "<?xml version=\"1.0\"?>")?;
            writeln!(
                w,
                "<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">"
            )?;
            writeln!(w, "  <Collection>")?;
            for (k, f) in frames.iter().enumerate() {
                writeln!(
                    w,
                    "    <DataSet timestep=\"{}\" group=\"\" part=\"0\" file=\"{what}_{k:04}.vtu\"/>",
                    num(f.time)
                )?;
            }
            writeln!(w, "  </Collection>")?;
            writeln!(w, "</VTKFile>")
        })?;
    }
    Ok(())
}

/// Writes points with point data as a VTK XML unstructured grid of vertices
/// (ASCII, so that it can be read and diffed without tools).
pub fn write_vtu(
    w: &mut dyn Write,
    points: &[[f64; 3]],
    data: &[(String, Vec<f64>)],
) -> io::Result<()> {
    let n = points.len();
    writeln!(w, "<?xml version=\"1.0\"?>")?;
    writeln!(
        w,
        "<VTKFile type=\"UnstructuredGrid\" version=\"0.1\" byte_order=\"LittleEndian\">"
    )?;
    writeln!(w, "  <UnstructuredGrid>")?;
    writeln!(
        w,
        "    <Piece NumberOfPoints=\"{n}\" NumberOfCells=\"{n}\">"
    )?;
    writeln!(w, "      <PointData>")?;
    for (name, values) in data {
        write!(
            w,
            "        <DataArray type=\"Float64\" Name=\"{name}\" format=\"ascii\">"
        )?;
        for v in values {
            write!(w, " {}", num(*v))?;
        }
        writeln!(w, " </DataArray>")?;
    }
    writeln!(w, "      </PointData>")?;
    writeln!(w, "      <Points>")?;
    write!(
        w,
        "        <DataArray type=\"Float64\" NumberOfComponents=\"3\" format=\"ascii\">"
    )?;
    for p in points {
        write!(w, " {} {} {}", num(p[0]), num(p[1]), num(p[2]))?;
    }
    writeln!(w, " </DataArray>")?;
    writeln!(w, "      </Points>")?;
    writeln!(w, "      <Cells>")?;
    write!(
        w,
        "        <DataArray type=\"Int64\" Name=\"connectivity\" format=\"ascii\">"
    )?;
    for i in 0..n {
        write!(w, " {i}")?;
    }
    writeln!(w, " </DataArray>")?;
    write!(
        w,
        "        <DataArray type=\"Int64\" Name=\"offsets\" format=\"ascii\">"
    )?;
    for i in 1..=n {
        write!(w, " {i}")?;
    }
    writeln!(w, " </DataArray>")?;
    write!(
        w,
        "        <DataArray type=\"UInt8\" Name=\"types\" format=\"ascii\">"
    )?;
    for _ in 0..n {
        // VTK_VERTEX
        write!(w, " 1")?;
    }
    writeln!(w, " </DataArray>")?;
    writeln!(w, "      </Cells>")?;
    writeln!(w, "    </Piece>")?;
    writeln!(w, "  </UnstructuredGrid>")?;
    writeln!(w, "</VTKFile>")
}
