//! Documentation that cannot go stale.
//!
//! * Every figure quoted in the Markdown with a mark
//!   `<!-- fig: SOURCE EXPR -->` is recomputed from a fresh run and must
//!   round to the quoted text at the precision it is written with
//!   (`0.9485` is checked to ±0.00005, `19,885` exactly, `2.587·10¹⁰` to
//!   ±0.0005·10¹⁰). `SOURCE` is a shipped study (`screening_ovarian`: its
//!   `summary.json`; `NAME+PATH=VALUE+…` the same with values set, as
//!   `--set` does) or `deconvolution:SAMPLE` (the example files of
//!   `studies/deconvolution/` with the command's defaults: per source
//!   `fraction`, `lower`, `upper`); `EXPR` is a JSON path
//!   (`biopsy.tests[0].specificity`) optionally followed by `* NUMBER`,
//!   `/ NUMBER` or `/ PATH` steps, evaluated left to right;
//!   `campaign:NAME` is the `summary.json` of `campaigns/NAME.toml` run whole
//!   (of its calibration, for a calibration campaign), and
//!   `campaign:NAME+PATH=VALUE…` the same with values set (`--set`);
//!   `production:PLATFORM` the `summary.json` of a `[production]` study of
//!   that platform's preset alone.
//! * `EXOSIM_UPDATE_DOC_FIGURES=1 cargo test --release -p exosim --test
//!   integration docs::` rewrites every marked figure with the run's value at the same precision
//!   and layout: this is how the figures are regenerated after a change
//!   that moves them (review the diff). Timings and benchmark figures are
//!   measurements of one machine and are not marked; `cargo bench`
//!   prints them again.
//! * The units table of `docs/study-format.md` lists, per dimension,
//!   exactly what `Dimension::accepted` says, and every spelling listed in
//!   it parses.
//! * Every anchor of `docs/references.md` cited anywhere in the repository
//!   exists there, and every entry there is cited.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use exosim::biopsy::deconvolution;
use exosim::run;
use exosim::scenario::load_study;
use exosim::units::{self, Dimension};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The documents whose figures are checked.
const DOCUMENTS: &[&str] = &[
    "README.md",
    "docs/biopsy.md",
    "docs/tissue.md",
    "docs/study-format.md",
    "docs/campaigns.md",
    "docs/effects.md",
    "docs/trials.md",
    "docs/production.md",
    "docs/instruments.md",
    "studies/deconvolution/README.md",
];

/// One marked figure.
#[derive(Debug)]
struct Figure {
    doc: &'static str,
    line: usize,
    source: String,
    expr: String,
    /// Byte range of the quoted number in the document.
    span: (usize, usize),
    quoted: Quoted,
}

/// A number as written: its value and the precision it is written with.
#[derive(Debug, Clone)]
struct Quoted {
    value: f64,
    /// Decimals of the mantissa.
    decimals: usize,
    /// Power of ten written after the mantissa (`·10¹⁰`, `e10`), 0 if none.
    exponent: i32,
    /// How the exponent was written: `None`, `Some(true)` superscript, `Some(false)` `e`.
    superscript: Option<bool>,
    thousands: bool,
    minus: Option<char>,
}

const SUPERSCRIPTS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

