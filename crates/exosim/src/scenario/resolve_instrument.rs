//! Resolution of `[[instruments]]`: the kind's preset filled in, every
//! setting checked and in SI units, the sample's engine output found
//! (docs/instruments.md). Presets and their sources are listed there and
//! in docs/references.md#instrument-assumptions.

use super::check::{Check, Res};
use super::error::{KeyPath, Locator};
use super::instrument_spec::{InstrumentSpec, SampleSpec};
use super::model::Study;
use crate::biopsy::measurement::Assay;
use crate::body::pbpk::Place;
use crate::coupling::exposure::place_volume;
use crate::coupling::instrument_sample::{
    InstrumentModel, Reader, SampleClass, SampleModel, Source,
};
use crate::instrument::bulk::{DigitalAssay, Immunoassay};
use crate::instrument::flow::FlowCytometer;
use crate::instrument::nta::Nta;
use crate::instrument::sigma_of_cv;
use crate::units::{
    Concentration, Count, Dimension, Flow, Length, MICROLITRE, NANOMETRE, Rate, Time, Volume,
};

/// The kinds of instrument, each with its presets (the first is the default).
pub const KINDS: [(&str, &[&str]); 4] = [
    ("nta", &["standard"]),
    ("flow_cytometry", &["conventional", "high_sensitivity"]),
    ("immunoassay", &["elisa"]),
    ("digital", &["single_vesicle"]),
];

/// Most volumes a cytometer draws to estimate the chance of a swarm.
pub const MAX_WINDOWS: u64 = 10_000_000;
/// Most steps per NTA track.
pub const MAX_TRACK_STEPS: u64 = 100_000;

/// The NTA preset `standard`: detection half at 50 nm and sizing up to
/// 1000 nm (the range NTA resolves EVs reliably, a secondary source:
/// docs/references.md#nta-settings); three 60 s videos (a published
/// protocol, ibid.); 30 frames/s, tracks of 20 steps, an imaged volume of
/// 0.08 nL, a counting range of 20–100 particles per frame and 10 nm bins
/// are **assumptions** (not found).
pub fn nta_standard() -> Nta {
    Nta {
        min_diameter: 50.0 * NANOMETRE,
        max_diameter: 1000.0 * NANOMETRE,
        track_steps: 20,
        frame_rate: 30.0,
        video_length: 60.0,
        videos: 3,
        view_volume: 0.08e-12,
        min_per_frame: 20.0,
        max_per_frame: 100.0,
        dilution: 1.0,
        bin_width: 10.0 * NANOMETRE,
    }
}

/// The flow cytometry presets. `high_sensitivity`: single EVs detected
/// from 80 nm (a CytoFLEX's scatter limit, docs/references.md#flow-limits).
/// `conventional`: from 300 nm, **assumed**, in line with van der Pol et
/// al. 2012 (vesicles below 220 nm are seen only as swarms). Both: an
/// illuminated volume of 10 pL, 10 µL/min, 60 s, 20 000 volumes drawn, a
/// swarm flag above 5 % of events: **assumptions**.
pub fn flow_preset(name: &str) -> FlowCytometer {
    FlowCytometer {
        threshold_diameter: if name == "high_sensitivity" {
            80.0
        } else {
            300.0
        } * NANOMETRE,
        measurement_volume: 1e-14,
        flow_rate: 10.0 * MICROLITRE / 60.0,
        duration: 60.0,
        dilution: 1.0,
        windows: 20_000,
        swarm_flag_share: 0.05,
    }
}

/// The immunoassay preset `elisa`: CV and LOD of the biopsy's ELISA
/// ([`Assay::elisa`], assumed there); one vesicle equivalent is a 100 nm
/// vesicle (**assumed**).
pub fn elisa() -> Immunoassay {
    let a = Assay::elisa();
    Immunoassay {
        reference_diameter: 100.0 * NANOMETRE,
        cv: a.cv,
        lod: a.lod,
    }
}

/// The digital preset `single_vesicle`: 10 µL of plasma, as the digital
/// plasmonic droplet assay reads (docs/references.md#jung-plasdroplex);
/// 10⁶ partitions and a capture efficiency of 1 are **assumptions**.
pub fn single_vesicle() -> DigitalAssay {
    DigitalAssay {
        sample_volume: Assay::digital_plasmonic()
            .input_volume
            .unwrap_or(10.0 * MICROLITRE),
        partitions: 1e6,
        capture_efficiency: 1.0,
        dilution: 1.0,
    }
}

