//! A small XML writer and the MathML pieces of SBML rate laws: enough for
//! the exported models, readable, and escaping every attribute and text.

use std::fmt::Write;

/// The SBML Level 3 Version 2 core namespace.
pub const SBML_NS: &str = "http://www.sbml.org/sbml/level3/version2/core";

/// An XML document written element by element, indented two spaces.
#[derive(Debug, Default)]
pub struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    /// A document with the XML declaration.
    pub fn new() -> Self {
        Xml {
            out: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".to_string(),
            depth: 0,
        }
    }

    /// `<tag a="v" …>`; attributes with a `None` value are left out.
    pub fn open(&mut self, tag: &str, attrs: &[(&str, Option<&str>)]) {
        self.start(tag, attrs, false);
        self.depth += 1;
    }

    /// `<tag a="v" …/>`.
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, Option<&str>)]) {
        self.start(tag, attrs, true);
    }

    /// `</tag>`.
    pub fn close(&mut self, tag: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{tag}>");
    }

    /// `<tag>text</tag>` on one line, the text escaped.
    pub fn leaf(&mut self, tag: &str, text: &str) {
        self.indent();
        let _ = writeln!(self.out, "<{tag}>{}</{tag}>", escape(text));
    }

    /// Markup made elsewhere (MathML from [`Math`]), one line, as is.
    pub fn raw(&mut self, markup: &str) {
        self.indent();
        self.out.push_str(markup);
        self.out.push('\n');
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn start(&mut self, tag: &str, attrs: &[(&str, Option<&str>)], empty: bool) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        for (k, v) in attrs {
            if let Some(v) = v {
                let _ = write!(self.out, " {k}=\"{}\"", escape(v));
            }
        }
        self.out.push_str(if empty { "/>\n" } else { ">\n" });
    }
}

/// Text safe inside an element or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            _ => s.push(c),
        }
    }
    s
}

/// A number as SBML's XML Schema `double` writes it: the shortest text that
/// reads back as the same `f64` (`1e10`, `0.25`, `3.3333333333333335e-7`).
pub fn number(x: f64) -> String {
    format!("{x:e}")
}

/// A MathML expression, as markup (its pieces made by the functions below).
#[derive(Debug, Clone, PartialEq)]
pub struct Math(String);

impl Math {
    /// An identifier: a species, compartment or parameter.
    pub fn ci(id: &str) -> Math {
        Math(format!("<ci>{}</ci>", escape(id)))
    }

    /// A number with its SBML units (a unit definition's id or a base
    /// unit), so that unit checks can follow it; written in e-notation.
    pub fn cn(x: f64, units: &str) -> Math {
        let text = number(x);
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        Math(format!(
            "<cn sbml:units=\"{}\" type=\"e-notation\">{mantissa}<sep/>{exponent}</cn>",
            escape(units)
        ))
    }

    /// Simulated time.
    pub fn time() -> Math {
        Math(
            "<csymbol encoding=\"text\" definitionURL=\"http://www.sbml.org/sbml/symbols/time\">time</csymbol>"
                .to_string(),
        )
    }

    /// `<apply><op/>args…</apply>`.
    pub fn apply(op: &str, args: Vec<Math>) -> Math {
        let mut s = format!("<apply><{op}/>");
        for a in args {
            s.push_str(&a.0);
        }
        s.push_str("</apply>");
        Math(s)
    }

    /// `a × b × …`.
    pub fn times(args: Vec<Math>) -> Math {
        Math::apply("times", args)
    }

    /// `a / b`.
    pub fn divide(a: Math, b: Math) -> Math {
        Math::apply("divide", vec![a, b])
    }

    /// `a + b + …`; a single term is itself.
    pub fn plus(mut args: Vec<Math>) -> Math {
        if args.len() == 1 {
            args.remove(0)
        } else {
            Math::apply("plus", args)
        }
    }

    /// The `<math>` element holding it, declaring the `sbml:` prefix that
    /// the units of its numbers use.
    pub fn element(&self) -> String {
        format!(
            "<math xmlns=\"http://www.w3.org/1998/Math/MathML\" xmlns:sbml=\"{}\">{}</math>",
            SBML_NS, self.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut x = Xml::new();
        x.open("a", &[("name", Some("x<\"&'>")), ("gone", None)]);
        x.leaf("p", "1 < 2 & 3 > 2");
        x.close("a");
        let s = x.finish();
        assert!(s.contains("<a name=\"x&lt;&quot;&amp;&apos;&gt;\">"), "{s}");
        assert!(s.contains("<p>1 &lt; 2 &amp; 3 &gt; 2</p>"), "{s}");
        assert!(!s.contains("gone"));
    }

    #[test]
    fn numbers_read_back_exactly() {
        for x in [1e10, 0.25, 1.0 / 3.0, 6.5e-6 / 60.0, 0.0, 5e-324] {
            assert_eq!(number(x).parse::<f64>().unwrap(), x);
        }
        assert_eq!(
            Math::cn(1.5e-7, "second").0,
            "<cn sbml:units=\"second\" type=\"e-notation\">1.5<sep/>-7</cn>"
        );
    }
}