/// Parses the number at the start of `s`; returns it and its length in bytes.
fn parse_quoted(s: &str) -> Option<(Quoted, usize)> {
    let mut i = 0;
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|c| c.1);
    let mut minus = None;
    if let Some(c @ ('-' | '−')) = at(0) {
        minus = Some(c);
        i += 1;
    }
    let mut digits = String::new();
    let mut thousands = false;
    while let Some(c) = at(i) {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == ','
            && at(i + 1).is_some_and(|d| d.is_ascii_digit())
            && at(i + 2).is_some_and(|d| d.is_ascii_digit())
            && at(i + 3).is_some_and(|d| d.is_ascii_digit())
            && !at(i + 4).is_some_and(|d| d.is_ascii_digit())
        {
            thousands = true;
        } else {
            break;
        }
        i += 1;
    }
    if digits.is_empty() {
        return None;
    }
    let mut decimals = 0;
    if at(i) == Some('.') && at(i + 1).is_some_and(|d| d.is_ascii_digit()) {
        digits.push('.');
        i += 1;
        while let Some(c) = at(i).filter(char::is_ascii_digit) {
            digits.push(c);
            decimals += 1;
            i += 1;
        }
    }
    let mut exponent = 0;
    let mut superscript = None;
    let rest: String = chars[i.min(chars.len())..].iter().map(|c| c.1).collect();
    if let Some(tail) = rest.strip_prefix("·10") {
        let mut k = 0;
        let mut sign = 1;
        let tail: Vec<char> = tail.chars().collect();
        if tail.first() == Some(&'⁻') {
            sign = -1;
            k = 1;
        }
        let mut e = 0i32;
        let start = k;
        while let Some(d) = tail
            .get(k)
            .and_then(|c| SUPERSCRIPTS.iter().position(|s| s == c))
        {
            e = e * 10 + d as i32;
            k += 1;
        }
        if k > start {
            exponent = sign * e;
            superscript = Some(true);
            i += 3 + k;
        }
    } else if let Some(tail) = rest.strip_prefix('e') {
        let digits_len = tail
            .char_indices()
            .take_while(|&(j, c)| c.is_ascii_digit() || (j == 0 && c == '-'))
            .count();
        if let Ok(e) = tail[..digits_len].parse::<i32>() {
            exponent = e;
            superscript = Some(false);
            i += 1 + digits_len;
        }
    }
    let mantissa: f64 = digits.parse().ok()?;
    let value = if minus.is_some() { -mantissa } else { mantissa } * 10f64.powi(exponent);
    let len = chars.get(i).map_or(s.len(), |c| c.0);
    Some((
        Quoted {
            value,
            decimals,
            exponent,
            superscript,
            thousands,
            minus,
        },
        len,
    ))
}