/// Resolves every `[[instruments]]` entry against the study (arms, tissue,
/// classes, output times); returns the models and the entries with every
/// default written out.
pub fn resolve_instruments(
    specs: &[InstrumentSpec],
    loc: &Locator,
    study: &Study,
) -> Res<(Vec<InstrumentModel>, Vec<InstrumentSpec>)> {
    let c = Check::new(loc);
    let root = KeyPath::root().key("instruments");
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    c.unique(&root, &names, "instrument")?;
    let mut models = Vec::new();
    let mut filled = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let p = root.index(i);
        let (reader, f) = reader(&c, &p, spec)?;
        let (sample, s) = sample(&c, &p.key("sample"), &spec.sample, study)?;
        models.push(InstrumentModel {
            name: spec.name.clone(),
            reader,
            sample,
        });
        filled.push(InstrumentSpec { sample: s, ..f });
    }
    Ok((models, filled))
}

/// The instrument's model: its kind, preset and the values changed.
fn reader(c: &Check, p: &KeyPath, spec: &InstrumentSpec) -> Res<(Reader, InstrumentSpec)> {
    let kinds: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
    c.choice(&p.key("kind"), &spec.kind, &kinds)?;
    let presets = KINDS
        .iter()
        .find(|k| k.0 == spec.kind)
        .map_or(&[][..], |k| k.1);
    let preset = spec.preset.as_deref().unwrap_or(presets[0]);
    c.choice(&p.key("preset"), preset, presets)?;
    only_own_keys(c, p, spec)?;
    let mut f = spec.clone();
    f.preset = Some(preset.to_string());
    let dilution = spec.dilution.unwrap_or(1.0);
    if !(dilution.is_finite() && dilution >= 1.0) {
        return c.err(
            &p.key("dilution"),
            format!("dilution {dilution} is below 1"),
            Some("the sample is diluted 1 (undiluted) to any number of times".into()),
        );
    }
    f.dilution = Some(dilution);
    let reader = match spec.kind.as_str() {
        "nta" => Reader::Nta(nta(c, p, spec, dilution, &mut f)?),
        "flow_cytometry" => Reader::Flow(flow(c, p, spec, preset, dilution, &mut f)?),
        "immunoassay" => Reader::Immunoassay(immunoassay(c, p, spec, &mut f)?),
        _ => Reader::Digital(digital(c, p, spec, dilution, &mut f)?),
    };
    Ok((reader, f))
}

/// Settings of each kind, for the error on another kind's key.
const OWN_KEYS: [(&str, &[&str]); 4] = [
    (
        "nta",
        &[
            "min_diameter",
            "max_diameter",
            "track_steps",
            "frame_rate",
            "video_length",
            "videos",
            "view_volume",
            "min_per_frame",
            "max_per_frame",
            "bin_width",
        ],
    ),
    (
        "flow_cytometry",
        &[
            "threshold_diameter",
            "measurement_volume",
            "flow_rate",
            "acquisition_time",
            "windows",
            "swarm_flag_share",
        ],
    ),
    ("immunoassay", &["reference_diameter", "cv", "lod"]),
    (
        "digital",
        &["sample_volume", "partitions", "capture_efficiency"],
    ),
];

/// Refuses a setting of another kind (e.g. `threshold_diameter` on an NTA).
fn only_own_keys(c: &Check, p: &KeyPath, spec: &InstrumentSpec) -> Res<()> {
    let value = toml::Value::try_from(spec).unwrap_or(toml::Value::Boolean(false));
    let own = OWN_KEYS
        .iter()
        .find(|k| k.0 == spec.kind)
        .map_or(&[][..], |k| k.1);
    for (kind, keys) in OWN_KEYS.iter().filter(|k| k.0 != spec.kind) {
        for key in keys.iter() {
            if value.get(key).is_some() {
                return c.err(
                    &p.key(key),
                    format!("`{key}` is a setting of `{kind}`, not of `{}`", spec.kind),
                    Some(format!(
                        "settings of `{}`: {}, dilution",
                        spec.kind,
                        own.join(", ")
                    )),
                );
            }
        }
    }
    Ok(())
}

/// A length setting: the user's or the preset's, greater than zero.
fn length(c: &Check, p: &KeyPath, v: Option<Length>, preset: f64) -> Res<f64> {
    c.positive_quantity(p, v.map_or(preset, Length::si), Dimension::Length)
}

