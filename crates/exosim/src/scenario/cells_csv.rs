//! The cell list of a `shape = "csv"` placement: one cell a line, its type
//! and its position, with the length unit in each column's name.

use std::path::Path;

use super::check::{Check, Res};
use super::error::{KeyPath, did_you_mean};
use crate::tissue::domain::Domain;
use crate::units::Dimension;

/// Reads cell positions: header `type,x_<unit>,y_<unit>[,z_<unit>]`.
pub(super) fn read_cells_csv(
    r: &Check,
    key: &KeyPath,
    path: &Path,
    types: &[String],
    domain: &Domain,
    max_cells: u64,
) -> Res<Vec<(usize, [f64; 3])>> {
    let shown = path.display().to_string();
    let fail = |msg: String, hint: Option<String>| r.err(key, format!("{shown}: {msg}"), hint);
    let text = match std::fs::metadata(path) {
        Ok(m) if m.len() > super::check::MAX_FILE_BYTES * 16 => {
            return fail("the file is too large".into(), None);
        }
        Ok(_) => std::fs::read_to_string(path)
            .map_err(|e| r.loc.error(key, format!("{shown}: {e}"), None))?,
        Err(e) => {
            return fail(
                format!("cannot read the file: {e}"),
                Some("the path is relative to the study file".into()),
            );
        }
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return fail("the file is empty".into(), None);
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let dim = domain.dim;
    let want = ["x", "y", "z"];
    if cols.len() != dim + 1 || cols[0] != "type" {
        return fail(
            format!("header `{header}`"),
            Some(format!(
                "expected `type,{}` with units in the names, e.g. x_um",
                want[..dim]
                    .iter()
                    .map(|a| format!("{a}_um"))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
        );
    }
    let mut scale = [0.0; 3];
    for a in 0..dim {
        let unit = cols[a + 1]
            .strip_prefix(&format!("{}_", want[a]))
            .and_then(|u| crate::units::parse(&format!("1 {u}"), Dimension::Length).ok());
        match unit {
            Some(s) => scale[a] = s,
            None => {
                return fail(
                    format!(
                        "line 1, column {}: `{}` is not `{}_<unit>`",
                        a + 2,
                        cols[a + 1],
                        want[a]
                    ),
                    Some("e.g. x_um, y_um, z_um".into()),
                );
            }
        }
    }
    let mut cells = Vec::new();
    for (i, line) in lines {
        let row = i + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != dim + 1 {
            return fail(
                format!("line {row}: {} fields, expected {}", fields.len(), dim + 1),
                None,
            );
        }
        let Some(t) = types.iter().position(|x| x == fields[0]) else {
            let hint = did_you_mean(fields[0], types.iter().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"));
            return fail(
                format!("line {row}, column 1: unknown cell type `{}`", fields[0]),
                hint,
            );
        };
        let mut pos = [0.0; 3];
        for a in 0..dim {
            let v: f64 = match fields[a + 1].parse() {
                Ok(v) => v,
                Err(_) => {
                    return fail(
                        format!(
                            "line {row}, column {}: `{}` is not a number",
                            a + 2,
                            fields[a + 1]
                        ),
                        None,
                    );
                }
            };
            let x = v * scale[a];
            if !(x.is_finite() && x >= domain.lower[a] && x <= domain.upper[a]) {
                return fail(
                    format!(
                        "line {row}, column {}: the cell lies outside the box",
                        a + 2
                    ),
                    None,
                );
            }
            pos[a] = x;
        }
        cells.push((t, pos));
        if cells.len() as u64 > max_cells {
            return fail(format!("more than max_cells = {max_cells} cells"), None);
        }
    }
    Ok(cells)
}
