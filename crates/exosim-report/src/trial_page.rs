//! The "Virtual trial" section of a campaign page: what was simulated, in
//! words; the power against subjects per arm with its Wilson intervals and
//! the sample-size verdicts; and the subjects themselves — Kaplan–Meier
//! curves by arm for a time to progression, a waterfall of best responses,
//! or each arm's spread of the endpoint. All from the files the merge
//! wrote ([`crate::trial`], `campaign.csv`), never a model.

use crate::campaign::CampaignDir;
use crate::campaign_plot::{MAX_SCATTER_POINTS, bins, observable_scale, sample_rows};
use crate::chart::{self, Axes, Dash, Series, colour};
use crate::format::{self, num};
use crate::page::Section;
use crate::paper::{ColumnFigure, Curve, Figure, LineFigure};
use crate::trial::Trial;

/// Seconds per day: trial times are shown in days.
const DAY: f64 = 86_400.0;

/// RECIST 1.1's partial response (−30 % in diameter) read on a volume.
pub const PARTIAL_RESPONSE: f64 = 0.7 * 0.7 * 0.7 - 1.0;
/// RECIST 1.1's progressive disease (+20 % in diameter) read on a volume.
pub const PROGRESSION: f64 = 1.2 * 1.2 * 1.2 - 1.0;

/// RECIST 1.1's lines of a waterfall: (legend entry, change of volume).
const RECIST_LINES: [(&str, f64); 2] = [
    (
        "partial response: −30 % in diameter (−65.7 % in volume)",
        PARTIAL_RESPONSE,
    ),
    (
        "progressive disease: +20 % in diameter (+72.8 % in volume)",
        PROGRESSION,
    ),
];

/// A test's name in words.
fn test_words(test: &str) -> String {
    match test {
        "welch" => "Welch's t-test".into(),
        "student" => "Student's t-test (pooled variance)".into(),
        "mann_whitney" => "the Mann–Whitney U test".into(),
        "fisher" => "Fisher's exact test of the objective response rates".into(),
        "log_rank" => "the log-rank test".into(),
        other => format!("`{other}`"),
    }
}

/// The endpoint in words.
fn endpoint_words(t: &Trial) -> String {
    let (e, day) = (&t.effect, num(t.time / DAY));
    match t.endpoint.as_str() {
        "change" => {
            format!("the {e} response at day {day} over its start (a tumour's volume ratio)")
        }
        "value" => format!("the {e} response at day {day}"),
        "best_response" => format!(
            "the best response of {e}: its lowest value after day 0 over its start, minus 1"
        ),
        "progression" => format!(
            "the time to progression of {e} (RECIST 1.1's +20 % in diameter, read on a volume as 1.728 times its lowest value so far; censored at day {} without progression)",
            num(t.follow_up / DAY)
        ),
        other => format!("`{other}` of {e}"),
    }
}

/// The dropout in words.
fn dropout_words(dropout: f64) -> String {
    if dropout > 0.0 {
        format!(
            "after losing {} of the subjects to follow-up by the study's end",
            format::pct(dropout)
        )
    } else {
        "without dropout".into()
    }
}

/// What was simulated, as a paragraph and a table of settings.
fn description(c: &CampaignDir, t: &Trial, sec: &mut Section) {
    sec.para(&format!(
        "{} virtual subjects, each run in every arm, were drawn into {} simulated trials at each size; each trial compares {} with the control arm `{}` by {} on {}, two-sided at α = {}, {}.",
        t.population, t.trials, t.arms.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" and "),
        t.control, test_words(&t.test), endpoint_words(t), t.alpha, dropout_words(t.dropout)
    ));
    let sizes: Vec<String> = t.subjects.iter().map(u64::to_string).collect();
    sec.pairs(&[
        ("control arm", t.control.clone()),
        ("arms compared", t.arms.join(", ")),
        ("endpoint", format!("{} ({})", t.endpoint, t.effect)),
        ("test", test_words(&t.test)),
        ("α (two-sided)", t.alpha.to_string()),
        ("dropout by the end", format::pct(t.dropout)),
        (
            "population",
            format!(
                "{} virtual subjects ({} failed)",
                t.population, t.failed_subjects
            ),
        ),
        ("subjects per arm", sizes.join(", ")),
        ("trials per size", t.trials.to_string()),
        (
            "power sought",
            t.sought().map_or("none".into(), |p| p.to_string()),
        ),
        (
            "rows read from",
            format!(
                "summary.json, power.csv, {}",
                c.table_file
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
            ),
        ),
    ]);
}

