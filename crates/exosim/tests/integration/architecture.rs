//! The shape of the code (docs/architecture.md): no import cycle between the
//! files of any crate of the workspace, and in the library every import goes
//! down the layer table that docs/architecture.md itself holds (engines never
//! import each other).
//!
//! The imports are read from the sources: every `use` tree and every
//! `crate::…`/`super::…` path outside comments and string literals, resolved
//! to the file of the longest module prefix it names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One crate's files: module path (`body::pbpk`) → source file.
struct Crate {
    files: BTreeMap<String, PathBuf>,
}

impl Crate {
    fn read(src: &Path) -> Crate {
        let mut files = BTreeMap::new();
        collect(src, src, &mut files);
        Crate { files }
    }

    /// The file that defines the longest module prefix of `path`.
    fn resolve(&self, path: &[String]) -> Option<String> {
        (0..=path.len()).rev().find_map(|n| {
            let module = path[..n].join("::");
            self.files.contains_key(&module).then_some(module)
        })
    }

    /// Each file's imports of other files of the crate, with the import's text.
    fn edges(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let mut edges = BTreeMap::new();
        for (module, file) in &self.files {
            let code = strip_test_modules(&strip_comments_and_strings(
                &fs::read_to_string(file).unwrap(),
            ));
            let mut targets = BTreeMap::new();
            for path in imported_paths(&code) {
                let Some(absolute) = self.absolute(module, &path) else {
                    continue;
                };
                if let Some(target) = self.resolve(&absolute)
                    && &target != module
                    && !target.is_empty()
                {
                    targets.entry(target).or_insert_with(|| path.join("::"));
                }
            }
            edges.insert(module.clone(), targets);
        }
        edges
    }

    /// `path` as written in `module` (whose source is `file`), made absolute.
    fn absolute(&self, module: &str, path: &[String]) -> Option<Vec<String>> {
        let mut base: Vec<String> = module
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let mut rest = path;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &rest[1..];
            }
            Some("self") => rest = &rest[1..],
            Some("super") => {
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                // A relative path names a child module, or something outside the crate.
                let mut child = base.clone();
                child.push(first.to_string());
                if !self.files.contains_key(&child.join("::")) {
                    return None;
                }
            }
            None => return None,
        }
        base.extend(rest.iter().filter(|s| *s != "self").cloned());
        Some(base)
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            files.insert(parts.join("::"), path);
        }
    }
}