/// Writes `value` in the layout of `q`.
fn format_like(q: &Quoted, value: f64) -> String {
    let mantissa = value / 10f64.powi(q.exponent);
    let mut s = format!("{:.*}", q.decimals, mantissa.abs());
    if q.thousands {
        let (int, frac) = s.split_once('.').map_or((s.clone(), None), |(a, b)| {
            (a.to_string(), Some(b.to_string()))
        });
        let mut grouped = String::new();
        for (k, c) in int.chars().enumerate() {
            if k > 0 && (int.len() - k) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        s = match frac {
            Some(f) => format!("{grouped}.{f}"),
            None => grouped,
        };
    }
    if mantissa < 0.0 && s.trim_start_matches(['0', '.', ',']).is_empty() {
        // A negative value that rounds to zero is written as zero.
    } else if mantissa < 0.0 {
        s.insert(0, q.minus.unwrap_or('−'));
    }
    match q.superscript {
        Some(true) => {
            s.push_str("·10");
            if q.exponent < 0 {
                s.push('⁻');
            }
            for d in q.exponent.unsigned_abs().to_string().chars() {
                s.push(SUPERSCRIPTS[d.to_digit(10).unwrap() as usize]);
            }
        }
        Some(false) => s.push_str(&format!("e{}", q.exponent)),
        None => {}
    }
    s
}

/// Every `<!-- fig: SOURCE EXPR -->NUMBER` of the documents.
fn figures() -> Vec<Figure> {
    let mut out = Vec::new();
    for &doc in DOCUMENTS {
        let text = fs::read_to_string(repo().join(doc)).unwrap();
        let mut from = 0;
        while let Some(k) = text[from..].find("<!-- fig:") {
            let start = from + k;
            let end = start
                + text[start..]
                    .find("-->")
                    .unwrap_or_else(|| panic!("{doc}: unterminated fig mark"));
            let mark = text[start + "<!-- fig:".len()..end].trim();
            let line = text[..start].matches('\n').count() + 1;
            let (source, expr) = mark
                .split_once(' ')
                .unwrap_or_else(|| panic!("{doc}:{line}: `{mark}` needs a source and a path"));
            let after = end + 3;
            let (quoted, len) = parse_quoted(&text[after..])
                .unwrap_or_else(|| panic!("{doc}:{line}: no number right after the mark `{mark}`"));
            out.push(Figure {
                doc,
                line,
                source: source.to_string(),
                expr: expr.trim().to_string(),
                span: (after, after + len),
                quoted,
            });
            from = after;
        }
    }
    out
}

/// The JSON a figure source gives.
fn run_source(source: &str) -> Value {
    if let Some(name) = source.strip_prefix("campaign:") {
        // `NAME+PATH=VALUE+…`: the campaign with values set (`--set`).
        let mut parts = name.split('+');
        let name = parts.next().unwrap_or_default();
        let sets: Vec<exosim::scenario::Override> = parts
            .map(|s| s.parse().unwrap_or_else(|e| panic!("{source}: {e}")))
            .collect();
        let campaign = exosim::campaign::Campaign::load_with(
            &repo().join(format!("campaigns/{name}.toml")),
            &sets,
        )
        .unwrap_or_else(|e| panic!("{source}: {e}"));
        let dir = tempfile::tempdir().unwrap();
        if campaign.calibration.is_some() {
            let report =
                exosim::campaign::calibration::run::calibrate(&campaign, dir.path(), |_, _| {})
                    .unwrap_or_else(|e| panic!("{source}: {e}"));
            return serde_json::to_value(report.summary()).unwrap();
        }
        let summary = exosim::campaign::run_whole(&campaign, dir.path(), |_, _| {})
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        return serde_json::to_value(summary).unwrap();
    }
    if let Some(platform) = source.strip_prefix("production:") {
        let text = format!(
            "[study]\nname = \"plan\"\nduration = \"1 day\"\n[production]\nplatform = \"{platform}\"\n"
        );
        let study = exosim::scenario::parse_study(&text, source).unwrap();
        let result = run::run(&study, |_| {}).unwrap();
        return serde_json::to_value(run::summary(&study, &result)).unwrap();
    }
    if let Some(sample) = source.strip_prefix("deconvolution:") {
        let dir = repo().join("studies/deconvolution");
        let reference = deconvolution::read_reference(&dir.join("reference.csv")).unwrap();
        let samples = deconvolution::read_samples(&dir.join("sample.csv")).unwrap();
        let s = samples
            .iter()
            .find(|s| s.name == sample)
            .unwrap_or_else(|| panic!("no sample {sample}"));
        // The command's defaults: 1000 replicates, level 0.95, seed 1.
        let estimates = deconvolution::bootstrap(&reference, s, 1000, 0.95, 1).unwrap();
        let fit = deconvolution::deconvolve(&reference, s).unwrap();
        let mut obj = serde_json::Map::new();
        obj.insert("r_squared".into(), json!(fit.r_squared));
        for e in estimates {
            obj.insert(
                e.source.clone(),
                json!({"fraction": e.fraction, "lower": e.lower, "upper": e.upper}),
            );
        }
        return Value::Object(obj);
    }
    // `NAME+PATH=VALUE+…`: the shipped study with values set (`--set`).
    let mut parts = source.split('+');
    let name = parts.next().unwrap_or_default();
    let sets: Vec<exosim::scenario::Override> = parts
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{source}: {e}")))
        .collect();
    let path = repo().join(format!("studies/{name}.toml"));
    let fail = |e: exosim::scenario::StudyError| -> ! { panic!("{source}: {e}") };
    let study = if sets.is_empty() {
        load_study(&path).unwrap_or_else(|e| fail(e))
    } else {
        let source = exosim::scenario::StudySource::load(&path).unwrap_or_else(|e| fail(e));
        source.study(&sets).unwrap_or_else(|e| fail(e))
    };
    let result = run::run(&study, |_| {}).unwrap_or_else(|e| panic!("{source}: {e}"));
    serde_json::to_value(run::summary(&study, &result)).unwrap()
}

/// Follows `a.b[2].c` in `v`.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(k) => (&part[..k], &part[k..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            cur = cur.get(key)?;
        }
        while let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            cur = cur.get(r[..close].parse::<usize>().ok()?)?;
            rest = &r[close + 1..];
        }
    }
    Some(cur)
}

/// Evaluates `PATH (op OPERAND)*` on `v`.
fn evaluate(v: &Value, expr: &str) -> Result<f64, String> {
    let mut tokens = expr.split_whitespace();
    let operand = |t: &str| -> Result<f64, String> {
        if let Ok(x) = t.parse::<f64>() {
            return Ok(x);
        }
        lookup(v, t)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("`{t}` is not a number in the run"))
    };
    let mut acc = operand(tokens.next().ok_or("empty expression")?)?;
    while let Some(op) = tokens.next() {
        let x = operand(tokens.next().ok_or(format!("`{op}` needs an operand"))?)?;
        acc = match op {
            "*" => acc * x,
            "/" => acc / x,
            other => return Err(format!("unknown operator `{other}`")),
        };
    }
    Ok(acc)
}