/// Per arm compared: (subjects, power, low, high) ascending in size.
fn curve(t: &Trial, arm: &str) -> Vec<(f64, f64, f64, f64)> {
    let mut v: Vec<_> = (t.power.iter().filter(|p| p.arm == arm))
        .map(|p| (p.subjects as f64, p.power, p.low, p.high))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

/// The power curves: per arm its Wilson band and its power, and the power
/// sought across.
pub fn power_plot(t: &Trial) -> plotly::Plot {
    let mut series = Vec::new();
    for (i, arm) in t.arms.iter().enumerate() {
        let pts = curve(t, arm);
        let x: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let col = |k: usize| pts.iter().map(|p| [p.1, p.2, p.3][k]).collect::<Vec<_>>();
        let mut low = Series::new(format!("{arm} interval low"), x.clone(), col(1), colour(i));
        (low.legend, low.width, low.group) = (false, 0.0, Some(arm.clone()));
        let mut high = Series::new(format!("{arm} interval"), x.clone(), col(2), colour(i));
        (high.legend, high.band_to_previous, high.group) = (false, true, Some(arm.clone()));
        let mut p = Series::new(arm.clone(), x, col(0), colour(i));
        p.group = Some(arm.clone());
        series.extend([low, high, p]);
    }
    if let Some(target) = sought_line(t) {
        series.push(target);
    }
    let mut axes = Axes::linear("subjects per arm", "power");
    axes.y_range = Some((0.0, 1.02));
    chart::lines(&axes, series, "trial_power")
}

/// The dashed line at the power sought, over the sizes evaluated.
fn sought_line(t: &Trial) -> Option<Series> {
    let target = t.sought()?;
    let sizes = t.power.iter().map(|p| p.subjects as f64);
    let (lo, hi) = sizes.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let mut s = Series::new(
        format!("power sought ({target})"),
        vec![lo, hi],
        vec![target, target],
        "#555555",
    );
    (s.dash, s.width) = (Dash::Dash, 1.5);
    Some(s)
}

/// One row per listed size: each arm's power and interval.
fn power_rows(t: &Trial) -> Vec<Vec<String>> {
    (t.subjects.iter())
        .map(|&n| {
            let mut row = vec![n.to_string()];
            for arm in &t.arms {
                row.push(t.power_at(arm, n).map_or("—".into(), |p| {
                    format!(
                        "{} ({}–{}; {} of {})",
                        num(p.power),
                        num(p.low),
                        num(p.high),
                        p.significant,
                        p.trials
                    )
                }));
            }
            row
        })
        .collect()
}

/// The power: curve, verdicts and table.
fn power_part(t: &Trial, sec: &mut Section) {
    sec.heading("Power against subjects per arm");
    let sizes = if t.sought().is_some() {
        "every size from the smallest evaluated to the largest listed (the sample-size search)"
    } else {
        "the sizes listed"
    };
    let caption = format!(
        "The share of {} simulated trials that were significant, at {sizes}, one line per arm compared with `{}`; the band is the Wilson interval at the campaign's confidence. From power.csv.",
        t.trials, t.control
    );
    sec.plot("Power against subjects per arm", &caption, &power_plot(t));
    if !t.search.is_empty() {
        sec.heading("Sample size");
        for s in &t.search {
            sec.para(&format!("{}: {}.", s.arm, s.verdict));
        }
    }
    let mut headers = vec!["subjects per arm"];
    headers.extend(t.arms.iter().map(String::as_str));
    sec.table(&headers, &power_rows(t));
    sec.para("Each cell: the power (its Wilson interval; significant trials of those simulated).");
    results_part(t, sec);
}

/// What the estimate of a test is, in words.
fn estimate_words(test: &str) -> &'static str {
    match test {
        "welch" | "student" => {
            "the difference of means, treated − control, in the endpoint's file unit"
        }
        "mann_whitney" => "the probability that a treated value exceeds a control one",
        "fisher" => {
            "the difference of objective response rates (complete or partial), treated − control"
        }
        "log_rank" => "Peto's hazard ratio, treated over control",
        _ => "the test's estimate",
    }
}