fn nta(
    c: &Check,
    p: &KeyPath,
    s: &InstrumentSpec,
    dilution: f64,
    f: &mut InstrumentSpec,
) -> Res<Nta> {
    let d = nta_standard();
    let min_diameter = length(c, &p.key("min_diameter"), s.min_diameter, d.min_diameter)?;
    let max_diameter = length(c, &p.key("max_diameter"), s.max_diameter, d.max_diameter)?;
    if min_diameter >= max_diameter {
        let key = if s.max_diameter.is_some() {
            "max_diameter"
        } else {
            "min_diameter"
        };
        return c.err(
            &p.key(key),
            format!(
                "the size limits are reversed: min_diameter {:.0} nm is not below max_diameter {:.0} nm",
                min_diameter / NANOMETRE,
                max_diameter / NANOMETRE
            ),
            Some("the lower size limit must be smaller than the upper one".into()),
        );
    }
    let steps = c.count_in(
        &p.key("track_steps"),
        s.track_steps.unwrap_or(u64::from(d.track_steps)),
        1,
        MAX_TRACK_STEPS,
        "steps",
    )?;
    let frame_rate = c.positive_quantity(
        &p.key("frame_rate"),
        s.frame_rate.map_or(d.frame_rate, Rate::si),
        Dimension::Rate,
    )?;
    let video_length = c.positive_quantity(
        &p.key("video_length"),
        s.video_length.map_or(d.video_length, Time::si),
        Dimension::Time,
    )?;
    let videos = c.count_in(
        &p.key("videos"),
        s.videos.unwrap_or(u64::from(d.videos)),
        1,
        1000,
        "videos",
    )?;
    let view_volume = c.positive_quantity(
        &p.key("view_volume"),
        s.view_volume.map_or(d.view_volume, Volume::si),
        Dimension::Volume,
    )?;
    let min_per_frame = c.non_negative(
        &p.key("min_per_frame"),
        s.min_per_frame.unwrap_or(d.min_per_frame),
    )?;
    let max_per_frame = c.positive(
        &p.key("max_per_frame"),
        s.max_per_frame.unwrap_or(d.max_per_frame),
    )?;
    if min_per_frame >= max_per_frame {
        return c.err(
            &p.key(if s.max_per_frame.is_some() {
                "max_per_frame"
            } else {
                "min_per_frame"
            }),
            format!("the counting range is reversed: {min_per_frame} is not below {max_per_frame}"),
            Some("min_per_frame must be smaller than max_per_frame".into()),
        );
    }
    let bin_width = length(c, &p.key("bin_width"), s.bin_width, d.bin_width)?;
    if bin_width > max_diameter / 5.0 || bin_width < max_diameter * 1e-4 {
        return c.err(
            &p.key("bin_width"),
            format!("{:.3} nm bins", bin_width / NANOMETRE),
            Some("use 5 to 10 000 bins up to max_diameter".into()),
        );
    }
    f.min_diameter = Some(Length::from_si(min_diameter));
    f.max_diameter = Some(Length::from_si(max_diameter));
    f.track_steps = Some(steps);
    f.frame_rate = Some(Rate::from_si(frame_rate));
    f.video_length = Some(Time::from_si(video_length));
    f.videos = Some(videos);
    f.view_volume = Some(Volume::from_si(view_volume));
    f.min_per_frame = Some(min_per_frame);
    f.max_per_frame = Some(max_per_frame);
    f.bin_width = Some(Length::from_si(bin_width));
    Ok(Nta {
        min_diameter,
        max_diameter,
        track_steps: steps as u32,
        frame_rate,
        video_length,
        videos: videos as u32,
        view_volume,
        min_per_frame,
        max_per_frame,
        dilution,
        bin_width,
    })
}

