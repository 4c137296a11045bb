//! The HTML page: sections of tables, interactive figures and images, put
//! together as one self-contained file.
//!
//! plotly.js is inlined once, after the content; each figure carries only its
//! JSON. A small harness installed before any other script records errors
//! (`window.onerror`, `console.error`, rejected promises), and once every
//! figure has drawn the page writes a status line into
//! `#exosim-report-status`, so that a headless browser can check the page
//! from its DOM alone.

use std::fmt::Write as _;

use base64::Engine as _;
use plotly::Plot;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One part of the page, with its own anchor in the table of contents.
#[derive(Debug, Clone)]
pub struct Section {
    id: String,
    title: String,
    html: String,
    figures: usize,
}

impl Section {
    /// An empty section; `id` must be unique on the page.
    pub fn new(id: &str, title: &str) -> Self {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            html: String::new(),
            figures: 0,
        }
    }

    /// A subheading.
    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.html, "<h3>{}</h3>", esc(text));
    }

    /// A paragraph of plain text.
    pub fn para(&mut self, text: &str) {
        let _ = writeln!(self.html, "<p>{}</p>", esc(text));
    }

    /// A table; cells are plain text.
    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) {
        self.html
            .push_str("<div class=\"table\"><table>\n<thead><tr>");
        for h in headers {
            let _ = write!(self.html, "<th>{}</th>", esc(h));
        }
        self.html.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            self.html.push_str("<tr>");
            for cell in row {
                let _ = write!(self.html, "<td>{}</td>", esc(cell));
            }
            self.html.push_str("</tr>\n");
        }
        self.html.push_str("</tbody></table></div>\n");
    }

    /// A two-column table of named values, without a header.
    pub fn pairs(&mut self, rows: &[(&str, String)]) {
        self.html
            .push_str("<div class=\"table\"><table class=\"pairs\">\n<tbody>\n");
        for (k, v) in rows {
            let _ = writeln!(self.html, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
        }
        self.html.push_str("</tbody></table></div>\n");
    }

    /// An interactive figure drawn by plotly.js from `plot`'s JSON.
    pub fn plot(&mut self, title: &str, caption: &str, plot: &Plot) {
        let id = self.next_figure_id();
        // `<` inside a JSON string becomes \u003c so that no `</script>` can
        // end the data block early.
        let json = plot.to_json().replace('<', "\\u003c");
        let _ = write!(
            self.html,
            "<figure class=\"figure\">\n<div class=\"plot\" id=\"{id}\" data-plot=\"{}\"></div>\n\
             <script type=\"application/json\" id=\"{id}-spec\">{json}</script>\n\
             <figcaption><b>{}</b> {}</figcaption>\n</figure>\n",
            esc(title),
            esc(title),
            esc(caption)
        );
    }

    /// A raster image (PNG bytes) inlined as a data URL.
    pub fn image(&mut self, title: &str, caption: &str, png: &[u8], legend_html: &str) {
        let id = self.next_figure_id();
        let data = base64::engine::general_purpose::STANDARD.encode(png);
        let _ = write!(
            self.html,
            "<figure class=\"figure image\">\n<img id=\"{id}\" data-image=\"{}\" alt=\"{}\" \
             src=\"data:image/png;base64,{data}\">\n{legend_html}\
             <figcaption><b>{}</b> {}</figcaption>\n</figure>\n",
            esc(title),
            esc(title),
            esc(title),
            esc(caption)
        );
    }

    /// Starts a row of figures shown side by side on wide screens.
    pub fn begin_row(&mut self) {
        self.html.push_str("<div class=\"row\">\n");
    }

    /// Ends a row started by [`Section::begin_row`].
    pub fn end_row(&mut self) {
        self.html.push_str("</div>\n");
    }

    /// Long text (e.g. the resolved study) folded away until asked for.
    pub fn details(&mut self, summary: &str, text: &str) {
        let _ = writeln!(
            self.html,
            "<details><summary>{}</summary><pre>{}</pre></details>",
            esc(summary),
            esc(text)
        );
    }

    /// Number of figures (plots and images) in this section.
    pub fn figure_count(&self) -> usize {
        self.figures
    }

    fn next_figure_id(&mut self) -> String {
        self.figures += 1;
        format!("fig-{}-{}", self.id, self.figures)
    }
}

/// The text of plotly.js as the `plotly` crate embeds it (its offline
/// sources also carry MathJax, which the report does not need).
pub fn plotly_js() -> String {
    let sources = Plot::offline_js_sources();
    let open = "<script type=\"text/javascript\">";
    sources
        .split_once(open)
        .and_then(|(_, rest)| rest.split_once("</script>"))
        .map(|(js, _)| js.to_string())
        .unwrap_or_default()
}

/// Records errors before any other script runs.
const HARNESS: &str = r#"(function () {
  var errors = [];
  window.exosimReportErrors = errors;
  window.addEventListener('error', function (e) {
    var where = e.filename ? ' (' + e.filename + ':' + e.lineno + ')' : '';
    var what = e.message || ('failed to load ' + ((e.target && (e.target.src || e.target.href)) || e.type));
    errors.push(what + where);
  }, true);
  window.addEventListener('unhandledrejection', function (e) { errors.push('unhandled rejection: ' + e.reason); });
  var consoleError = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.map.call(arguments, String).join(' '));
    return consoleError.apply(console, arguments);
  };
})();"#;