/// The simulated trials at each listed size, summed up from trials.csv.
fn results_part(t: &Trial, sec: &mut Section) {
    sec.heading("The simulated trials");
    let rows: Vec<Vec<String>> = (t.results.iter())
        .map(|r| {
            let [median, p5, p95] = r.estimate;
            vec![
                r.arm.clone(),
                r.subjects.to_string(),
                format!("{} of {}", r.tested, r.trials),
                num(median),
                format!("{} to {}", num(p5), num(p95)),
                num(r.median_p),
                format!("{} of {}", r.significant, r.trials),
            ]
        })
        .collect();
    let headers = [
        "arm",
        "subjects per arm",
        "trials tested",
        "median estimate",
        "5 % to 95 %",
        "median p",
        "significant",
    ];
    sec.table(&headers, &rows);
    sec.para(&format!(
        "Per arm and listed size, over its simulated trials (trials.csv, every test of every trial): the estimate is {}; a trial is tested when dropout leaves enough subjects in both arms.",
        estimate_words(&t.test)
    ));
}

/// The section, when the campaign ran a trial.
pub fn section(c: &CampaignDir) -> Option<Section> {
    let t = c.trial.as_ref()?;
    let mut sec = Section::new("trial", "Virtual trial");
    description(c, t, &mut sec);
    power_part(t, &mut sec);
    match t.endpoint.as_str() {
        "progression" => km_part(t, &mut sec),
        "best_response" => waterfall_part(c, t, &mut sec),
        _ => spread_part(c, t, &mut sec),
    }
    trajectories_part(t, &mut sec);
    Some(sec)
}

/// Subjects drawn per arm in the trajectories' figures.
const MAX_TRAJECTORIES: usize = 60;

/// Per arm, a fixed sample of its subjects' courses as thin lines and the
/// median over every subject as a thick one (a spaghetti plot).
fn trajectories_part(t: &Trial, sec: &mut Section) {
    sec.heading("Every subject's course");
    let Some(traj) = &t.trajectories else {
        return sec.para(
            "This folder has no trajectories.parquet (written by an exosim from before it was).",
        );
    };
    let days: Vec<f64> = traj.times.iter().map(|s| s / DAY).collect();
    let unit = unit_suffix(&traj.unit);
    sec.begin_row();
    for (i, (arm, subjects)) in traj.arms.iter().enumerate() {
        let drawn = sample_rows(subjects.len(), MAX_TRAJECTORIES);
        let mut lines: Vec<Series> = (drawn.iter())
            .filter(|&&s| subjects[s].iter().all(|v| v.is_finite()))
            .map(|&s| {
                let mut line = Series::new(
                    format!("subject {s}"),
                    days.clone(),
                    subjects[s].clone(),
                    colour(i),
                );
                (line.width, line.opacity, line.legend) = (1.0, 0.35, false);
                line
            })
            .collect();
        let mut m = Series::new("median", days.clone(), medians(subjects), "#000000");
        m.width = 3.0;
        lines.push(m);
        let axes = Axes::linear("time (days)", format!("{}{unit}", t.effect));
        let plot = chart::lines(&axes, lines, &format!("trial_trajectories_{arm}"));
        let caption = format!(
            "The effect {} in `{arm}`: {} of its {} virtual subjects (a fixed sample when there are more), and the median over all of them (black), every subject followed to the end (no dropout). From trajectories.parquet.",
            t.effect,
            drawn.len(),
            subjects.len()
        );
        sec.plot(&format!("Courses in {arm}"), &caption, &plot);
    }
    sec.end_row();
}

