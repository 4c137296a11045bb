//! Wide numeric tables (time series) and their CSV and Parquet forms.
//!
//! CSV is for people and spreadsheets; Parquet is for analysis tools and keeps
//! units and descriptions next to the numbers. Both round-trip every `f64`
//! bit for bit, so a result read back is the result that was computed.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::atomic::{io_err, write_atomic_file};
use super::error::OutputError;

/// Most rows of one Parquet row group.
const ROW_GROUP: usize = 8192;
/// Field-metadata key under which a column's unit is stored in Parquet.
const UNIT_KEY: &str = "unit";
/// Field-metadata key under which a column's description is stored in Parquet.
const DESCRIPTION_KEY: &str = "description";

/// One series of a [`Table`], with what is needed to interpret it later.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Header name, e.g. `time_s` or `plasma_ev_count`.
    pub name: String,
    /// Unit of the values (free text, e.g. `s`, `1/mL`); empty if dimensionless or unknown.
    pub unit: String,
    /// One-line explanation for readers of the file.
    pub description: String,
    /// The values, one per row.
    pub values: Vec<f64>,
}

/// A wide numeric table: by convention the first column is time (`time_s`),
/// then one column per recorded series. All columns must have the same length;
/// the writers check this.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The columns, in output order.
    pub columns: Vec<Column>,
}

impl Table {
    /// An empty table, to be filled with [`Table::push_column`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a column; order of pushes is the order in the files.
    pub fn push_column(&mut self, c: Column) {
        self.columns.push(c);
    }

    /// A table of `(name, unit, description, values)` columns, in order.
    pub fn from_columns<const N: usize>(columns: [(&str, &str, &str, Vec<f64>); N]) -> Self {
        let mut table = Table::new();
        for (name, unit, description, values) in columns {
            table.push_column(Column {
                name: name.into(),
                unit: unit.into(),
                description: description.into(),
                values,
            });
        }
        table
    }

    /// Number of rows (length of the first column; 0 for a table without columns).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    /// Looks a column up by name, so that readers need not depend on column order.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The first column whose length differs from the first column's, if any.
    fn ragged_column(&self) -> Option<&Column> {
        let n = self.n_rows();
        self.columns.iter().find(|c| c.values.len() != n)
    }
}

/// Formats an `f64` in the shortest form that parses back to the same bits.
///
/// Plain decimal for ordinary magnitudes, scientific notation for very large
/// or very small ones (so 1e300 is not written with 300 zeros).
fn format_f64(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() || (1e-5..1e16).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

/// Writes `table` as CSV, atomically.
///
/// The header holds the column names only (units and descriptions belong in
/// the Parquet file or the run's metadata). Every value is written in its
/// shortest round-trip form, so [`read_csv`] recovers the exact bits.
pub fn write_csv(path: &Path, table: &Table) -> Result<(), OutputError> {
    if let Some(c) = table.ragged_column() {
        return Err(OutputError::Csv {
            path: path.to_path_buf(),
            row: None,
            column: Some(c.name.clone()),
            message: format!(
                "column has {} values but the table has {} rows",
                c.values.len(),
                table.n_rows()
            ),
        });
    }
    let csv_err = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(source) => io_err(path, source),
        other => OutputError::Csv {
            path: path.to_path_buf(),
            row: None,
            column: None,
            message: format!("{other:?}"),
        },
    };
    write_atomic_file(path, |file| {
        if table.columns.is_empty() {
            return Ok(());
        }
        let mut w = csv::Writer::from_writer(file);
        w.write_record(table.columns.iter().map(|c| c.name.as_str()))
            .map_err(csv_err)?;
        let mut record = Vec::with_capacity(table.columns.len());
        for i in 0..table.n_rows() {
            record.clear();
            record.extend(table.columns.iter().map(|c| format_f64(c.values[i])));
            w.write_record(&record).map_err(csv_err)?;
        }
        w.flush().map_err(|e| io_err(path, e))
    })
}

