//! What the columns of the tables written only as CSV mean: their unit and
//! a description, for readers that keep both beside the numbers (the
//! Python package puts them in each pyarrow field's metadata, as the
//! Parquet files carry theirs). Tables also written as Parquet
//! (`timeseries`, `production`, a campaign's table) are not listed: their
//! files hold their own.
//!
//! A column is matched by name, or by a pattern in which `*` stands for a
//! name from the study (a test, a cell type, an arm); the first match in a
//! table's list wins, so exact names come before patterns. Units are
//! written as the values are (`s`, `nm`, `/mL`), counts by what they count
//! (`cells`, `vesicles`), as in the Parquet tables; `1` is a share or a
//! probability, and an empty unit a label, a flag, or a number whose unit
//! the study sets.
//! `columns::every_csv_column_is_described` (integration tests) writes the
//! shipped studies' tables and finds every column here.

/// The meaning of one column (or of every column a pattern matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDoc {
    /// A column name, or a pattern with `*` for a name from the study.
    pub pattern: &'static str,
    /// Unit of the values as written; `1` for shares, empty for labels.
    pub unit: &'static str,
    /// One line for readers.
    pub description: &'static str,
}

const fn doc(pattern: &'static str, unit: &'static str, description: &'static str) -> ColumnDoc {
    ColumnDoc {
        pattern,
        unit,
        description,
    }
}

const BIOPSY_CURVE: &[ColumnDoc] = &[
    doc("diameter_m", "m", "tumour diameter"),
    doc(
        "*/probability",
        "1",
        "detection probability of one test at this diameter",
    ),
    doc(
        "*/low",
        "1",
        "Wilson 95 % lower bound of the detection probability",
    ),
    doc(
        "*/high",
        "1",
        "Wilson 95 % upper bound of the detection probability",
    ),
];

const BIOPSY_ROC: &[ColumnDoc] = &[
    doc(
        "threshold",
        "/m3",
        "threshold on the estimated plasma concentration",
    ),
    doc("sensitivity", "1", "true-positive rate"),
    doc("specificity", "1", "true-negative rate"),
];

const BIOPSY_CONDITIONS: &[ColumnDoc] = &[
    doc("test", "", "blood test"),
    doc("group", "", "condition, or the healthy group"),
    doc("healthy", "", "1 for the healthy group, 0 for a condition"),
    doc(
        "plasma_level_per_ml",
        "/mL",
        "the group's median plasma level of the marker",
    ),
    doc(
        "reading_q*_per_ml",
        "/mL",
        "quantile (5, 25, 50, 75 or 95 %) of the test's readings",
    ),
    doc(
        "detected",
        "1",
        "share of the group whose reading is at or above the detection limit",
    ),
    doc(
        "positive",
        "1",
        "share of the group the test calls positive",
    ),
    doc(
        "threshold_per_ml",
        "/mL",
        "the test's threshold, set on the healthy group",
    ),
    doc(
        "auc",
        "1",
        "area under the ROC curve against the healthy group",
    ),
    doc("auc_low", "1", "lower bound of the AUC's 95 % interval"),
    doc("auc_high", "1", "upper bound of the AUC's 95 % interval"),
];

const SIGNATURE: &[ColumnDoc] = &[
    doc("condition", "", "condition told from the healthy group"),
    doc("fold", "", "cross-validation fold"),
    doc(
        "train_auc",
        "1",
        "AUC of the signature on the fold's training people",
    ),
    doc(
        "test_auc",
        "1",
        "AUC of the signature on the fold's held-out people",
    ),
];

const SIGNATURE_MARKERS: &[ColumnDoc] = &[
    doc("condition", "", "condition told from the healthy group"),
    doc("marker", "", "marker"),
    doc(
        "fold_change",
        "1",
        "the condition's level over the healthy level",
    ),
    doc("auc", "1", "AUC of the marker alone"),
    doc("auc_low", "1", "lower bound of the AUC's 95 % interval"),
    doc("auc_high", "1", "upper bound of the AUC's 95 % interval"),
    doc(
        "closed_form_auc",
        "1",
        "binormal closed form of the marker's AUC",
    ),
];