/// ` (unit)` for an axis title, nothing for a number without one.
fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    }
}

/// Each time's median over the subjects with a value there.
fn medians(subjects: &[Vec<f64>]) -> Vec<f64> {
    per_time(subjects, median_of)
}

/// Each time's `q` quantile over the subjects with a value there
/// (linear between order statistics, as NumPy's default).
fn quantiles(subjects: &[Vec<f64>], q: f64) -> Vec<f64> {
    per_time(subjects, |at| crate::trial::quantile(at, q))
}

/// `statistic` of each time's sorted values over the subjects with a
/// value there.
fn per_time(subjects: &[Vec<f64>], statistic: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let times = subjects.first().map_or(0, Vec::len);
    (0..times)
        .map(|k| {
            let mut at: Vec<f64> = (subjects.iter().map(|s| s[k]))
                .filter(|v| v.is_finite())
                .collect();
            at.sort_by(f64::total_cmp);
            statistic(&at)
        })
        .collect()
}

/// The median of sorted `v`; NaN when empty.
fn median_of(v: &[f64]) -> f64 {
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => 0.5 * (v[n / 2 - 1] + v[n / 2]),
    }
}

/// Per arm, its Kaplan–Meier curve in days, carried on to the study's end.
fn km_series(t: &Trial) -> Vec<Series> {
    (t.km.iter().enumerate())
        .map(|(i, (arm, steps))| {
            let mut x: Vec<f64> = steps.iter().map(|s| s.time / DAY).collect();
            let mut y: Vec<f64> = steps.iter().map(|s| s.survival).collect();
            if let (Some(&last_t), Some(&last_s)) = (x.last(), y.last())
                && last_t < t.follow_up / DAY
            {
                x.push(t.follow_up / DAY);
                y.push(last_s);
            }
            let mut s = Series::styled(arm.clone(), x, y, i);
            s.steps = true;
            s
        })
        .collect()
}

/// Kaplan–Meier curves by arm and a line per arm of what they hold.
fn km_part(t: &Trial, sec: &mut Section) {
    sec.heading("Kaplan–Meier curves by arm");
    let mut axes = Axes::linear("time (days)", "progression-free share");
    axes.y_range = Some((0.0, 1.02));
    let plot = chart::lines(&axes, km_series(t), "trial_kaplan_meier");
    let caption = format!(
        "The share of each arm's virtual subjects not yet progressed, over every subject of the population (no dropout, no sampling); subjects that do not progress are censored at day {}. From kaplan_meier.csv.",
        num(t.follow_up / DAY)
    );
    sec.plot("Kaplan–Meier curves by arm", &caption, &plot);
    let rows: Vec<Vec<String>> = (t.km.iter())
        .map(|(arm, steps)| {
            let events: f64 = steps.iter().map(|s| s.events).sum();
            let n = steps.first().map_or(0.0, |s| s.at_risk);
            let last = steps.last().map_or(f64::NAN, |s| s.survival);
            let median = steps
                .iter()
                .find(|s| s.survival <= 0.5)
                .map_or("not reached".into(), |s| {
                    format!("day {}", num(s.time / DAY))
                });
            vec![arm.clone(), num(n), num(events), num(last), median]
        })
        .collect();
    sec.table(
        &[
            "arm",
            "subjects",
            "progressed",
            "progression-free at the end",
            "median time to progression",
        ],
        &rows,
    );
}