/// Draws every figure, then writes the status line.
const DRAW: &str = r#"(function () {
  var errors = window.exosimReportErrors;
  var status = document.getElementById('exosim-report-status');
  var plots = Array.prototype.slice.call(document.querySelectorAll('div[data-plot]'));
  var images = Array.prototype.slice.call(document.querySelectorAll('img[data-image]'));
  var jobs = [];
  plots.forEach(function (div) {
    try {
      var spec = JSON.parse(document.getElementById(div.id + '-spec').textContent);
      jobs.push(Promise.resolve(Plotly.newPlot(div, spec)).catch(function (e) { errors.push(div.id + ': ' + e); }));
    } catch (e) { errors.push(div.id + ': ' + e); }
  });
  images.forEach(function (img) {
    jobs.push(img.decode().catch(function (e) { errors.push(img.id + ': ' + e); }));
  });
  function drawn(div) {
    var box = div.getBoundingClientRect();
    if (!div.querySelector('svg.main-svg') || box.width === 0 || box.height === 0) { return false; }
    // A drawn trace: a line or bar path with more than a degenerate point.
    var marks = div.querySelectorAll('.scatterlayer path, .barlayer path');
    for (var i = 0; i < marks.length; i++) {
      var d = marks[i].getAttribute('d');
      if (d && d !== 'M0,0Z' && d.length > 4) { return true; }
    }
    return false;
  }
  Promise.all(jobs).then(function () {
    var missing = [];
    plots.forEach(function (div) { if (!drawn(div)) { missing.push(div.id + ' (' + div.getAttribute('data-plot') + ')'); } });
    images.forEach(function (img) { if (!(img.complete && img.naturalWidth > 0)) { missing.push(img.id); } });
    var fetched = performance.getEntriesByType('resource').map(function (r) { return r.name; })
      .filter(function (n) { return n.indexOf('data:') !== 0 && n.indexOf('blob:') !== 0; });
    var ok = missing.length === 0 && errors.length === 0 && fetched.length === 0;
    status.textContent = JSON.stringify({ status: ok ? 'ok' : 'problems', expected: plots.length + images.length,
      drawn: plots.length + images.length - missing.length, missing: missing, errors: errors, fetched: fetched });
    status.setAttribute('data-status', ok ? 'ok' : 'problems');
  });
})();"#;

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2933; background: #fafbfc; line-height: 1.45; }
header { background: #16324f; color: #fff; padding: 1.2em 2em; }
header h1 { margin: 0 0 .2em 0; font-size: 1.6em; }
header p { margin: 0; opacity: .85; }
nav { padding: .6em 2em; background: #e8eef4; font-size: .95em; position: sticky; top: 0; z-index: 10; }
nav a { margin-right: 1.2em; color: #16324f; text-decoration: none; }
main { padding: 0 2em 2em 2em; max-width: 1500px; }
section { margin-top: 1.5em; }
h2 { border-bottom: 2px solid #16324f; padding-bottom: .2em; }
h3 { margin-bottom: .3em; }
.table { overflow-x: auto; }
table { border-collapse: collapse; margin: .5em 0 1em 0; font-size: .92em; background: #fff; }
th, td { border: 1px solid #d5dde5; padding: .25em .6em; text-align: right; }
th { background: #eef2f6; }
td:first-child, th:first-child { text-align: left; }
table.pairs td, table.pairs th { text-align: left; }
.row { display: flex; flex-wrap: wrap; gap: 1em; }
.row > .figure { flex: 1 1 560px; }
.figure { margin: 1em 0; background: #fff; border: 1px solid #e1e7ed; padding: .5em; }
.plot { width: 100%; height: 430px; }
.image img { max-width: 100%; height: auto; border: 1px solid #d5dde5; }
.legend span { display: inline-block; margin-right: 1em; font-size: .9em; }
.legend i { display: inline-block; width: .8em; height: .8em; margin-right: .3em; border-radius: 50%; vertical-align: middle; }
figcaption { font-size: .9em; color: #52606d; margin-top: .3em; }
pre { background: #fff; border: 1px solid #e1e7ed; padding: .8em; overflow-x: auto; font-size: .85em; }
#exosim-report-status { display: none; }
"#;

/// Puts the sections together as one HTML document.
pub fn render(title: &str, subtitle: &str, sections: &[Section]) -> String {
    let has_plots = sections.iter().any(|s| s.html.contains("data-plot="));
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"exosim {}\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n<script>{HARNESS}</script>\n</head>\n<body>\n\
         <header><h1>{}</h1><p>{}</p></header>\n<nav>",
        exosim::run::VERSION,
        esc(title),
        esc(title),
        esc(subtitle)
    );
    for s in sections {
        let _ = write!(out, "<a href=\"#{}\">{}</a>", esc(&s.id), esc(&s.title));
    }
    out.push_str("</nav>\n<main>\n");
    for s in sections {
        let _ = write!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n",
            esc(&s.id),
            esc(&s.title),
            s.html
        );
    }
    out.push_str("</main>\n<pre id=\"exosim-report-status\" data-status=\"pending\"></pre>\n");
    if has_plots {
        // plotly.js once for the whole page, however many figures it holds.
        let _ = writeln!(out, "<script>{}</script>", plotly_js());
    } else {
        out.push_str("<script>window.Plotly = { newPlot: function () { return Promise.resolve(); } };</script>\n");
    }
    let _ = write!(out, "<script>{DRAW}</script>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plotly_js_is_extracted_whole() {
        let js = plotly_js();
        assert!(js.len() > 1_000_000, "{} bytes", js.len());
        assert!(js.contains("plotly.js v"));
        assert!(!js.contains("</script"));
    }

    #[test]
    fn escaping_covers_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
