//! How a long command shows that it advances: a bar on a terminal,
//! progress lines through `log` otherwise (a cluster job's log).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// How a run shows that it advances: a bar on a terminal; otherwise a
/// line on stderr every [`Progress::STEP`] of the way, with the time left,
/// through the `log` facade (see [`StderrLog`]).
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: Option<Mutex<Lines>>,
}

/// The state of the progress lines.
struct Lines {
    study: String,
    start: Instant,
    /// Fraction at which the next line is due.
    next: f64,
}

impl Progress {
    /// A line per 5 % of the way.
    const STEP: f64 = 0.05;

    pub fn new(study: &str, quiet: bool) -> Self {
        if quiet {
            return Progress {
                bar: None,
                lines: None,
            };
        }
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(1000);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {percent}% ({elapsed})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(study.to_string());
            return Progress {
                bar: Some(bar),
                lines: None,
            };
        }
        StderrLog::install();
        Progress {
            bar: None,
            lines: Some(Mutex::new(Lines {
                study: study.to_string(),
                start: Instant::now(),
                next: Self::STEP,
            })),
        }
    }

    /// The run is `f` (0–1) of the way; may be called from any thread.
    pub fn tell(&self, f: f64) {
        if let Some(bar) = &self.bar {
            let pos = (f.clamp(0.0, 1.0) * 1000.0) as u64;
            if pos > bar.position() {
                bar.set_position(pos);
            }
        }
        let Some(lines) = &self.lines else {
            return;
        };
        let Ok(mut l) = lines.lock() else {
            return;
        };
        if f.is_nan() || f < l.next || f >= 1.0 {
            return;
        }
        let elapsed = l.start.elapsed().as_secs_f64();
        let left = elapsed * (1.0 - f) / f;
        log::info!(
            "{}: {} % after {}, about {} left",
            l.study,
            (100.0 * f).floor(),
            clock(elapsed),
            clock(left)
        );
        l.next = ((f / Self::STEP).floor() + 1.0) * Self::STEP;
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(Ok(l)) = self.lines.as_ref().map(|l| l.lock()) {
            log::info!(
                "{}: done in {}",
                l.study,
                clock(l.start.elapsed().as_secs_f64())
            );
        }
    }
}

/// "1 h 02 min", "3 min 05 s", "12 s".
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// The `log` records of exosim, on stderr, one line each:
/// `exosim: <message>` (warnings and errors name their level).
pub struct StderrLog;

impl StderrLog {
    pub fn install() {
        static LOG: StderrLog = StderrLog;
        if log::set_logger(&LOG).is_ok() {
            log::set_max_level(log::LevelFilter::Info);
        }
    }
}

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        match record.level() {
            log::Level::Info => eprintln!("exosim: {}", record.args()),
            level => eprintln!(
                "exosim: {}: {}",
                level.as_str().to_lowercase(),
                record.args()
            ),
        }
    }

    fn flush(&self) {}
}