/// The code with comments, string and character literals blanked out.
fn strip_comments_and_strings(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !ident_char_before(&chars, i)
        {
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len() {
                if chars[i] == '"'
                    && chars[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (chars.get(i + 2) == Some(&'\'') || next == Some('\\')) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The code without its `#[cfg(test)] mod … { … }` blocks: unit tests may
/// build their fixtures from any layer (a study file, say); they are not
/// part of the library.
fn strip_test_modules(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let is_module = after.trim_start().starts_with("mod ")
            && matches!((after.find('{'), after.find(';')), (Some(a), b) if b.is_none_or(|b| a < b));
        if !is_module {
            out.push_str("#[cfg(test)]");
            rest = after;
            continue;
        }
        let open = after.find('{').unwrap();
        let mut depth = 0;
        let mut end = after.len();
        for (i, c) in after[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn ident_char_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// Tokens: identifiers, `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Every path the code imports: the leaves of each `use` tree, and every
/// `crate::…` or `super::…` path written inline.
fn imported_paths(code: &str) -> Vec<Vec<String>> {
    let tokens = tokens(code);
    let mut paths = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let starts_path = i == 0 || tokens[i - 1] != "::";
        // `pub(crate)`, `pub(super)`: a visibility, not a path.
        let visibility = i >= 2 && tokens[i - 1] == "(" && tokens[i - 2] == "pub";
        if tokens[i] == "use" {
            i = use_tree(&tokens, i + 1, Vec::new(), &mut paths);
        } else if starts_path && !visibility && (tokens[i] == "crate" || tokens[i] == "super") {
            let mut path = vec![tokens[i].clone()];
            i += 1;
            while tokens.get(i).map(String::as_str) == Some("::")
                && tokens.get(i + 1).is_some_and(|t| is_ident(t))
            {
                path.push(tokens[i + 1].clone());
                i += 2;
            }
            paths.push(path);
        } else {
            i += 1;
        }
    }
    paths
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Reads one use tree starting at `i` under `prefix`; returns the index after it.
fn use_tree(
    tokens: &[String],
    mut i: usize,
    mut prefix: Vec<String>,
    paths: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match tokens.get(i).map(String::as_str) {
            Some("{") => {
                i += 1;
                while tokens.get(i).map(String::as_str) != Some("}") && i < tokens.len() {
                    i = use_tree(tokens, i, prefix.clone(), paths);
                    if tokens.get(i).map(String::as_str) == Some(",") {
                        i += 1;
                    }
                }
                return i + 1;
            }
            Some("*") => {
                paths.push(prefix);
                return i + 1;
            }
            Some("::") => i += 1,
            Some(t) if is_ident(t) && t != "as" => {
                prefix.push(t.to_string());
                i += 1;
            }
            Some("as") => {
                paths.push(prefix);
                return i + 2;
            }
            _ => {
                paths.push(prefix);
                return i;
            }
        }
    }
}

/// The strongly connected components of more than one file (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges[v].keys() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn describe_cycles(name: &str, edges: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    cycles(edges)
        .into_iter()
        .map(|component| {
            let links: Vec<String> = component
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|(to, _)| component.contains(to))
                        .map(move |(to, how)| format!("    {from} -> {to} (`{how}`)"))
                })
                .collect();
            format!(
                "{name}: import cycle through {}:\n{}",
                component.join(", "),
                links.join("\n")
            )
        })
        .collect()
}

#[test]
fn no_import_cycle_between_files_of_any_crate() {
    let mut problems = Vec::new();
    // Every member of the workspace, the Python package's crate included.
    for krate in [
        "crates/exosim",
        "crates/exosim-cli",
        "crates/exosim-report",
        "python",
    ] {
        let src = workspace().join(krate).join("src");
        let edges = Crate::read(&src).edges();
        let count: usize = edges.values().map(BTreeMap::len).sum();
        println!(
            "{krate}: {} files, {count} imports between them",
            edges.len()
        );
        problems.extend(describe_cycles(krate, &edges));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The layer table of docs/architecture.md (after `<!-- layers -->`): rows
/// from the top layer down, the modules in the last column; a module's
/// layer is its row counted from the bottom.
fn layers() -> BTreeMap<String, usize> {
    let doc = fs::read_to_string(workspace().join("docs/architecture.md")).unwrap();
    let start = doc
        .find("<!-- layers -->")
        .expect("docs/architecture.md has a `<!-- layers -->` table");
    let rows: Vec<Vec<String>> = doc[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.trim_start().starts_with('|'))
        .skip(2)
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    let mut layer = BTreeMap::new();
    for (depth, row) in rows.iter().rev().enumerate() {
        for module in row[row.len() - 2]
            .split(',')
            .map(|m| m.trim().trim_matches('`'))
        {
            if !module.is_empty() {
                layer.insert(module.to_string(), depth);
            }
        }
    }
    layer
}

#[test]
fn library_imports_go_down_the_layers_of_docs_architecture() {
    let layer = layers();
    let src = workspace().join("crates/exosim/src");
    let krate = Crate::read(&src);
    let top = |m: &str| m.split("::").next().unwrap().to_string();
    let mut problems = Vec::new();
    for module in krate
        .files
        .keys()
        .filter(|m| !m.is_empty())
        .map(|m| top(m))
        .collect::<BTreeSet<_>>()
    {
        if !layer.contains_key(&module) {
            problems.push(format!(
                "module `{module}` is missing from the layer table of docs/architecture.md"
            ));
        }
    }
    let mut between: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (from, targets) in krate.edges() {
        for (to, how) in targets {
            let (a, b) = (top(&from), top(&to));
            if from.is_empty() || a == b {
                continue;
            }
            *between.entry((a.clone(), b.clone())).or_default() += 1;
            match (layer.get(&a), layer.get(&b)) {
                (Some(la), Some(lb)) if la > lb => {}
                (Some(_), Some(_)) => problems.push(format!(
                    "`{from}` imports `{how}` from `{to}`: `{a}` may import only from layers below its own"
                )),
                _ => {}
            }
        }
    }
    for ((a, b), n) in &between {
        println!("{a} -> {b}: {n} files");
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_import_reader_sees_grouped_relative_and_inline_paths() {
    let code = strip_comments_and_strings(
        "use crate::a::{b::{self, C}, d as e};\n// use crate::nope;\nlet s = \"crate::nope\";\nfn f() { super::g::h(); }\npub(super) const N: u8 = 1;\nuse child::X;",
    );
    let paths: Vec<String> = imported_paths(&code).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "crate::a::b::self",
            "crate::a::b::C",
            "crate::a::d",
            "super::g::h",
            "child::X"
        ]
    );
    let mut edges = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        edges
            .entry(from.to_string())
            .or_insert_with(BTreeMap::new)
            .insert(to.to_string(), String::new());
    }
    edges.insert("d".into(), BTreeMap::new());
    assert_eq!(
        cycles(&edges),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
    let code = strip_test_modules(
        "use a::b;\n#[cfg(test)]\nmod tests { use crate::c; fn f() { {} } }\nuse d::e;",
    );
    assert_eq!(code, "use a::b;\n\nuse d::e;");
}
