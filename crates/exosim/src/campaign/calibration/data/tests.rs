//! The data file's errors: each names the file, the row's line, the
//! column and a hint; none panics.

use super::*;
use crate::scenario::load_study;

fn study() -> Study {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../studies/mouse_iv_bolus.toml");
    load_study(&path).expect("the shipped study loads")
}

fn error(text: &str) -> StudyError {
    parse(text, "d.csv", &study()).expect_err("the file is refused")
}

#[test]
fn a_good_file_gives_one_resolved_observable_per_row() {
    let text = "# source: test\nkind,place,time,value,sd\n\
                fraction_of_dose,liver,1 h,0.4,0.05\n\
                fraction_of_dose,blood,10 min,0.3,0.03\n";
    let (_, rows) = parse(text, "d.csv", &study()).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].line, 3);
    assert_eq!(rows[1].value, 0.3);
    assert_eq!(rows[1].sd, Some(0.03));
    assert_eq!(rows[1].spec.time.map(|t| t.si()), Some(600.0));
    // The unit in the column's name: the same grid time.
    let text = "kind,place,time_min,value\nfraction_of_dose,liver,60,0.4\n";
    let (_, rows) = parse(text, "d.csv", &study()).unwrap();
    assert_eq!(rows[0].spec.time.map(|t| t.si()), Some(3600.0));
}

#[test]
fn a_missing_column_is_named_with_an_example() {
    let e = error("kind,place,time,sd\nfraction_of_dose,liver,1 h,0.1\n");
    assert_eq!((e.file.as_str(), e.line), ("d.csv", 1));
    assert!(e.message.contains("no `value` column"), "{e}");
    assert!(e.hint.unwrap().contains("kind,place,time,value"));
}

#[test]
fn a_non_numeric_cell_is_located_at_its_row_and_column() {
    let e = error(
        "kind,place,time,value\nfraction_of_dose,liver,1 h,0.4\nfraction_of_dose,liver,4 h,abc\n",
    );
    assert_eq!((e.line, e.column, e.key.as_str()), (3, 4, "value"));
    assert!(
        e.message
            .contains("row 3, column `value`: `abc` is not a number"),
        "{e}"
    );
    assert!(e.hint.is_some());
}

#[test]
fn a_negative_sd_is_refused_with_a_hint() {
    let e = error("kind,place,time,value,sd\nfraction_of_dose,liver,1 h,0.4,-0.1\n");
    assert_eq!((e.line, e.column, e.key.as_str()), (2, 5, "sd"));
    assert!(e.message.contains("not positive"), "{e}");
    assert!(e.hint.unwrap().contains("error_model"));
}

#[test]
fn an_observable_the_study_does_not_produce_is_located_at_its_column() {
    let e = error("kind,place,time,value\nfraction_of_dose,livr,1 h,0.4\n");
    assert_eq!((e.line, e.column, e.key.as_str()), (2, 2, "place"));
    assert!(e.hint.unwrap().contains("liver"), "did you mean");
    // A time that is not an output time of the study.
    let e = error("kind,place,time,value\nfraction_of_dose,liver,7 min,0.4\n");
    assert_eq!((e.column, e.key.as_str()), (3, "time"));
    // A kind that reads a section the study does not have.
    let e = error("kind,value\nroc_auc,0.9\n");
    assert_eq!((e.line, e.key.as_str()), (2, "kind"));
    // An unknown kind, and an unknown column.
    let e = error("kind,value\nfraction_of_dos,0.9\n");
    assert_eq!((e.line, e.column, e.key.as_str()), (2, 1, "kind"));
    let e = error("kind,plce,value\nfraction_of_dose,liver,0.9\n");
    assert!(e.hint.unwrap().contains("did you mean `place`"));
}

#[test]
fn ragged_rows_and_empty_files_are_errors_not_panics() {
    let e = error("kind,place,time,value\nfraction_of_dose,liver\n");
    assert_eq!(e.line, 2, "{e}");
    assert!(error("kind,value\n").message.contains("no row"));
    assert!(error("").message.contains("no `kind`"));
}

#[test]
fn a_value_at_or_below_zero_is_located_for_a_log_normal_model() {
    let text =
        "kind,place,time,value\nfraction_of_dose,liver,1 h,0.4\nfraction_of_dose,spleen,1 h,0\n";
    let (columns, rows) = parse(text, "d.csv", &study()).unwrap();
    let data = Data {
        file: "d.csv".into(),
        rows,
        has_sd: false,
        text: text.into(),
        columns,
    };
    let e = data.check_positive("needs values above 0").unwrap_err();
    assert_eq!((e.line, e.column, e.key.as_str()), (3, 4, "value"));
    assert_eq!(e.hint.as_deref(), Some("needs values above 0"));
}
