//! Numbers as a person reads them in a table: three significant digits, a
//! convenient unit, a dash where there is no value.

use exosim::units::{Dimension, format_human};
use serde_json::Value;

/// Three significant digits; scientific notation for very large or small values.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "—".into()
        } else {
            format!("{x}")
        };
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.abs() >= 1e5 || x.abs() < 1e-3 {
        return format!("{x:.2e}");
    }
    if x.fract() == 0.0 {
        // Counts read as counts: 52, not 52.0.
        return format!("{x:.0}");
    }
    let decimals = (2 - x.abs().log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

/// A quantity in a convenient unit, three significant digits.
pub fn human(x: f64, dim: Dimension) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let text = format_human(x, dim);
    let (number, unit) = text.split_once(' ').unwrap_or((&text, ""));
    match number.parse::<f64>() {
        Ok(v) => format!("{} {unit}", num(v)).trim_end().to_string(),
        Err(_) => text,
    }
}

/// A fraction as a percentage.
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{} %", num(100.0 * x))
    } else {
        "—".into()
    }
}

/// A length in millimetres (tumour diameters).
pub fn mm(x: Option<f64>) -> String {
    x.map(|d| format!("{} mm", num(d * 1e3)))
        .unwrap_or_else(|| "not reached".into())
}

/// How a column of values is shown: in a unit a reader uses, the file's
/// values multiplied by `factor` (seconds as min or h, metres as mm,
/// shares as %), one unit for a whole column so that its rows compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    /// The unit shown; empty for plain numbers.
    pub unit: String,
    /// Shown value per file value.
    pub factor: f64,
}

impl Scale {
    /// A value in the shown unit.
    pub fn apply(&self, x: f64) -> f64 {
        x * self.factor
    }

    /// An axis or column title: the name and the unit in brackets.
    pub fn label(&self, name: &str) -> String {
        if self.unit.is_empty() {
            name.to_string()
        } else {
            format!("{name} ({})", self.unit)
        }
    }

    /// A value as table text, with its unit.
    pub fn show(&self, x: f64) -> String {
        let v = num(self.apply(x));
        if self.unit.is_empty() || !x.is_finite() {
            v
        } else {
            format!("{v} {}", self.unit)
        }
    }
}

/// The [`Scale`] of values written in the SI unit `unit`: shares and
/// probabilities (`fraction`) as %, a physical quantity in the unit
/// [`human`] picks for a `typical` value (the median, say), anything else
/// as written.
pub fn scale(unit: &str, fraction: bool, typical: f64) -> Scale {
    let plain = |u: &str| Scale {
        unit: if u == "1" {
            String::new()
        } else {
            u.to_string()
        },
        factor: 1.0,
    };
    if fraction && (unit == "1" || unit.is_empty()) {
        return Scale {
            unit: "%".into(),
            factor: 100.0,
        };
    }
    let Some(dim) = Dimension::ALL
        .into_iter()
        .find(|d| !d.si_unit().is_empty() && d.si_unit() == unit && *d != Dimension::Temperature)
    else {
        return plain(unit);
    };
    let shown = format_human(if typical.is_finite() { typical } else { 0.0 }, dim);
    let human_unit = shown.split_once(' ').map_or("", |(_, u)| u);
    match exosim::units::parse(&format!("1 {human_unit}"), dim) {
        Ok(si) if si > 0.0 && !human_unit.is_empty() => Scale {
            unit: human_unit.to_string(),
            factor: 1.0 / si,
        },
        _ => plain(unit),
    }
}

/// A JSON number, or NaN when absent or null.
pub fn f(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// A JSON string, or "" when absent.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A scalar JSON value as table text.
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("—".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => n.as_f64().map(num),
        Value::String(t) => Some(t.clone()),
        Value::Array(items) if items.iter().all(|i| !i.is_array() && !i.is_object()) => {
            let parts: Vec<String> = items.iter().filter_map(scalar).collect();
            Some(if parts.len() <= 8 {
                format!("[{}]", parts.join(", "))
            } else {
                format!("[{} values]", parts.len())
            })
        }
        _ => None,
    }
}

/// Every scalar of a nested JSON object as (dotted key, text), in order.
pub fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, x, out);
            }
        }
        Value::Array(items) if scalar(v).is_none() => {
            for (i, x) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => {
            if let Some(text) = scalar(other) {
                out.push((prefix.to_string(), text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(num(7.66942), "7.67");
        assert_eq!(num(123.456), "123");
        assert_eq!(num(0.0123456), "0.0123");
        assert_eq!(num(1.5e10), "1.50e10");
        assert_eq!(pct(0.6017), "60.2 %");
    }

    #[test]
    fn scales_pick_the_readers_unit_for_a_whole_column() {
        let t = scale("s", false, 500.0);
        assert_eq!(
            (t.unit.as_str(), t.show(480.0)),
            ("min", "8 min".to_string())
        );
        assert_eq!(scale("s", false, 7200.0).unit, "h");
        let d = scale("m", false, 0.0095);
        assert_eq!(
            (d.unit.as_str(), d.show(0.0172)),
            ("mm", "17.2 mm".to_string())
        );
        assert_eq!(scale("1", true, 0.3).show(0.0788), "7.88 %");
        assert_eq!(scale("1", false, 0.8).label("auc"), "auc");
        assert_eq!(scale("s/m3", false, 1.0).label("auc"), "auc (s/m3)");
        assert_eq!(scale("m3/s", false, 1e-9).unit, "\u{b5}L/min");
    }

    #[test]
    fn nested_objects_flatten_to_dotted_keys() {
        let v = serde_json::json!({"a": 1.0, "b": {"c": "x", "d": [1, 2]}, "e": [{"f": true}]});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["a", "b.c", "b.d", "e[0].f"]);
        assert_eq!(out[2].1, "[1, 2]");
    }
}