/// The rows drawn per arm: all, or a fixed sample when the population
/// would make the page heavy (said in the caption).
fn drawn_rows(c: &CampaignDir, arms: usize) -> Vec<usize> {
    sample_rows(c.table.n_rows(), MAX_SCATTER_POINTS / arms.max(1))
}

/// Per arm: its subjects' finite values of column `trial.ARM` among `rows`.
fn arm_values(c: &CampaignDir, arm: &str, rows: &[usize]) -> Vec<f64> {
    let v = c.values(&format!("trial.{arm}"));
    rows.iter()
        .filter_map(|&r| v.get(r).copied())
        .filter(|x| x.is_finite())
        .collect()
}

/// Per arm, its best responses in %, largest first, side by side with a
/// gap of `GAP` between arms: (arm, x, y).
pub fn waterfall_bars(c: &CampaignDir, t: &Trial) -> Vec<(String, Vec<f64>, Vec<f64>)> {
    const GAP: f64 = 3.0;
    let rows = drawn_rows(c, t.all_arms().len());
    let mut start = 0.0;
    let mut out = Vec::new();
    for arm in t.all_arms() {
        let mut y: Vec<f64> = arm_values(c, arm, &rows)
            .iter()
            .map(|v| 100.0 * v)
            .collect();
        y.sort_by(|a, b| b.total_cmp(a));
        let x: Vec<f64> = (0..y.len()).map(|k| start + k as f64).collect();
        start += y.len() as f64 + GAP;
        out.push((arm.to_string(), x, y));
    }
    out
}

/// The waterfall of best responses, coloured by arm, RECIST's thresholds
/// (read on a volume) across.
fn waterfall_part(c: &CampaignDir, t: &Trial, sec: &mut Section) {
    sec.heading("Waterfall of best response");
    let groups = waterfall_bars(c, t);
    let end = groups
        .iter()
        .filter_map(|g| g.1.last())
        .fold(0.0, |a: f64, &b| a.max(b))
        + 1.0;
    let bars = (groups.iter().enumerate())
        .map(|(i, (arm, x, y))| Series::new(arm.clone(), x.clone(), y.clone(), colour(i)))
        .collect();
    let line = |name: &str, v: f64| {
        let mut s = Series::new(name, vec![-1.0, end], vec![100.0 * v, 100.0 * v], "#555555");
        (s.dash, s.width) = (Dash::Dash, 1.5);
        s
    };
    let lines = vec![
        line(
            "partial response: −30 % in diameter (−65.7 % in volume)",
            PARTIAL_RESPONSE,
        ),
        line(
            "progressive disease: +20 % in diameter (+72.8 % in volume)",
            PROGRESSION,
        ),
    ];
    let axes = Axes::linear(
        "virtual subjects, by arm, largest first",
        "best response (%)",
    );
    let plot = chart::columns(&axes, bars, lines, "trial_waterfall");
    let counts: Vec<String> = groups
        .iter()
        .map(|(a, x, _)| format!("{a} {}", x.len()))
        .collect();
    let caption = format!(
        "Each bar is one virtual subject's best response: the lowest {} response after day 0 over its start, minus 1, in %; sorted from the largest within each arm ({}; every subject without dropout{}). RECIST 1.1's lines are read on a volume: −30 % in diameter is −65.7 % in volume (partial response), +20 % in diameter +72.8 % (progressive disease). From {}.",
        t.effect,
        counts.join(", "),
        sample_note(c, t),
        c.table_file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
    );
    sec.plot("Waterfall of best response", &caption, &plot);
}

/// What the per-subject figures leave out when the population is large.
fn sample_note(c: &CampaignDir, t: &Trial) -> String {
    let drawn = drawn_rows(c, t.all_arms().len()).len();
    if drawn < c.table.n_rows() {
        format!(
            "; a fixed sample of {drawn} of the {} subjects",
            c.table.n_rows()
        )
    } else {
        String::new()
    }
}