const TISSUE_TIMESERIES: &[ColumnDoc] = &[
    doc(
        "arm",
        "",
        "body arm whose copy of the tissue this is (when several arms hold it)",
    ),
    doc("variant", "", "tissue variant"),
    doc("replicate", "", "replicate of the variant, from 0"),
    doc("time_s", "s", "time"),
    doc(
        "particles",
        "particles",
        "particles (weighted vesicles) in the tissue",
    ),
    doc(
        "mass_balance_error",
        "vesicles",
        "vesicles not accounted for (zero to rounding)",
    ),
    doc("cells_*", "cells", "live cells of the type"),
    doc(
        "state_*_mean",
        "",
        "mean over the type's cells of a state variable, in its own unit",
    ),
    doc(
        "held_*_mean",
        "copies",
        "mean copies of a molecule held per cell of the type",
    ),
    doc(
        "vesicles_*_released",
        "vesicles",
        "vesicles of the class released by cells, cumulative",
    ),
    doc(
        "vesicles_*_added",
        "vesicles",
        "vesicles of the class added by doses, cumulative",
    ),
    doc(
        "vesicles_*_free",
        "vesicles",
        "vesicles of the class free in the tissue now",
    ),
    doc(
        "vesicles_*_taken_up",
        "vesicles",
        "vesicles of the class taken up by cells, cumulative",
    ),
    doc(
        "vesicles_*_degraded",
        "vesicles",
        "vesicles of the class broken down, cumulative",
    ),
    doc(
        "vesicles_*_drained",
        "vesicles",
        "vesicles of the class drained out of the tissue, cumulative",
    ),
    doc(
        "vesicles_*_absorbed",
        "vesicles",
        "vesicles of the class absorbed at faces, cumulative",
    ),
    doc(
        "vesicles_*_arrived",
        "vesicles",
        "vesicles of the class arrived from a coupled body, cumulative",
    ),
    doc(
        "uptakes_*",
        "uptakes",
        "uptake events by cells of the type, cumulative",
    ),
    doc("kills_*", "cells", "cells of the type killed, cumulative"),
    doc("deaths_*", "cells", "cells of the type dead, cumulative"),
    doc(
        "divisions_*",
        "divisions",
        "divisions of cells of the type, cumulative",
    ),
];

const BLOOD_PROFILE: &[ColumnDoc] = &[
    doc("marker", "", "marker carried by the vesicle classes"),
    doc(
        "*@*s",
        "copies/mL",
        "marker copies per mL of plasma in an arm at a report time (s)",
    ),
];

const INSTRUMENT: &[ColumnDoc] = &[
    doc("diameter_low_nm", "nm", "lower edge of the size bin"),
    doc("diameter_high_nm", "nm", "upper edge of the size bin"),
    doc(
        "reported_per_ml",
        "/mL",
        "concentration the instrument reports in the bin",
    ),
    doc(
        "true_per_ml",
        "/mL",
        "true concentration of particles in the bin",
    ),
];

const SENSITIVITY: &[ColumnDoc] = &[
    doc("observable", "", "observable"),
    doc("parameter", "", "parameter, by its path in the study"),
    doc(
        "index",
        "",
        "the index: S1, ST (Sobol) or mu_star, sigma (Morris)",
    ),
    doc(
        "value",
        "",
        "the index's value, in the observable's unit for Morris",
    ),
    doc("conf", "", "half-width of the bootstrap 95 % interval"),
    doc("low", "", "lower bound of the bootstrap 95 % interval"),
    doc("high", "", "upper bound of the bootstrap 95 % interval"),
];

const TRIALS: &[ColumnDoc] = &[
    doc(
        "subjects",
        "subjects",
        "subjects per arm in the simulated trials",
    ),
    doc("trial", "", "simulated trial, from 0"),
    doc("arm", "", "treated arm compared with the control"),
    doc(
        "n_control",
        "subjects",
        "control subjects analysed (after dropout)",
    ),
    doc(
        "n_treated",
        "subjects",
        "treated subjects analysed (after dropout)",
    ),
    doc(
        "statistic",
        "",
        "the test's statistic (Welch t, Mann–Whitney U, log-rank χ², or the odds ratio of Fisher's test)",
    ),
    doc("p", "1", "p-value of the trial's test"),
    doc(
        "estimate",
        "",
        "effect estimate: treated minus control in the endpoint's unit, the hazard ratio, or the difference of response rates",
    ),
    doc(
        "significant",
        "",
        "1 when p is below the trial's alpha, else 0",
    ),
];

