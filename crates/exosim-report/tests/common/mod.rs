//! Helpers the report's integration tests share: reading a figure's
//! plotly description back from a page.

// Each test binary uses the helpers it needs.
#![allow(dead_code)]

use exosim_report::page::esc;
use serde_json::Value;

/// The JSON of the figure titled `title` on the page.
pub fn figure_spec(html: &str, title: &str) -> Value {
    let at = html
        .find(&format!("data-plot=\"{}\"", esc(title)))
        .unwrap_or_else(|| panic!("no figure `{title}`"));
    let open = at + html[at..].find("-spec\">").unwrap() + "-spec\">".len();
    let close = open + html[open..].find("</script>").unwrap();
    serde_json::from_str(&html[open..close]).unwrap()
}

/// A JSON array as numbers (null as NaN).
pub fn numbers(v: &Value) -> Vec<f64> {
    (v.as_array().unwrap().iter())
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}