/// For a `change` or `value` endpoint: each arm's spread over the same bins.
fn spread_part(c: &CampaignDir, t: &Trial, sec: &mut Section) {
    sec.heading("The endpoint by arm");
    let rows: Vec<usize> = (0..c.table.n_rows()).collect();
    let name = format!("trial.{}", t.control);
    let Some(o) = c.observables.iter().find(|o| o.info.name == name) else {
        return sec.para(&format!(
            "{name} is not among the observables summary.json lists."
        ));
    };
    let scale = observable_scale(o);
    let per_arm: Vec<Vec<f64>> = (t.all_arms().iter())
        .map(|a| {
            arm_values(c, a, &rows)
                .iter()
                .map(|&v| scale.apply(v))
                .collect()
        })
        .collect();
    let all: Vec<f64> = per_arm.iter().flatten().copied().collect();
    let Some((edges, _)) = bins(&all) else {
        return sec.para("No subject has a value of the endpoint.");
    };
    sec.begin_row();
    for (i, (arm, v)) in t.all_arms().iter().zip(&per_arm).enumerate() {
        let counts = count_in(&edges, v);
        let axes = Axes::linear(scale.label(&endpoint_axis(t)), "subjects");
        let plot = chart::histogram(
            &axes,
            &edges,
            &chart::heights(&counts),
            colour(i),
            &format!("trial_endpoint_{arm}"),
        );
        let caption = format!(
            "Virtual subjects of `{arm}` per bin of the endpoint ({} with a value; the same bins in every arm, every subject without dropout). From the column trial.{arm}.",
            v.len()
        );
        sec.plot(&format!("Endpoint in {arm}"), &caption, &plot);
    }
    sec.end_row();
}

/// The axis title of a `change` or `value` endpoint.
fn endpoint_axis(t: &Trial) -> String {
    let day = num(t.time / DAY);
    match t.endpoint.as_str() {
        "change" => format!("{} at day {day} over its start", t.effect),
        _ => format!("{} at day {day}", t.effect),
    }
}

/// How many of `v` fall in each bin between `edges` (the last bin closed).
fn count_in(edges: &[f64], v: &[f64]) -> Vec<u64> {
    let k = edges.len().saturating_sub(1);
    let mut counts = vec![0u64; k];
    for &x in v {
        if let Some(i) = edges.windows(2).position(|w| x >= w[0] && x < w[1]) {
            counts[i] += 1;
        } else if k > 0 && x == edges[k] {
            counts[k - 1] += 1;
        }
    }
    counts
}