const POWER: &[ColumnDoc] = &[
    doc("arm", "", "treated arm compared with the control"),
    doc("subjects", "subjects", "subjects per arm"),
    doc("trials", "trials", "simulated trials"),
    doc("significant", "trials", "trials that reached significance"),
    doc("power", "1", "share of trials that reached significance"),
    doc(
        "low",
        "1",
        "lower bound of the power's Wilson interval (the campaign's confidence)",
    ),
    doc(
        "high",
        "1",
        "upper bound of the power's Wilson interval (the campaign's confidence)",
    ),
];

const KAPLAN_MEIER: &[ColumnDoc] = &[
    doc("arm", "", "arm"),
    doc("time_s", "s", "time of an event or a censoring"),
    doc(
        "at_risk",
        "subjects",
        "subjects at risk just before the time",
    ),
    doc("events", "subjects", "progressions at the time"),
    doc(
        "survival",
        "1",
        "Kaplan–Meier estimate of progression-free survival after the time",
    ),
];

/// The column list of a CSV-only table, by file stem (`biopsy_curve`,
/// `biopsy_roc_digital`, `instrument_nta_1h`).
pub fn table(stem: &str) -> Option<&'static [ColumnDoc]> {
    let exact = match stem {
        "biopsy_curve" => Some(BIOPSY_CURVE),
        "biopsy_conditions" => Some(BIOPSY_CONDITIONS),
        "signature" => Some(SIGNATURE),
        "signature_markers" => Some(SIGNATURE_MARKERS),
        "tissue_timeseries" => Some(TISSUE_TIMESERIES),
        "blood_profile" => Some(BLOOD_PROFILE),
        "sensitivity" => Some(SENSITIVITY),
        "trials" => Some(TRIALS),
        "power" => Some(POWER),
        "kaplan_meier" => Some(KAPLAN_MEIER),
        _ => None,
    };
    exact.or_else(|| {
        if stem.starts_with("biopsy_roc_") {
            Some(BIOPSY_ROC)
        } else if stem.starts_with("instrument_") {
            Some(INSTRUMENT)
        } else {
            None
        }
    })
}

/// The meaning of `column` of the table `stem`, if this module knows it.
pub fn describe(stem: &str, column: &str) -> Option<ColumnDoc> {
    table(stem)?
        .iter()
        .find(|d| matches(d.pattern, column))
        .copied()
}

/// Whether `name` fits `pattern`, each `*` standing for one or more
/// characters.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            // The star takes at least one character, then the rest matches.
            (1..=tail.len())
                .filter(|&k| tail.is_char_boundary(k))
                .any(|k| matches(rest, &tail[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_from_the_study() {
        assert!(matches("cells_*", "cells_msc"));
        assert!(!matches("cells_*", "cells_"));
        assert!(matches("vesicles_*_taken_up", "vesicles_msc_ev_taken_up"));
        assert!(matches("*@*s", "main@259200s"));
        assert!(!matches("*@*s", "main@"));
        assert!(matches("diameter_m", "diameter_m") && !matches("diameter_m", "diameter_mm"));
    }

    #[test]
    fn exact_names_win_and_tables_are_found_by_stem() {
        let d = describe("tissue_timeseries", "time_s").unwrap();
        assert_eq!((d.unit, d.description), ("s", "time"));
        assert_eq!(
            describe("biopsy_roc_nta_sec", "threshold").unwrap().unit,
            "/m3"
        );
        assert_eq!(
            describe("instrument_nta_1h", "true_per_ml").unwrap().unit,
            "/mL"
        );
        assert_eq!(
            describe("tissue_timeseries", "held_msc_mir_146a_mean")
                .unwrap()
                .pattern,
            "held_*_mean"
        );
        assert!(
            describe("timeseries", "time_s").is_none(),
            "Parquet carries its own"
        );
        assert!(describe("biopsy_curve", "nonsense").is_none());
    }
}