fn flow(
    c: &Check,
    p: &KeyPath,
    s: &InstrumentSpec,
    preset: &str,
    dilution: f64,
    f: &mut InstrumentSpec,
) -> Res<FlowCytometer> {
    let d = flow_preset(preset);
    let threshold = length(
        c,
        &p.key("threshold_diameter"),
        s.threshold_diameter,
        d.threshold_diameter,
    )?;
    let volume = c.positive_quantity(
        &p.key("measurement_volume"),
        s.measurement_volume
            .map_or(d.measurement_volume, Volume::si),
        Dimension::Volume,
    )?;
    let flow_rate = c.positive_quantity(
        &p.key("flow_rate"),
        s.flow_rate.map_or(d.flow_rate, Flow::si),
        Dimension::Flow,
    )?;
    let duration = c.positive_quantity(
        &p.key("acquisition_time"),
        s.acquisition_time.map_or(d.duration, Time::si),
        Dimension::Time,
    )?;
    let windows = c.count_in(
        &p.key("windows"),
        s.windows.unwrap_or(u64::from(d.windows)),
        100,
        MAX_WINDOWS,
        "volumes",
    )?;
    let share = c.fraction(
        &p.key("swarm_flag_share"),
        s.swarm_flag_share.unwrap_or(d.swarm_flag_share),
    )?;
    f.threshold_diameter = Some(Length::from_si(threshold));
    f.measurement_volume = Some(Volume::from_si(volume));
    f.flow_rate = Some(Flow::from_si(flow_rate));
    f.acquisition_time = Some(Time::from_si(duration));
    f.windows = Some(windows);
    f.swarm_flag_share = Some(share);
    Ok(FlowCytometer {
        threshold_diameter: threshold,
        measurement_volume: volume,
        flow_rate,
        duration,
        dilution,
        windows: windows as u32,
        swarm_flag_share: share,
    })
}

fn immunoassay(
    c: &Check,
    p: &KeyPath,
    s: &InstrumentSpec,
    f: &mut InstrumentSpec,
) -> Res<Immunoassay> {
    let d = elisa();
    let reference = length(
        c,
        &p.key("reference_diameter"),
        s.reference_diameter,
        d.reference_diameter,
    )?;
    let cv = match s.cv {
        Some(_) => c.cv(&p.key("cv"), s.cv)?,
        None => d.cv,
    };
    let lod = c.non_negative_quantity(
        &p.key("lod"),
        s.lod.map_or(d.lod, Concentration::si),
        Dimension::Concentration,
    )?;
    f.reference_diameter = Some(Length::from_si(reference));
    f.cv = Some(cv);
    f.lod = Some(Concentration::from_si(lod));
    Ok(Immunoassay {
        reference_diameter: reference,
        cv,
        lod,
    })
}

fn digital(
    c: &Check,
    p: &KeyPath,
    s: &InstrumentSpec,
    dilution: f64,
    f: &mut InstrumentSpec,
) -> Res<DigitalAssay> {
    let d = single_vesicle();
    let volume = c.positive_quantity(
        &p.key("sample_volume"),
        s.sample_volume.map_or(d.sample_volume, Volume::si),
        Dimension::Volume,
    )?;
    let partitions = s.partitions.map_or(d.partitions, Count::si);
    if !(1.0..=1e12).contains(&partitions) {
        return c.err(
            &p.key("partitions"),
            format!("{partitions} partitions"),
            Some("a whole number from 1 to 1e12".into()),
        );
    }
    let capture = c.fraction(
        &p.key("capture_efficiency"),
        s.capture_efficiency.unwrap_or(d.capture_efficiency),
    )?;
    if capture == 0.0 {
        return c.err(
            &p.key("capture_efficiency"),
            "a capture efficiency of 0 reads nothing",
            Some("a share above 0, up to 1".into()),
        );
    }
    f.sample_volume = Some(Volume::from_si(volume));
    f.partitions = Some(Count::from_si(partitions.floor()));
    f.capture_efficiency = Some(capture);
    Ok(DigitalAssay {
        sample_volume: volume,
        partitions: partitions.floor(),
        capture_efficiency: capture,
        dilution,
    })
}

/// The keys each kind of sample takes besides `from`.
const SAMPLE_KEYS: [(&str, &[&str]); 3] = [
    ("body", &["arm", "place", "time", "classes", "lipoproteins"]),
    (
        "tissue",
        &[
            "arm",
            "variant",
            "replicate",
            "time",
            "classes",
            "lipoproteins",
        ],
    ),
    (
        "biopsy",
        &[
            "diameter",
            "test",
            "isolated",
            "marker_diameter",
            "marker_diameter_cv",
            "plasma_vesicles",
            "lipoproteins",
        ],
    ),
];