/// A figure to rewrite: its byte range in the document and its new text.
type Edit = ((usize, usize), String);

/// Whether `value` rounds to the quoted text at its precision.
fn matches(q: &Quoted, value: f64) -> bool {
    let unit = 10f64.powi(q.exponent - q.decimals as i32);
    (value - q.value).abs() <= 0.5 * unit * (1.0 + 1e-9) + 1e-12 * q.value.abs()
}

/// Law: a figure quoted in the documentation is what the code computes
/// today. Runs each marked source once (the shipped biopsy and signature
/// studies and the deconvolution example, a few seconds in all).
#[test]
fn quoted_figures_match_a_fresh_run() {
    let figs = figures();
    assert!(
        figs.len() >= 30,
        "the documents mark {} figures; marks were lost",
        figs.len()
    );
    let sources: BTreeSet<&str> = figs.iter().map(|f| f.source.as_str()).collect();
    let runs: BTreeMap<&str, Value> = sources.iter().map(|&s| (s, run_source(s))).collect();
    let update = std::env::var("EXOSIM_UPDATE_DOC_FIGURES").as_deref() == Ok("1");
    let mut wrong = Vec::new();
    let mut edits: BTreeMap<&str, Vec<Edit>> = BTreeMap::new();
    for f in &figs {
        let value = evaluate(&runs[f.source.as_str()], &f.expr)
            .unwrap_or_else(|e| panic!("{}:{}: {} {}: {e}", f.doc, f.line, f.source, f.expr));
        if !matches(&f.quoted, value) {
            let now = format_like(&f.quoted, value);
            wrong.push(format!(
                "{}:{}: `{} {}` quotes {} but the run gives {value} ({now})",
                f.doc,
                f.line,
                f.source,
                f.expr,
                format_like(&f.quoted, f.quoted.value),
            ));
            edits.entry(f.doc).or_default().push((f.span, now));
        }
    }
    if update {
        for (doc, mut list) in edits {
            let path = repo().join(doc);
            let mut text = fs::read_to_string(&path).unwrap();
            list.sort_by_key(|e| std::cmp::Reverse(e.0.0));
            for ((a, b), now) in list {
                text.replace_range(a..b, &now);
            }
            fs::write(&path, text).unwrap();
        }
        eprintln!("updated {} figures:\n{}", wrong.len(), wrong.join("\n"));
        return;
    }
    assert!(
        wrong.is_empty(),
        "{} quoted figures differ from the run (rerun with \
         EXOSIM_UPDATE_DOC_FIGURES=1 to rewrite them):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// The figure reader's own laws: precision, layouts and the round trip.
#[test]
fn figure_marks_are_read_at_their_written_precision() {
    let (q, len) = parse_quoted("0.9485 [").unwrap();
    assert_eq!((q.value, q.decimals, len), (0.9485, 4, 6));
    assert!(matches(&q, 0.94854) && !matches(&q, 0.94856));
    let (q, len) = parse_quoted("19,885 of").unwrap();
    assert_eq!(
        (q.value, q.decimals, q.thousands, len),
        (19885.0, 0, true, 6)
    );
    assert_eq!(format_like(&q, 19884.6), "19,885");
    let (q, _) = parse_quoted("2.587·10¹⁰ /m³").unwrap();
    assert_eq!((q.exponent, q.decimals), (10, 3));
    assert!(matches(&q, 2.5874e10) && !matches(&q, 2.5876e10));
    assert_eq!(format_like(&q, 2.5876e10), "2.588·10¹⁰");
    let (q, _) = parse_quoted("2.6·10⁻⁸ of").unwrap();
    assert_eq!(q.exponent, -8);
    assert_eq!(format_like(&q, 2.61e-8), "2.6·10⁻⁸");
    let (q, _) = parse_quoted("1, 2").unwrap();
    assert!(!q.thousands, "a list is not a thousands separator");
    assert!(parse_quoted("x1").is_none());
    let v = json!({"a": [{"b": 2.0}, {"b": 8.0}], "n": 4});
    assert_eq!(evaluate(&v, "a[1].b / n * 100").unwrap(), 200.0);
    assert!(evaluate(&v, "a[2].b").is_err());
}

/// The units table of `docs/study-format.md` (`| dimension | used by |
/// accepted units |`) says for each dimension exactly what
/// `Dimension::accepted` says, and every spelling in its list parses to
/// that dimension.
#[test]
fn units_table_lists_what_the_parser_accepts() {
    let text = fs::read_to_string(repo().join("docs/study-format.md")).unwrap();
    let rows: BTreeMap<String, String> = text
        .lines()
        .skip_while(|l| !l.starts_with("| dimension | used by | accepted units"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].to_string(), cells[2].to_string())
        })
        .collect();
    for d in Dimension::ALL {
        assert_eq!(
            rows.get(d.name()).map(String::as_str),
            Some(d.accepted()),
            "docs/study-format.md units table, row `{}`",
            d.name()
        );
    }
    // The full list of spellings: `* time: `s`, `sec`, …;` per dimension.
    let list = text
        .split("The full list of spellings")
        .nth(1)
        .expect("the list of spellings")
        .split("\n\n")
        .nth(1)
        .unwrap();
    let mut checked = 0;
    for item in format!("\n{list}").split("\n* ").skip(1) {
        let Some((name, spellings)) = item.split_once(':') else {
            continue; // the compound units, listed as examples
        };
        let dim = match name.trim() {
            "time" => Dimension::Time,
            "length" => Dimension::Length,
            "volume" => Dimension::Volume,
            "temperature" => Dimension::Temperature,
            "count words" => Dimension::Count,
            "mass" => Dimension::Mass,
            "molar mass" => Dimension::MolarMass,
            _ => continue,
        };
        for s in spellings.split('`').skip(1).step_by(2) {
            units::parse(&format!("2 {s}"), dim)
                .unwrap_or_else(|e| panic!("`2 {s}` as a {}: {e}", dim.name()));
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} spellings found in the list");
    // Every time unit named by `accepted` is in the list, `year` included.
    for unit in Dimension::Time.accepted().split(", ") {
        assert!(list.contains(&format!("`{unit}`")), "`{unit}` not listed");
    }
}

/// Files of the repository that may cite `docs/references.md`.
fn repository_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if p.is_dir() {
                walk(&p, out);
            } else if ["rs", "md", "toml", "py", "txt"]
                .iter()
                .any(|x| name.ends_with(&format!(".{x}")))
            {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for top in ["crates", "docs", "studies", "benches", "README.md"] {
        let p = repo().join(top);
        if p.is_dir() {
            walk(&p, &mut out);
        } else if p.is_file() {
            out.push(p);
        }
    }
    out
}

/// Every anchor of `docs/references.md` cited in code, tests, studies and
/// docs names an entry there; every entry is cited somewhere; no file
/// still cites the reference list that was never part of the repository.
#[test]
fn every_cited_reference_exists() {
    let refs = fs::read_to_string(repo().join("docs/references.md")).unwrap();
    let anchors: BTreeSet<String> = refs
        .split("<a id=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect();
    assert!(anchors.len() >= 30, "{anchors:?}");
    let mut cited = BTreeSet::new();
    let mut missing = Vec::new();
    let retired = ["REFERENCE", ".md"].concat();
    for file in repository_files() {
        let text = fs::read_to_string(&file).unwrap_or_default();
        let rel = file
            .strip_prefix(repo())
            .unwrap_or(&file)
            .display()
            .to_string();
        for (k, _) in text.match_indices("references.md#") {
            let anchor: String = text[k + "references.md#".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if anchor.is_empty() {
                continue; // this file's own search string
            }
            if !anchors.contains(&anchor) {
                missing.push(format!("{rel}: #{anchor}"));
            }
            cited.insert(anchor);
        }
        if text.contains(&retired) {
            missing.push(format!(
                "{rel}: cites {retired}, which is not in the repository"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let uncited: Vec<_> = anchors.difference(&cited).collect();
    assert!(uncited.is_empty(), "entries nothing cites: {uncited:?}");
}