/// Reads a CSV table written by [`write_csv`] (or any numeric CSV with a header).
///
/// Meant for tests and reports. Units and descriptions come back empty. A
/// malformed file yields [`OutputError::Csv`] naming the line (header = 1) and
/// the column, so the user can find the bad cell.
pub fn read_csv(path: &Path) -> Result<Table, OutputError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let csv_err = |e: csv::Error| {
        let row = e.position().map(|p| p.line() as usize);
        match e.into_kind() {
            csv::ErrorKind::Io(source) => io_err(path, source),
            csv::ErrorKind::Utf8 { err, .. } => OutputError::Csv {
                path: path.to_path_buf(),
                row,
                column: None,
                message: format!("invalid UTF-8: {err}"),
            },
            other => OutputError::Csv {
                path: path.to_path_buf(),
                row,
                column: None,
                message: format!("{other:?}"),
            },
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file);
    let headers = reader.headers().map_err(csv_err)?.clone();
    let mut table = Table::new();
    for name in headers.iter() {
        table.push_column(Column {
            name: name.to_string(),
            unit: String::new(),
            description: String::new(),
            values: Vec::new(),
        });
    }
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(csv_err)? {
        let row = record.position().map(|p| p.line() as usize);
        if record.len() != headers.len() {
            let column = if record.len() < headers.len() {
                Some(headers[record.len()].to_string())
            } else {
                None
            };
            return Err(OutputError::Csv {
                path: path.to_path_buf(),
                row,
                column,
                message: format!("expected {} fields, found {}", headers.len(), record.len()),
            });
        }
        for (col, field) in table.columns.iter_mut().zip(record.iter()) {
            let v: f64 = field.parse().map_err(|_| OutputError::Csv {
                path: path.to_path_buf(),
                row,
                column: Some(col.name.clone()),
                message: format!("cannot parse {field:?} as a number"),
            })?;
            col.values.push(v);
        }
    }
    Ok(table)
}

/// Writes `table` as a Snappy-compressed Parquet file, atomically.
///
/// Each column becomes a non-null `Float64` field whose metadata carries
/// `unit` and `description`, so the file is self-describing for analysis tools.
pub fn write_parquet(path: &Path, table: &Table) -> Result<(), OutputError> {
    write_parquet_chunks(path, std::iter::once(Ok(table.clone())))
}

/// Writes the rows of `chunks` in order as one Parquet table, atomically,
/// holding one chunk at a time: long tables are streamed, never held whole.
/// The first chunk gives the columns (names, units, descriptions); every
/// other chunk must have the same names. An error of a chunk stops the
/// write and leaves `path` untouched.
pub fn write_parquet_chunks(
    path: &Path,
    chunks: impl IntoIterator<Item = Result<Table, OutputError>>,
) -> Result<(), OutputError> {
    let pq_err = |message: String| OutputError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let mut chunks = chunks.into_iter();
    let first = chunks
        .next()
        .unwrap_or_else(|| Err(pq_err("a Parquet file needs at least one chunk".into())))?;
    let schema = parquet_schema(path, &first)?;
    // Row groups of at most ROW_GROUP rows, so that a streamed table is
    // never buffered whole; no dictionaries: measured floats rarely repeat,
    // and a growing dictionary is memory held for nothing.
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .set_dictionary_enabled(false)
        .build();
    write_atomic_file(path, |file| {
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| pq_err(e.to_string()))?;
        for chunk in std::iter::once(Ok(first)).chain(chunks) {
            let chunk = chunk?;
            let same = chunk.columns.len() == schema.fields().len()
                && chunk
                    .columns
                    .iter()
                    .zip(schema.fields())
                    .all(|(c, f)| &c.name == f.name());
            if !same || chunk.ragged_column().is_some() {
                return Err(pq_err(
                    "a chunk's columns differ from the first chunk's".into(),
                ));
            }
            let arrays: Vec<ArrayRef> = chunk
                .columns
                .into_iter()
                .map(|c| Arc::new(Float64Array::from(c.values)) as ArrayRef)
                .collect();
            let batch =
                RecordBatch::try_new(schema.clone(), arrays).map_err(|e| pq_err(e.to_string()))?;
            writer.write(&batch).map_err(|e| pq_err(e.to_string()))?;
        }
        writer.close().map_err(|e| pq_err(e.to_string()))?;
        Ok(())
    })
}

