//! Parameter paths and overrides: `--set vesicles.sEV.diameter="150 nm"`.
//!
//! A path names one value of a study file by the names a user reads there:
//! `vesicles.sEV.diameter` is the `diameter` of the `[[vesicles]]` entry
//! named `sEV`; `tissue.cell_types.tumour.secretion.tumour_ev.rate` walks
//! two arrays of tables by name. An entry of an array of tables is found by
//! the first of its identifying keys ([`IDENTIFYING_KEYS`]) equal to the
//! segment; `doses[1]` reaches it by position when names do not tell
//! entries apart. Overrides change the raw study (the TOML tree) before it
//! is deserialised and resolved, so an override is checked exactly like the
//! same value written in the file and can never give a model the file
//! could not.

use std::fmt;
use std::str::FromStr;

use toml::Value;

use super::error::{KeyPath, PathSegment, did_you_mean};

/// Keys that name an entry of an array of tables, in the order they are
/// tried: `name` (vesicle classes, arms, tests, cell types, variants, …),
/// then the keys that name what an entry is about (`class` of a
/// secretion, `vesicles` of a dose or source, `cell_type` of a placement,
/// `ligand` of a binding).
pub const IDENTIFYING_KEYS: [&str; 5] = ["name", "class", "vesicles", "cell_type", "ligand"];

/// A path that names one value of a study: keys, names of entries and
/// positions, `arms.depleted.body.organs.liver.volume` or `doses[1].amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamPath {
    segments: Vec<PathSegment>,
    text: String,
}

impl ParamPath {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ParamPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ParamPath {
    type Err = String;

    /// Segments separated by dots, each a key or name (letters, digits,
    /// `_` and `-`) followed by any number of `[n]` positions.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut segments = Vec::new();
        for piece in text.split('.') {
            let (name, mut rest) = piece.split_at(piece.find('[').unwrap_or(piece.len()));
            let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if name.is_empty() || !name.chars().all(valid) {
                return Err(format!(
                    "`{text}` is not a parameter path: `{piece}` should be a key or a name \
                     (letters, digits, `_`, `-`), e.g. `vesicles.sEV.diameter` or `doses[0].amount`"
                ));
            }
            segments.push(PathSegment::Key(name.to_string()));
            while !rest.is_empty() {
                let index = rest
                    .strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(n, r)| Some((n.parse::<usize>().ok()?, r)));
                let Some((n, after)) = index else {
                    return Err(format!(
                        "`{text}` is not a parameter path: `{piece}` has a position that is not `[n]`"
                    ));
                };
                segments.push(PathSegment::Index(n));
                rest = after;
            }
        }
        Ok(ParamPath {
            segments,
            text: text.to_string(),
        })
    }
}

/// One `PATH=VALUE`: a value to put at a path of the study.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Where.
    pub path: ParamPath,
    /// What, as a TOML value: `VALUE` read as TOML when it is one
    /// (`3`, `0.5`, `true`, `"150 nm"`, `["1 h", "2 h"]`), otherwise as
    /// text (`150 nm`), so that shells need no nested quotes.
    pub value: Value,
}

impl Override {
    /// An override of `path` by `value`.
    pub fn new(path: ParamPath, value: Value) -> Self {
        Override { path, value }
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.path, self.value)
    }
}

impl FromStr for Override {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let Some((path, value)) = text.split_once('=') else {
            return Err(format!(
                "`{text}` is not PATH=VALUE, e.g. vesicles.sEV.diameter=\"150 nm\""
            ));
        };
        Ok(Override {
            path: path.trim().parse()?,
            value: read_value(value.trim()),
        })
    }
}

/// `text` as a TOML value when it is one, else as a string.
pub fn read_value(text: &str) -> Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(text.to_string()))
}

/// Why an override could not be placed: what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct PathError {
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub hint: Option<String>,
}

