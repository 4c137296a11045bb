//! exosim tables to pyarrow through the Arrow PyCapsule protocol.
//!
//! The columns cross as Arrow's C Data Interface structures built by the
//! workspace's own arrow (no second arrow, no copy through Python lists);
//! pyarrow (or polars, or any reader of the protocol) imports them with
//! `pa.record_batch(table)`. Units and descriptions travel as field
//! metadata, exactly as in the Parquet files the command line writes.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowSchema, to_ffi};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Schema};
use exosim::output::Table;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::errors;

/// A record batch that Arrow readers import (`__arrow_c_array__`).
#[pyclass(module = "exosim._exosim", frozen)]
pub struct ArrowTable {
    batch: RecordBatch,
}

impl ArrowTable {
    /// `table` as Arrow: non-null `Float64` columns with `unit` and
    /// `description` metadata, the schema of `output::write_parquet`.
    pub fn new(table: &Table) -> PyResult<Self> {
        let fields: Vec<Field> = table
            .columns
            .iter()
            .map(|c| {
                Field::new(&c.name, DataType::Float64, false).with_metadata(HashMap::from([
                    ("unit".to_string(), c.unit.clone()),
                    ("description".to_string(), c.description.clone()),
                ]))
            })
            .collect();
        let arrays: Vec<ArrayRef> = table
            .columns
            .iter()
            .map(|c| Arc::new(Float64Array::from(c.values.clone())) as ArrayRef)
            .collect();
        let batch =
            RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(errors::other)?;
        Ok(ArrowTable { batch })
    }
}

#[pymethods]
impl ArrowTable {
    /// The schema as an `arrow_schema` capsule.
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema =
            FFI_ArrowSchema::try_from(self.batch.schema().as_ref()).map_err(errors::other)?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    /// The schema and the columns as `arrow_schema` and `arrow_array`
    /// capsules; a requested schema other than the table's is ignored (the
    /// protocol allows it: the caller casts).
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_array__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyCapsule>, Bound<'py, PyCapsule>)> {
        let _ = requested_schema;
        let columns = StructArray::from(self.batch.clone());
        let (array, _) = to_ffi(&columns.to_data()).map_err(errors::other)?;
        let schema = self.__arrow_c_schema__(py)?;
        Ok((
            schema,
            PyCapsule::new_with_value(py, array, c"arrow_array")?,
        ))
    }

    /// Rows.
    fn __len__(&self) -> usize {
        self.batch.num_rows()
    }

    /// Column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        let schema = self.batch.schema();
        schema.fields().iter().map(|f| f.name().clone()).collect()
    }
}

/// The unit and description of each of `columns` of the CSV-only table
/// `stem` (`exosim::output::columns`), `None` for a column it does not
/// know: what the package puts in a CSV table's field metadata.
#[pyfunction]
pub fn csv_columns(stem: &str, columns: Vec<String>) -> Vec<Option<(String, String)>> {
    columns
        .iter()
        .map(|c| {
            exosim::output::columns::describe(stem, c)
                .map(|d| (d.unit.to_string(), d.description.to_string()))
        })
        .collect()
}