/// The Arrow schema of `table`, after checking that it has columns of one
/// length.
fn parquet_schema(path: &Path, table: &Table) -> Result<Arc<Schema>, OutputError> {
    let pq_err = |message: String| OutputError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    if table.columns.is_empty() {
        return Err(pq_err("a Parquet file needs at least one column".into()));
    }
    if let Some(c) = table.ragged_column() {
        return Err(pq_err(format!(
            "column `{}` has {} values but the table has {} rows",
            c.name,
            c.values.len(),
            table.n_rows()
        )));
    }
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| {
            Field::new(&c.name, DataType::Float64, false).with_metadata(HashMap::from([
                (UNIT_KEY.to_string(), c.unit.clone()),
                (DESCRIPTION_KEY.to_string(), c.description.clone()),
            ]))
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

/// Reads a Parquet table written by [`write_parquet`], units and descriptions included.
///
/// Every column must be a `Float64` without nulls; anything else is reported
/// as [`OutputError::Parquet`] naming the file and column.
pub fn read_parquet(path: &Path) -> Result<Table, OutputError> {
    let pq_err = |message: String| OutputError::Parquet {
        path: path.to_path_buf(),
        message,
    };
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| pq_err(e.to_string()))?;
    let mut table = Table::new();
    for field in builder.schema().fields() {
        if field.data_type() != &DataType::Float64 {
            return Err(pq_err(format!(
                "column `{}` has type {}, expected Float64",
                field.name(),
                field.data_type()
            )));
        }
        let meta = field.metadata();
        table.push_column(Column {
            name: field.name().clone(),
            unit: meta.get(UNIT_KEY).cloned().unwrap_or_default(),
            description: meta.get(DESCRIPTION_KEY).cloned().unwrap_or_default(),
            values: Vec::new(),
        });
    }
    let reader = builder.build().map_err(|e| pq_err(e.to_string()))?;
    for batch in reader {
        let batch = batch.map_err(|e| pq_err(e.to_string()))?;
        for (col, array) in table.columns.iter_mut().zip(batch.columns()) {
            let array = array
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| pq_err(format!("column `{}` is not Float64", col.name)))?;
            if array.null_count() > 0 {
                return Err(pq_err(format!("column `{}` contains nulls", col.name)));
            }
            col.values.extend_from_slice(array.values());
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Values that trip naive float formatting.
    fn tricky() -> Vec<f64> {
        vec![
            0.0,
            -0.0,
            0.1 + 0.2,
            1e-300,
            1e300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            -f64::MAX,
            1.0 / 3.0,
            123456789.12345679,
            1e16,
            f64::from_bits(1e16_f64.to_bits() - 1),
            f64::from_bits(1e-5_f64.to_bits() - 1),
            1e-5,
            9.99e-6,
            -2.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ]
    }

    fn sample() -> Table {
        let n = tricky().len();
        let mut t = Table::new();
        t.push_column(Column {
            name: "time_s".into(),
            unit: "s".into(),
            description: "Simulated time".into(),
            values: (0..n).map(|i| i as f64 * 0.1).collect(),
        });
        t.push_column(Column {
            name: "plasma_ev".into(),
            unit: "1/mL".into(),
            description: "EV concentration in plasma, \"free\"".into(),
            values: tricky(),
        });
        t.push_column(Column {
            name: "odd, name".into(),
            unit: String::new(),
            description: String::new(),
            values: tricky().into_iter().rev().collect(),
        });
        t
    }

    fn bits(t: &Table) -> Vec<(String, Vec<u64>)> {
        t.columns
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.values.iter().map(|v| v.to_bits()).collect(),
                )
            })
            .collect()
    }

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// A table written in chunks reads back as the whole table, and a
    /// chunk with other columns stops the write without leaving a file.
    #[test]
    fn parquet_chunks_stream_the_rows_of_one_table() {
        let dir = tempfile::tempdir().unwrap();
        let whole = sample();
        let n = whole.n_rows();
        let part = |r: std::ops::Range<usize>| {
            let mut t = whole.clone();
            t.columns
                .iter_mut()
                .for_each(|c| c.values = c.values[r.clone()].to_vec());
            Ok(t)
        };
        let path = dir.path().join("chunks.parquet");
        write_parquet_chunks(&path, [part(0..1), part(1..1), part(1..n)]).unwrap();
        assert_eq!(bits(&read_parquet(&path).unwrap()), bits(&whole));
        let mut other = whole.clone();
        other.columns[0].name = "other".into();
        let bad = dir.path().join("bad.parquet");
        let e = write_parquet_chunks(&bad, [Ok(whole.clone()), Ok(other)]).unwrap_err();
        assert!(e.to_string().contains("differ"), "{e}");
        assert_eq!(files(dir.path()), vec!["chunks.parquet".to_string()]);
    }

    #[test]
    fn table_accessors() {
        let t = sample();
        assert_eq!(t.n_rows(), tricky().len());
        assert_eq!(t.column("plasma_ev").unwrap().unit, "1/mL");
        assert!(t.column("nope").is_none());
        assert_eq!(Table::new().n_rows(), 0);
    }

    #[test]
    fn csv_round_trip_is_bit_exact() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("series.csv");
        let t = sample();
        write_csv(&p, &t).unwrap();
        let back = read_csv(&p).unwrap();
        assert_eq!(bits(&back), bits(&t));
        assert!(
            back.columns
                .iter()
                .all(|c| c.unit.is_empty() && c.description.is_empty())
        );
        assert_eq!(files(tmp.path()), ["series.csv"]);

        let text = fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("time_s,plasma_ev,\"odd, name\"\n"),
            "{text}"
        );
        assert!(text.contains("1e300"), "{text}");
        assert!(text.contains("1e-300"), "{text}");
        assert!(text.contains("0.30000000000000004"), "{text}");
    }

    #[test]
    fn csv_nan_survives() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("nan.csv");
        let mut t = Table::new();
        t.push_column(Column {
            name: "x".into(),
            unit: String::new(),
            description: String::new(),
            values: vec![f64::NAN],
        });
        write_csv(&p, &t).unwrap();
        assert!(read_csv(&p).unwrap().columns[0].values[0].is_nan());
    }

    #[test]
    fn csv_empty_table() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("empty.csv");
        write_csv(&p, &Table::new()).unwrap();
        assert_eq!(read_csv(&p).unwrap(), Table::new());
    }

    #[test]
    fn csv_ragged_table_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("r.csv");
        let mut t = sample();
        t.columns[2].values.pop();
        let err = write_csv(&p, &t).unwrap_err();
        assert!(matches!(&err, OutputError::Csv { column: Some(c), .. } if c == "odd, name"));
        assert!(files(tmp.path()).is_empty());
    }

    #[test]
    fn read_csv_ragged_row_names_row_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("bad.csv");
        fs::write(&p, "time_s,a,b\n0,1,2\n1,2\n").unwrap();
        let err = read_csv(&p).unwrap_err();
        match &err {
            OutputError::Csv {
                path, row, column, ..
            } => {
                assert_eq!(path, &p);
                assert_eq!(*row, Some(3));
                assert_eq!(column.as_deref(), Some("b"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("row 3"), "{msg}");
        assert!(msg.contains("`b`"), "{msg}");
        assert!(msg.contains(&p.display().to_string()), "{msg}");

        fs::write(&p, "time_s,a\n0,1,2\n").unwrap();
        let err = read_csv(&p).unwrap_err();
        assert!(
            matches!(err, OutputError::Csv { row: Some(2), .. }),
            "{err}"
        );
    }

    #[test]
    fn read_csv_non_number_names_row_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("bad.csv");
        fs::write(&p, "time_s,a\n0,1\n1,2\n2,abc\n").unwrap();
        let err = read_csv(&p).unwrap_err();
        assert!(
            matches!(&err, OutputError::Csv { row: Some(4), column: Some(c), .. } if c == "a"),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("row 4"), "{msg}");
        assert!(msg.contains("column `a`"), "{msg}");
        assert!(msg.contains("\"abc\""), "{msg}");
        assert!(msg.contains(&p.display().to_string()), "{msg}");
    }

    #[test]
    fn read_csv_missing_file_names_path() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("none.csv");
        let err = read_csv(&p).unwrap_err();
        assert!(matches!(&err, OutputError::Io { path, .. } if path == &p));
    }

    #[test]
    fn parquet_round_trip_is_bit_exact_with_metadata() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("series.parquet");
        let mut t = sample();
        t.columns[2].values[0] = f64::NAN;
        write_parquet(&p, &t).unwrap();
        let back = read_parquet(&p).unwrap();
        assert_eq!(bits(&back), bits(&t));
        for (a, b) in back.columns.iter().zip(&t.columns) {
            assert_eq!(a.unit, b.unit);
            assert_eq!(a.description, b.description);
        }
        assert_eq!(files(tmp.path()), ["series.parquet"]);
    }

    #[test]
    fn parquet_is_snappy_and_non_null() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("s.parquet");
        write_parquet(&p, &sample()).unwrap();
        let r = SerializedFileReader::new(File::open(&p).unwrap()).unwrap();
        let rg = r.metadata().row_group(0);
        for c in rg.columns() {
            assert_eq!(c.compression(), Compression::SNAPPY);
        }
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(&p).unwrap()).unwrap();
        assert!(b.schema().fields().iter().all(|f| !f.is_nullable()));
    }

    #[test]
    fn parquet_zero_rows_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("z.parquet");
        let mut t = Table::new();
        t.push_column(Column {
            name: "time_s".into(),
            unit: "s".into(),
            description: "time".into(),
            values: vec![],
        });
        write_parquet(&p, &t).unwrap();
        assert_eq!(read_parquet(&p).unwrap(), t);
    }

    #[test]
    fn parquet_refuses_bad_tables_and_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("bad.parquet");
        let err = write_parquet(&p, &Table::new()).unwrap_err();
        assert!(matches!(&err, OutputError::Parquet { path, .. } if path == &p));
        let mut t = sample();
        t.columns[1].values.push(1.0);
        let err = write_parquet(&p, &t).unwrap_err();
        assert!(err.to_string().contains("plasma_ev"), "{err}");
        assert!(files(tmp.path()).is_empty());
    }

    #[test]
    fn read_parquet_garbage_names_path() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("g.parquet");
        fs::write(&p, "not parquet").unwrap();
        let err = read_parquet(&p).unwrap_err();
        assert!(matches!(&err, OutputError::Parquet { path, .. } if path == &p));
        assert!(err.to_string().contains(&p.display().to_string()));
    }
}