/// Puts `over.value` at `over.path` in the study tree `root` (the whole
/// file, a [`Value::Table`]), creating the
/// tables the path goes through when the file leaves them out (so
/// `body.mps.capacity` works in a study without `[body.mps]`). Returns the
/// key path of the value in the file's own terms (positions for entries
/// named by name), which is how errors of the resolved study name it.
pub fn apply(root: &mut Value, over: &Override) -> Result<KeyPath, PathError> {
    let segments = &over.path.segments;
    let mut canonical = KeyPath::root();
    let mut here: &mut Value = root;
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        let walked = PathWalk {
            path: &over.path,
            depth: i,
        };
        here = match here {
            Value::Table(t) => {
                let PathSegment::Key(k) = seg else {
                    return Err(walked.error("is a table, not a list: name a key, not a position"));
                };
                canonical = canonical.key(k);
                if last {
                    t.insert(k.clone(), over.value.clone());
                    return Ok(canonical);
                }
                t.entry(k.clone())
                    .or_insert_with(|| Value::Table(toml::Table::new()))
            }
            Value::Array(items) => {
                let n = walked.entry(items, seg)?;
                canonical = canonical.index(n);
                if last {
                    if matches!(seg, PathSegment::Key(_)) {
                        return Err(walked.error("names a whole entry: add the key to set in it"));
                    }
                    items[n] = over.value.clone();
                    return Ok(canonical);
                }
                &mut items[n]
            }
            _ => return Err(walked.error("is a single value: the path should end there")),
        };
    }
    Err(PathError {
        message: "the path is empty".into(),
        hint: None,
    })
}

/// The value at `path` in the study tree `root`, as written (`"150 nm"`
/// stays text): the reading counterpart of [`apply`], so that a path reads
/// the very value an override of it would replace. A key the file leaves
/// out (a preset's default) is an error naming it, as is a wrong name.
pub fn get<'v>(root: &'v Value, path: &ParamPath) -> Result<&'v Value, PathError> {
    let mut here = root;
    for (depth, seg) in path.segments.iter().enumerate() {
        let walked = PathWalk { path, depth };
        here = match (here, seg) {
            (Value::Table(t), PathSegment::Key(k)) => t.get(k).ok_or_else(|| PathError {
                message: format!("`{}` is not set in the study", path),
                hint: Some("the value comes from a default or a preset; set it to write it".into()),
            })?,
            (Value::Table(_), PathSegment::Index(_)) => {
                return Err(walked.error("is a table, not a list: name a key, not a position"));
            }
            (Value::Array(items), seg) => &items[walked.entry(items, seg)?],
            _ => return Err(walked.error("is a single value: the path should end there")),
        };
    }
    Ok(here)
}

/// Where a walk along a path stands, for its error messages.
struct PathWalk<'p> {
    path: &'p ParamPath,
    depth: usize,
}