/// Refuses a key of another kind of sample (`variant` in a body sample).
fn only_sample_keys(c: &Check, p: &KeyPath, s: &SampleSpec) -> Res<()> {
    let value = toml::Value::try_from(s).unwrap_or(toml::Value::Boolean(false));
    let own = SAMPLE_KEYS
        .iter()
        .find(|k| k.0 == s.from)
        .map_or(&[][..], |k| k.1);
    let set = |key: &str| match value.get(key) {
        Some(toml::Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
        None => false,
    };
    for (from, keys) in SAMPLE_KEYS.iter().filter(|k| k.0 != s.from) {
        for key in keys.iter().filter(|k| !own.contains(k)) {
            if set(key) {
                return c.err(
                    &p.key(key),
                    format!("`{key}` names a {from} sample, not a {} sample", s.from),
                    Some(format!("a {} sample has {}", s.from, own.join(", "))),
                );
            }
        }
    }
    Ok(())
}

/// The sample: which engine's output, where, when, which classes.
fn sample(c: &Check, p: &KeyPath, s: &SampleSpec, study: &Study) -> Res<(SampleModel, SampleSpec)> {
    c.choice(&p.key("from"), &s.from, &["body", "tissue", "biopsy"])?;
    only_sample_keys(c, p, s)?;
    let mut f = s.clone();
    if s.from == "biopsy" {
        let (draw, time) = super::resolve_draw::draw(c, p, s, study, &mut f)?;
        return Ok((
            SampleModel {
                source: Source::Biopsy(draw),
                time,
                classes: Vec::new(),
                lipoproteins: false,
            },
            f,
        ));
    }
    let Some(time) = s.time.map(|t| t.si()) else {
        return c.err(
            &p.key("time"),
            format!("a {} sample needs `time`", s.from),
            Some("one of the engine's output times, e.g. `time = \"2 min\"`".into()),
        );
    };
    let (source, classes, times) = if s.from == "body" {
        let (source, classes) = body_sample(c, p, s, study, &mut f)?;
        (source, classes, study.output_times.clone())
    } else {
        tissue_sample(c, p, s, study, &mut f)?
    };
    if !times
        .iter()
        .any(|&t| (t - time).abs() <= 1e-9 * t.abs().max(1.0))
    {
        let nearest = times
            .iter()
            .copied()
            .min_by(|a, b| (a - time).abs().total_cmp(&(b - time).abs()))
            .unwrap_or(0.0);
        return c.err(
            &p.key("time"),
            format!(
                "{} is not an output time of the {}",
                crate::units::format_human(time, Dimension::Time),
                s.from
            ),
            Some(format!(
                "the nearest is {}; add the time to `study.output_times`",
                crate::units::format_human(nearest, Dimension::Time)
            )),
        );
    }
    let blood = matches!(
        source,
        Source::Body {
            place: Place::Blood,
            ..
        }
    );
    let lipoproteins = s.lipoproteins.unwrap_or(blood);
    f.lipoproteins = Some(lipoproteins);
    Ok((
        SampleModel {
            source,
            time,
            classes,
            lipoproteins,
        },
        f,
    ))
}

/// A place of a body arm, and the classes in it.
fn body_sample(
    c: &Check,
    p: &KeyPath,
    s: &SampleSpec,
    study: &Study,
    f: &mut SampleSpec,
) -> Res<(Source, Vec<SampleClass>)> {
    if study.arms.is_empty() {
        return c.err(
            &p.key("from"),
            "the study has no body arm to sample",
            Some("add `[[vesicles]]` with `[[doses]]`, or sample `from = \"tissue\"`".into()),
        );
    }
    let arms: Vec<String> = study.arms.iter().map(|a| a.name.clone()).collect();
    let arm_name = s.arm.clone().unwrap_or_else(|| arms[0].clone());
    let arm = c.name_in(&p.key("arm"), &arm_name, &arms, "arm")?;
    let place_name = s.place.clone().unwrap_or_else(|| "blood".into());
    let place = super::resolve_effect::place_with_volume(c, p, &place_name)?;
    // Blood is read as plasma, where vesicles and lipoproteins are.
    let volume = match place {
        Place::Blood => study.arms[arm].body.plasma_volume(),
        _ => place_volume(&study.arms[arm], place),
    };
    if !(volume.is_finite() && volume > 0.0) {
        return c.err(
            &p.key("place"),
            format!("arm `{arm_name}` has no {place_name}"),
            Some("give the arm's body that organ (a tumour: `[body.tumour]`)".into()),
        );
    }
    let names: Vec<String> = study.vesicles.iter().map(|v| v.name.clone()).collect();
    let chosen = chosen_classes(c, p, &s.classes, &names)?;
    let classes = chosen
        .into_iter()
        .map(|i| {
            let v = &study.vesicles[i];
            SampleClass {
                index: i,
                name: v.name.clone(),
                median: v.diameter,
                sigma: sigma_of_cv(v.diameter_cv),
            }
        })
        .collect();
    f.arm = Some(arm_name);
    f.place = Some(place_name);
    Ok((Source::Body { arm, place, volume }, classes))
}

/// The tissue's free vesicles of one variant and replicate.
fn tissue_sample(
    c: &Check,
    p: &KeyPath,
    s: &SampleSpec,
    study: &Study,
    f: &mut SampleSpec,
) -> Res<(Source, Vec<SampleClass>, Vec<f64>)> {
    let (Some(model), Some(spec)) = (&study.tissue, &study.resolved.tissue) else {
        return c.err(
            &p.key("from"),
            "the study has no `[tissue]` to sample",
            Some("add a `[tissue]` section, or sample `from = \"body\"`".into()),
        );
    };
    if model.domain.dim != 3 {
        return c.err(
            &p.key("from"),
            "a 2-D tissue has no volume to sample",
            Some("sample a 3-D tissue (`tissue.domain` with three lengths)".into()),
        );
    }
    let volume: f64 = (0..3).map(|a| model.domain.length(a)).product();
    let variants: Vec<String> = model.variants.iter().map(|v| v.name.clone()).collect();
    let variant = s.variant.clone().unwrap_or_else(|| variants[0].clone());
    c.name_in(&p.key("variant"), &variant, &variants, "variant")?;
    let replicate = c.count_in(
        &p.key("replicate"),
        s.replicate.unwrap_or(1),
        1,
        model.replicates as u64,
        "replicate",
    )?;
    let arm = sampled_arm(c, p, s, study)?;
    let names: Vec<String> = model.vesicles.iter().map(|v| v.name.clone()).collect();
    let chosen = chosen_classes(c, p, &s.classes, &names)?;
    let classes = chosen
        .into_iter()
        .map(|i| {
            let cv = spec
                .vesicles
                .get(i)
                .and_then(|v| v.diameter_cv)
                .unwrap_or(0.0);
            SampleClass {
                index: i,
                name: names[i].clone(),
                median: model.vesicles[i].diameter,
                sigma: sigma_of_cv(cv),
            }
        })
        .collect();
    f.variant = Some(variant.clone());
    f.replicate = Some(replicate);
    f.arm = arm.clone();
    Ok((
        Source::Tissue {
            arm,
            variant,
            replicate: (replicate - 1) as usize,
            volume,
        },
        classes,
        model.output_times.clone(),
    ))
}

/// The coupled arm whose copy of the tissue is sampled, when several arms
/// hold it (`arm`, needed then); `None` otherwise.
fn sampled_arm(c: &Check, p: &KeyPath, s: &SampleSpec, study: &Study) -> Res<Option<String>> {
    let coupling = study.tissue.as_ref().and_then(|t| t.coupling.as_ref());
    let Some(coupling) = coupling.filter(|c| c.per_arm()) else {
        if s.arm.is_some() {
            return c.err(
                &p.key("arm"),
                "`arm` chooses among several arms holding copies of the tissue; this one has one copy",
                Some("remove `arm`".into()),
            );
        }
        return Ok(None);
    };
    let names: Vec<String> = coupling
        .arms
        .iter()
        .map(|a| study.arms[a.arm].name.clone())
        .collect();
    match &s.arm {
        Some(a) => {
            c.name_in(&p.key("arm"), a, &names, "arm holding the tissue")?;
            Ok(Some(a.clone()))
        }
        None => c.err(
            p,
            "several arms hold copies of the tissue: which one is sampled?",
            Some(format!("add `arm = \"…\"`, one of: {}", names.join(", "))),
        ),
    }
}

/// The classes named, or all of them.
fn chosen_classes(c: &Check, p: &KeyPath, given: &[String], names: &[String]) -> Res<Vec<usize>> {
    if given.is_empty() {
        if names.is_empty() {
            return c.err(
                &p.key("classes"),
                "the sampled engine has no vesicle class",
                None,
            );
        }
        return Ok((0..names.len()).collect());
    }
    given
        .iter()
        .enumerate()
        .map(|(i, n)| c.name_in(&p.key("classes").index(i), n, names, "vesicle class"))
        .collect()
}