/// The static figures: the power curves and, for a time to progression,
/// the Kaplan–Meier curves (steps drawn as corners).
pub fn paper_figures(c: &CampaignDir, out: &mut Vec<Figure>) {
    let Some(t) = &c.trial else { return };
    let mut curves: Vec<Curve> = (t.arms.iter().enumerate())
        .map(|(i, arm)| {
            let pts = curve(t, arm).iter().map(|p| (p.0, p.1)).collect();
            Curve::styled(arm.clone(), pts, i)
        })
        .collect();
    if let Some(s) = sought_line(t) {
        let points = s.x.into_iter().zip(s.y).collect();
        curves.push(Curve {
            name: s.name,
            colour: s.colour,
            points,
            dash: Dash::Dash,
        });
    }
    if t.endpoint == "best_response" {
        out.push(waterfall_figure(c, t));
    }
    out.push(Figure::Lines(LineFigure {
        stem: "trial_power".into(),
        title: format!("Power against subjects per arm (vs {})", t.control),
        x_label: "subjects per arm".into(),
        y_label: "power".into(),
        log_x: false,
        log_y: false,
        curves,
    }));
    if let Some(traj) = &t.trajectories {
        let days: Vec<f64> = traj.times.iter().map(|s| s / DAY).collect();
        let mut curves = Vec::new();
        for (i, (arm, subjects)) in traj.arms.iter().enumerate() {
            let median = Curve::styled(
                arm.clone(),
                days.iter().copied().zip(medians(subjects)).collect(),
                i,
            );
            // The spread of the subjects: a dotted line at 10 % and at 90 %.
            for q in [0.1, 0.9] {
                curves.push(Curve {
                    name: format!("{arm} {:.0} %", 100.0 * q),
                    colour: median.colour.clone(),
                    points: days.iter().copied().zip(quantiles(subjects, q)).collect(),
                    dash: Dash::Dot,
                });
            }
            curves.push(median);
        }
        let unit = unit_suffix(&traj.unit);
        out.push(Figure::Lines(LineFigure {
            stem: "trial_median_course".into(),
            title: format!(
                "Course of {} by arm: median, 10 % and 90 % of the subjects",
                t.effect
            ),
            x_label: "time (days)".into(),
            y_label: format!("{}{unit}", t.effect),
            log_x: false,
            log_y: false,
            curves,
        }));
    }
    if t.km.is_empty() {
        return;
    }
    let curves = (km_series(t).into_iter().enumerate())
        .map(|(i, s)| {
            let mut pts = Vec::new();
            for k in 0..s.x.len() {
                if k > 0 {
                    pts.push((s.x[k], s.y[k - 1]));
                }
                pts.push((s.x[k], s.y[k]));
            }
            Curve::styled(s.name, pts, i)
        })
        .collect();
    out.push(Figure::Lines(LineFigure {
        stem: "trial_kaplan_meier".into(),
        title: "Kaplan–Meier curves by arm".into(),
        x_label: "time (days)".into(),
        y_label: "progression-free share".into(),
        log_x: false,
        log_y: false,
        curves,
    }));
}

/// The waterfall as a static figure (see [`waterfall_part`]).
fn waterfall_figure(c: &CampaignDir, t: &Trial) -> Figure {
    let groups = (waterfall_bars(c, t).into_iter().enumerate())
        .map(|(i, (arm, x, y))| (arm, colour(i).to_string(), x.into_iter().zip(y).collect()))
        .collect();
    Figure::Columns(ColumnFigure {
        stem: "trial_waterfall".into(),
        title: "Best response by arm (RECIST lines read on a volume)".into(),
        x_label: "virtual subjects, by arm, largest first".into(),
        y_label: "best response (%)".into(),
        groups,
        lines: RECIST_LINES
            .iter()
            .map(|&(n, v)| (n.to_string(), 100.0 * v))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fall_in_their_bins_and_the_top_edge_in_the_last() {
        let edges = [0.0, 1.0, 2.0, 4.0];
        let counts = count_in(&edges, &[0.0, 0.5, 1.0, 3.9, 4.0, 4.1, -0.1, f64::NAN]);
        assert_eq!(counts, [2, 1, 2], "4.1, -0.1 and NaN are outside");
        assert_eq!(count_in(&[1.0], &[1.0]), Vec::<u64>::new());
    }

    /// NumPy's default quantile (linear between order statistics): of 1 to
    /// 5, the 10 % is 1.4 and the 90 % 4.6; a missing value is skipped.
    #[test]
    fn quantiles_are_linear_between_order_statistics() {
        let subjects: Vec<Vec<f64>> = [5.0, 1.0, f64::NAN, 3.0, 2.0, 4.0]
            .iter()
            .map(|&v| vec![v])
            .collect();
        assert!((quantiles(&subjects, 0.1)[0] - 1.4).abs() < 1e-12);
        assert!((quantiles(&subjects, 0.9)[0] - 4.6).abs() < 1e-12);
        assert_eq!(quantiles(&subjects, 0.5), medians(&subjects));
    }

    #[test]
    fn recist_volume_thresholds_are_the_diameter_rule_cubed() {
        assert!((PARTIAL_RESPONSE - (-0.657)).abs() < 1e-12);
        assert!((PROGRESSION - 0.728).abs() < 1e-12);
    }
}