impl PathWalk<'_> {
    /// The path up to and including the current segment's parent.
    fn before(&self) -> String {
        let parent = KeyPath(self.path.segments[..self.depth].to_vec());
        parent.to_string()
    }

    fn error(&self, what: &str) -> PathError {
        let at = KeyPath(self.path.segments[..self.depth].to_vec());
        PathError {
            message: format!("`{at}` {what}"),
            hint: None,
        }
    }

    /// The position of the entry of `items` named or numbered by `seg`.
    fn entry(&self, items: &[Value], seg: &PathSegment) -> Result<usize, PathError> {
        match seg {
            PathSegment::Index(n) if *n < items.len() => Ok(*n),
            PathSegment::Index(n) => Err(PathError {
                message: format!(
                    "`{}` has {} entries, so there is no `[{n}]`",
                    self.before(),
                    items.len()
                ),
                hint: Some(format!(
                    "positions count from 0 to {}",
                    items.len().max(1) - 1
                )),
            }),
            PathSegment::Key(name) => self.named(items, name),
        }
    }

    fn named(&self, items: &[Value], name: &str) -> Result<usize, PathError> {
        let names: Vec<Option<&str>> = items.iter().map(entry_name).collect();
        let hits: Vec<usize> = (0..items.len())
            .filter(|&i| names[i] == Some(name))
            .collect();
        let list = self.before();
        match hits.as_slice() {
            [n] => Ok(*n),
            [] => {
                let known: Vec<&str> = names.iter().flatten().copied().collect();
                let hint = match did_you_mean(name, known.iter().copied()) {
                    Some(best) => Some(format!("did you mean `{}`?", self.with(name, &best))),
                    None if known.is_empty() => {
                        Some(format!("name an entry by position: `{list}[0]`"))
                    }
                    None => Some(format!("the entries of `{list}` are: {}", known.join(", "))),
                };
                Err(PathError {
                    message: format!("no entry of `{list}` is named `{name}`"),
                    hint,
                })
            }
            many => Err(PathError {
                message: format!("{} entries of `{list}` are named `{name}`", many.len()),
                hint: Some(format!(
                    "name one by position: {}",
                    many.iter()
                        .map(|i| format!("`{list}[{i}]`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }),
        }
    }

    /// The whole path with the current segment (`name`) replaced by `by`.
    fn with(&self, name: &str, by: &str) -> String {
        let mut segments = self.path.segments.clone();
        if let Some(PathSegment::Key(k)) = segments.get_mut(self.depth)
            && k == name
        {
            *k = by.to_string();
        }
        KeyPath(segments).to_string()
    }
}

/// The name of an entry of an array of tables: its first identifying key
/// that holds a string.
fn entry_name(item: &Value) -> Option<&str> {
    let t = item.as_table()?;
    IDENTIFYING_KEYS
        .iter()
        .find_map(|k| t.get(*k).and_then(Value::as_str))
}

/// The hint for a deserialisation error of an overridden tree: serde's
/// "unknown field `x`, expected one of `a`, `b`" becomes the whole path
/// with the closest expected key in place of `x`.
pub fn nearest_path(path: &ParamPath, message: &str) -> Option<String> {
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let (unknown, expected) = ticked.split_first()?;
    if !message.starts_with("unknown field") {
        return None;
    }
    let depth = path
        .segments
        .iter()
        .rposition(|s| matches!(s, PathSegment::Key(k) if k == unknown))?;
    let walk = PathWalk { path, depth };
    match did_you_mean(unknown, expected.iter().copied()) {
        Some(best) => Some(format!("did you mean `{}`?", walk.with(unknown, &best))),
        None => Some(format!(
            "`{}` takes: {}",
            walk.before(),
            expected.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Value {
        Value::Table(toml::from_str(text).unwrap())
    }

    fn set(root: &mut Value, what: &str) -> Result<String, PathError> {
        apply(root, &what.parse().unwrap()).map(|p| p.to_string())
    }

    const STUDY: &str = r#"
        [study]
        name = "s"
        [[vesicles]]
        name = "sEV"
        diameter = "100 nm"
        [[vesicles]]
        name = "lEV"
        diameter = "500 nm"
        [[doses]]
        vesicles = "sEV"
        amount = 1e9
        [[doses]]
        vesicles = "sEV"
        amount = 2e9
    "#;

    #[test]
    fn a_path_reads_keys_names_and_positions() {
        let p: ParamPath = "arms.depleted.body.organs[2].volume".parse().unwrap();
        assert_eq!(
            KeyPath(p.segments.clone()).to_string(),
            "arms.depleted.body.organs[2].volume"
        );
        for bad in ["", "a..b", "a.b c", "a[x]", "a[1", ".a", "a]"] {
            assert!(
                bad.parse::<ParamPath>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn a_value_is_toml_when_it_is_toml_and_text_otherwise() {
        assert_eq!(read_value("3"), Value::Integer(3));
        assert_eq!(read_value("0.5"), Value::Float(0.5));
        assert_eq!(read_value("\"150 nm\""), Value::String("150 nm".into()));
        assert_eq!(read_value("150 nm"), Value::String("150 nm".into()));
        assert_eq!(read_value("true"), Value::Boolean(true));
        let list = read_value(r#"["1 h", "2 h"]"#);
        assert_eq!(list.as_array().map(Vec::len), Some(2));
        let over: Override = "a.b = x = y".parse().unwrap();
        assert_eq!(over.value, Value::String("x = y".into()));
    }

    #[test]
    fn an_entry_is_found_by_its_name_and_the_value_replaced() {
        let mut t = tree(STUDY);
        let at = set(&mut t, "vesicles.lEV.diameter=700 nm").unwrap();
        assert_eq!(at, "vesicles[1].diameter");
        assert_eq!(t["vesicles"][1]["diameter"].as_str(), Some("700 nm"));
        assert_eq!(t["vesicles"][0]["diameter"].as_str(), Some("100 nm"));
        assert_eq!(
            set(&mut t, "doses[1].amount=5e9").unwrap(),
            "doses[1].amount"
        );
        assert_eq!(t["doses"][1]["amount"].as_float(), Some(5e9));
    }

    #[test]
    fn get_reads_the_value_an_override_replaces() {
        let root = tree(
            "[[vesicles]]\nname = \"sEV\"\ndiameter = \"100 nm\"\n[[doses]]\nvesicles = \"sEV\"\namount = 1e10\n",
        );
        let at = |p: &str| get(&root, &p.parse().unwrap()).cloned();
        assert_eq!(
            at("vesicles.sEV.diameter"),
            Ok(Value::String("100 nm".into()))
        );
        assert_eq!(at("doses[0].amount"), Ok(Value::Float(1e10)));
        let missing = at("vesicles.sEV.cd47").unwrap_err();
        assert!(missing.message.contains("not set"), "{missing:?}");
        let wrong = at("vesicles.sXV.diameter").unwrap_err();
        assert_eq!(wrong.message, "no entry of `vesicles` is named `sXV`");
        assert_eq!(
            wrong.hint.as_deref(),
            Some("the entries of `vesicles` are: sEV")
        );
        assert!(at("vesicles.sEV.diameter.x").is_err());
    }

    #[test]
    fn missing_tables_are_created_on_the_way() {
        let mut t = tree(STUDY);
        assert_eq!(
            set(&mut t, "body.mps.capacity=0.1").unwrap(),
            "body.mps.capacity"
        );
        assert_eq!(t["body"]["mps"]["capacity"].as_float(), Some(0.1));
    }

    #[test]
    fn a_wrong_name_says_the_nearest_and_a_shared_name_asks_for_a_position() {
        let mut t = tree(STUDY);
        let e = set(&mut t, "vesicles.sEX.diameter=1 nm").unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("did you mean `vesicles.sEV.diameter`?")
        );
        let e = set(&mut t, "doses.sEV.amount=1").unwrap_err();
        assert!(e.message.contains("2 entries"), "{}", e.message);
        assert_eq!(
            e.hint.as_deref(),
            Some("name one by position: `doses[0]`, `doses[1]`")
        );
        let e = set(&mut t, "doses[2].amount=1").unwrap_err();
        assert!(e.message.contains("no `[2]`"), "{}", e.message);
        let e = set(&mut t, "study.name.x=1").unwrap_err();
        assert!(e.message.contains("single value"), "{}", e.message);
        let e = set(&mut t, "vesicles.sEV=1").unwrap_err();
        assert!(e.message.contains("whole entry"), "{}", e.message);
    }

    #[test]
    fn an_unknown_key_is_answered_with_the_nearest_whole_path() {
        let p: ParamPath = "body.mpss.capacity".parse().unwrap();
        let msg = "unknown field `mpss`, expected one of `species`, `mps`, `organs`";
        assert_eq!(
            nearest_path(&p, msg).as_deref(),
            Some("did you mean `body.mps.capacity`?")
        );
        let msg = "unknown field `mpss`, expected one of `alpha`, `beta`";
        assert_eq!(
            nearest_path(&p, msg).as_deref(),
            Some("`body` takes: alpha, beta")
        );
        assert_eq!(nearest_path(&p, "invalid type: integer"), None);
    }
}
