//! From the raw spec to the validated [`Study`]: presets merged, defaults
//! filled, every range and cross-field rule checked, units made internal.

use std::collections::{BTreeMap, BTreeSet};

use super::check::{Check, Res};
use super::error::{KeyPath, Locator, StudyError, did_you_mean};
use super::model::Study;
use super::spec::*;
use super::species::{self, SPECIES};
use crate::body::model::*;
use crate::drug::Drug;
use crate::units::{self, Dimension, Flow, Length, Rate, Time};

/// Smallest absolute tolerance, as a fraction of a class's total: below it
/// the tolerance is under the rounding of the amounts the solver adds up,
/// and no step can meet it.
pub const MIN_ATOL_FRACTION: f64 = 1e-20;
/// At most this many output rows, so that a tiny interval cannot exhaust memory.
pub const MAX_OUTPUT_TIMES: usize = 1_000_000;
pub use super::check::MAX_DOSE_COUNT;
/// At most this many arm × class combinations (each is a system of ODEs).
pub const MAX_ARM_CLASSES: usize = 1000;
/// At most this many numbers in the output table (400 MB of f64).
pub const MAX_OUTPUT_CELLS: usize = 50_000_000;
/// Longest simulated span: a century, s.
pub const MAX_DURATION: f64 = 100.0 * 365.25 * units::DAY;
/// Tolerated mismatch between the sum of organ flows and cardiac output.
pub const FLOW_TOLERANCE: f64 = 0.01;

const DEFAULT_SEED: u64 = 1;
const DEFAULT_RTOL: f64 = 1e-8;
const DEFAULT_ATOL_FRACTION: f64 = 1e-12;
const DEFAULT_DIAMETER_NM: f64 = 100.0;

/// Validates `spec` (parsed from `locator`'s text) into a runnable study.
pub fn resolve(spec: &StudySpec, loc: &Locator) -> Result<Study, StudyError> {
    let r = Resolver {
        c: Check::new(loc),
        loc,
    };
    r.study(spec)
}

/// The resolver of the body sections (`[study]`, `[solver]`, `[body]`,
/// `[[vesicles]]`, `[[doses]]`, `[[sources]]`, `[[arms]]`); it hands the
/// other sections to their own resolvers.
struct Resolver<'a, 't> {
    c: Check<'a, 't>,
    loc: &'a Locator<'t>,
}

impl Resolver<'_, '_> {
    fn study(&self, spec: &StudySpec) -> Res<Study> {
        let root = KeyPath::root();
        let h = &spec.study;
        let (duration, output_interval, output_times, report_times) = self.output_grid(h)?;
        let solver = self.solver(&spec.solver)?;

        // The study-wide body: preset, then the user's values.
        let body_spec = self.body_spec(&root.key("body"), &BodySpec::default(), &spec.body)?;
        let vesicles = self.vesicles(spec, &body_spec)?;

        // The body engine runs when the study gives it something to move; a
        // biopsy-only study has no arms.
        let has_body = !(spec.vesicles.is_empty()
            && spec.doses.is_empty()
            && spec.sources.is_empty()
            && spec.arms.is_empty());
        self.something_to_simulate(spec, has_body)?;
        let (tissue, tissue_spec) = match &spec.tissue {
            Some(t) => {
                let (model, filled) = super::resolve_tissue::resolve_tissue(
                    t,
                    self.loc,
                    &root.key("tissue"),
                    duration,
                    &output_times,
                )?;
                (Some(model), Some(filled))
            }
            None => (None, None),
        };
        let (signature, signature_spec) = match &spec.signature {
            Some(s) => {
                let (study, filled) =
                    super::signature_spec::resolve_signature(s, self.loc, &root.key("signature"))?;
                (Some(study), Some(filled))
            }
            None => (None, None),
        };
        // Doses per kg need the weight of a body the study describes.
        let weight = (has_body || spec.body.species.is_some() || spec.body.weight.is_some())
            .then(|| body_spec.weight.map(|w| w.si()))
            .flatten();
        let drugs = self.drugs(spec, has_body, duration, weight)?;
        let study_drugs: Vec<Drug> = drugs.iter().map(|(d, _)| d.clone()).collect();
        let (arms, resolved_arms) =
            self.arms(spec, has_body, &body_spec, &vesicles, &drugs, duration)?;
        self.check_size(&arms, output_times.len())?;
        let (effects, effect_specs) =
            super::resolve_effect::resolve_effects(&spec.effects, self.loc, &vesicles, &arms)?;
        let (production, production_spec) = match &spec.production {
            Some(x) => {
                let (model, filled) = super::resolve_production::resolve_production(
                    x,
                    self.loc,
                    &root.key("production"),
                    &arms,
                )?;
                (Some(model), Some(filled))
            }
            None => (None, None),
        };
        // The tissue's coupling names body classes and arms: resolved last.
        let (mut tissue, mut tissue_spec) = (tissue, tissue_spec);
        self.drugs_in_tissue(spec, &drugs, tissue.as_mut())?;
        self.coupling(
            spec,
            &vesicles,
            &arms,
            tissue.as_mut(),
            tissue_spec.as_mut(),
        )?;
        self.arm_drugs_in_tissue(spec, &arms, tissue.as_mut())?;
        let resolved = StudySpec {
            study: StudyHeader {
                seed: Some(h.seed.unwrap_or(DEFAULT_SEED)),
                output_interval: Some(Time::from_si(output_interval)),
                ..h.clone()
            },
            solver: SolverSpec {
                rtol: Some(solver.rtol),
                atol_fraction: Some(solver.atol_fraction),
            },
            body: body_spec,
            vesicles: vesicles.iter().map(vesicle_spec).collect(),
            doses: spec.doses.iter().map(filled_dose).collect(),
            sources: spec
                .sources
                .iter()
                .map(|x| filled_source(x, duration))
                .collect(),
            drugs: drugs.into_iter().map(|(_, filled)| filled).collect(),
            arms: if spec.arms.is_empty() {
                Vec::new()
            } else {
                resolved_arms
            },
            biopsy: None,
            signature: signature_spec,
            tissue: tissue_spec,
            effects: effect_specs,
            production: production_spec,
            instruments: Vec::new(),
        };
        let mut study = Study {
            name: h.name.clone(),
            description: h.description.clone(),
            seed: h.seed.unwrap_or(DEFAULT_SEED),
            duration,
            output_times,
            report_times,
            solver,
            vesicles,
            arms,
            biopsy: None,
            condition_test: None,
            signature,
            tissue,
            effects,
            production,
            instruments: Vec::new(),
            resolved,
            notices: Vec::new(),
        };
        self.read_outs(spec, &mut study, &study_drugs)?;
        study.notices = self.loc.take_notices();
        Ok(study)
    }

    /// `[tissue.coupling]`: it names body classes and arms, so it is
    /// resolved once they are.
    fn coupling(
        &self,
        spec: &StudySpec,
        vesicles: &[VesicleClass],
        arms: &[Arm],
        tissue: Option<&mut crate::tissue::model::TissueModel>,
        filled: Option<&mut super::tissue_spec::TissueSpec>,
    ) -> Res<()> {
        let (Some(model), Some(filled), Some(c)) = (
            tissue,
            filled,
            spec.tissue.as_ref().and_then(|t| t.coupling.as_ref()),
        ) else {
            return Ok(());
        };
        let names: Vec<String> = vesicles.iter().map(|v| v.name.clone()).collect();
        let (coupling, c) = super::resolve_coupling::resolve_coupling(
            c,
            self.loc,
            &KeyPath::root().key("tissue").key("coupling"),
            model,
            &names,
            arms,
        )?;
        model.coupling = Some(coupling);
        filled.coupling = Some(c);
        Ok(())
    }

    /// What reads the other engines, resolved against them: the biopsy
    /// (its blood kinetics from the body, its tumour from the tissue, or
    /// its conditions from body arms), drugs on its marker, instruments.
    fn read_outs(&self, spec: &StudySpec, study: &mut Study, study_drugs: &[Drug]) -> Res<()> {
        if let Some(b) = &spec.biopsy {
            let path = KeyPath::root().key("biopsy");
            let filled = if b.conditions.is_empty() {
                let (biopsy, filled) =
                    super::resolve_biopsy::resolve_biopsy(b, self.loc, &path, study)?;
                study.biopsy = Some(biopsy);
                filled
            } else {
                let (test, filled) =
                    super::resolve_conditions::resolve_conditions(b, self.loc, &path, study)?;
                study.condition_test = Some(test);
                filled
            };
            study.resolved.biopsy = Some(filled);
        }
        super::resolve_marker_drug::drugs_on_marker(
            &self.c,
            spec,
            study_drugs,
            study.biopsy.as_mut(),
        )?;
        let (instruments, filled) =
            super::resolve_instrument::resolve_instruments(&spec.instruments, self.loc, study)?;
        study.instruments = instruments;
        study.resolved.instruments = filled;
        Ok(())
    }

    /// A study must give at least one engine something to do.
    fn something_to_simulate(&self, spec: &StudySpec, has_body: bool) -> Res<()> {
        if has_body
            || spec.biopsy.is_some()
            || spec.signature.is_some()
            || spec.tissue.is_some()
            || spec.production.is_some()
        {
            return Ok(());
        }
        self.c.err(
            &KeyPath::root(),
            "the study simulates nothing",
            Some("add `[[vesicles]]` with `[[doses]]` or `[[sources]]` for the body, or a `[biopsy]`, `[signature]`, `[tissue]` or `[production]` section".into()),
        )
    }

    /// The study-wide `[[drugs]]`, resolved; one that names body sources
    /// needs a body.
    fn drugs(
        &self,
        spec: &StudySpec,
        has_body: bool,
        duration: f64,
        weight: Option<f64>,
    ) -> Res<Vec<(Drug, super::drug_spec::DrugSpec)>> {
        let root = KeyPath::root();
        let drugs = spec
            .drugs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let p = root.key("drugs").index(i);
                super::resolve_drug::resolve_drug(&self.c, &p, d, duration, weight)
            })
            .collect::<Res<Vec<_>>>()?;
        if let Some(i) = spec.drugs.iter().position(|d| !d.sources.is_empty())
            && !has_body
        {
            return self.c.err(
                &root.key("drugs").index(i).key("sources"),
                "the study has no body sources to act on",
                Some("add `[[vesicles]]` and `[[sources]]`, or remove `sources`".into()),
            );
        }
        Ok(drugs)
    }

    /// `[study]`'s span and output grid: the duration, the output
    /// interval, the output times (grid, `output_times` and
    /// `report_times`, sorted) and the report times.
    fn output_grid(&self, h: &StudyHeader) -> Res<(f64, f64, Vec<f64>, Vec<f64>)> {
        let sp = KeyPath::root().key("study");
        self.c.identifier(&sp.key("name"), &h.name, "study")?;
        let duration =
            self.c
                .positive_quantity(&sp.key("duration"), h.duration.si(), Dimension::Time)?;
        if duration > MAX_DURATION {
            return self
                .c
                .err(&sp.key("duration"), "longer than a century", None);
        }
        let output_interval = match h.output_interval {
            Some(i) => {
                self.c
                    .positive_quantity(&sp.key("output_interval"), i.si(), Dimension::Time)?
            }
            None => default_interval(duration),
        };
        let steps = (duration / output_interval).ceil();
        if steps + h.output_times.len() as f64 > MAX_OUTPUT_TIMES as f64 {
            return self.c.err(
                &sp.key("output_interval"),
                format!("this interval gives {steps} output rows, more than {MAX_OUTPUT_TIMES}"),
                Some("choose a longer output interval".into()),
            );
        }
        let mut output_times: Vec<f64> = (0..=steps as usize)
            .map(|i| (i as f64 * output_interval).min(duration))
            .collect();
        for (i, t) in h.output_times.iter().enumerate() {
            output_times.push(self.c.time_within(
                &sp.key("output_times").index(i),
                t.si(),
                duration,
            )?);
        }
        let mut report_times = Vec::new();
        for (i, t) in h.report_times.iter().enumerate() {
            let t = self
                .c
                .time_within(&sp.key("report_times").index(i), t.si(), duration)?;
            report_times.push(t);
            output_times.push(t);
        }
        output_times.sort_by(f64::total_cmp);
        output_times.dedup();

        Ok((duration, output_interval, output_times, report_times))
    }

    /// Every arm (or the one implicit arm) of a study with a body, with
    /// its section as resolved.
    fn arms(
        &self,
        spec: &StudySpec,
        has_body: bool,
        body_spec: &BodySpec,
        vesicles: &[VesicleClass],
        drugs: &[(Drug, super::drug_spec::DrugSpec)],
        duration: f64,
    ) -> Res<(Vec<Arm>, Vec<ArmSpec>)> {
        let root = KeyPath::root();
        let arm_specs: Vec<(KeyPath, ArmSpec)> = if !has_body {
            Vec::new()
        } else if spec.arms.is_empty() {
            vec![(
                root.clone(),
                ArmSpec {
                    name: "main".into(),
                    ..Default::default()
                },
            )]
        } else {
            spec.arms
                .iter()
                .enumerate()
                .map(|(i, a)| (root.key("arms").index(i), a.clone()))
                .collect()
        };
        let mut arms = Vec::new();
        let mut resolved_arms = Vec::new();
        let mut seen = BTreeSet::new();
        for (path, arm) in &arm_specs {
            self.c.identifier(&path.key("name"), &arm.name, "arm")?;
            if !seen.insert(arm.name.clone()) {
                return self.c.err(
                    &path.key("name"),
                    format!("arm `{}` is defined twice", arm.name),
                    None,
                );
            }
            let (resolved, resolved_arm) =
                self.arm(path, arm, spec, body_spec, vesicles, drugs, duration)?;
            arms.push(resolved);
            resolved_arms.push(resolved_arm);
        }
        Ok((arms, resolved_arms))
    }

    /// One arm at `path`: its body (the study's, merged with the arm's),
    /// its doses, sources and drugs (the study's, then the arm's).
    #[allow(clippy::too_many_arguments)]
    fn arm(
        &self,
        path: &KeyPath,
        arm: &ArmSpec,
        spec: &StudySpec,
        body_spec: &BodySpec,
        vesicles: &[VesicleClass],
        study_drugs: &[(Drug, super::drug_spec::DrugSpec)],
        duration: f64,
    ) -> Res<(Arm, ArmSpec)> {
        let root = KeyPath::root();
        let class_names: Vec<&str> = vesicles.iter().map(|v| v.name.as_str()).collect();
        let arm_body = match &arm.body {
            Some(b) => self.body_spec(&path.key("body"), &spec.body, b)?,
            None => body_spec.clone(),
        };
        let body = self
            .body(&path.key("body"), &arm_body)
            .map_err(|e| self.where_written(e, &path.key("body"), &root.key("body")))?;
        let mut doses = Vec::new();
        for (i, d) in spec.doses.iter().enumerate() {
            doses.push(self.dose(
                &root.key("doses").index(i),
                d,
                &class_names,
                &body,
                duration,
            )?);
        }
        for (i, d) in arm.doses.iter().enumerate() {
            doses.push(self.dose(
                &path.key("doses").index(i),
                d,
                &class_names,
                &body,
                duration,
            )?);
        }
        let mut sources = Vec::new();
        for (i, s) in spec.sources.iter().enumerate() {
            sources.push(self.source(&root.key("sources").index(i), s, &class_names, duration)?);
        }
        for (i, s) in arm.sources.iter().enumerate() {
            sources.push(self.source(&path.key("sources").index(i), s, &class_names, duration)?);
        }
        // An untreated control arm is how effects are compared; elsewhere an
        // arm that receives nothing is a mistake.
        if doses.is_empty() && sources.is_empty() && spec.effects.is_empty() {
            return self.c.err(
                path,
                format!("nothing enters the body in arm `{}`", arm.name),
                Some("add a `[[doses]]` or `[[sources]]` entry (an untreated control arm is allowed in a study with `[[effects]]`)".into()),
            );
        }
        let weight = arm_body.weight.map(|w| w.si());
        let (drugs, drug_specs) = self.arm_drugs(path, arm, spec, study_drugs, duration, weight)?;
        let resolved_arm = ArmSpec {
            name: arm.name.clone(),
            body: Some(arm_body),
            doses: arm.doses.iter().map(filled_dose).collect(),
            sources: arm
                .sources
                .iter()
                .map(|x| filled_source(x, duration))
                .collect(),
            drugs: drug_specs,
        };
        let resolved = Arm {
            name: arm.name.clone(),
            body,
            doses,
            sources,
            drugs,
        };
        for ci in resolved.classes() {
            let class = &vesicles[ci];
            for (ligand, _) in &class.ligands {
                if !resolved.body.affinity.contains_key(ligand) {
                    return self.c.err(
                        &root.key("vesicles").index(ci).key("ligands").key(ligand),
                        format!("ligand `{ligand}` has no affinity table in arm `{}`", arm.name),
                        Some(format!("add `[body.affinity.{ligand}]` with the organs it targets, e.g. `brain = 30`")),
                    );
                }
            }
        }
        Ok((resolved, resolved_arm))
    }

    /// The drugs of one arm: the study's, then its own, each with the arm's
    /// sources it names; names unique. Several drugs on one source act
    /// independently (their release factors multiply), as in the tissue.
    fn arm_drugs(
        &self,
        path: &KeyPath,
        arm: &ArmSpec,
        spec: &StudySpec,
        study_drugs: &[(Drug, super::drug_spec::DrugSpec)],
        duration: f64,
        weight: Option<f64>,
    ) -> Res<(Vec<ArmDrug>, Vec<super::drug_spec::DrugSpec>)> {
        use super::resolve_drug::{arm_drug, resolve_drug};
        let root = KeyPath::root();
        let source_names: Vec<String> = spec
            .sources
            .iter()
            .chain(&arm.sources)
            .map(|s| s.name.clone().unwrap_or_else(|| s.vesicles.clone()))
            .collect();
        let mut placed = Vec::new();
        for (i, (drug, written)) in study_drugs.iter().enumerate() {
            let p = root.key("drugs").index(i);
            // A dose per kg follows this arm's body weight.
            let own;
            let drug = if written.per_weight() {
                own = resolve_drug(&self.c, &p, written, duration, weight)?.0;
                &own
            } else {
                drug
            };
            placed.push((
                p.clone(),
                arm_drug(&self.c, &p, &spec.drugs[i], drug, &source_names)?,
            ));
        }
        let mut filled = Vec::new();
        for (i, d) in arm.drugs.iter().enumerate() {
            let p = path.key("drugs").index(i);
            if !d.markers.is_empty() {
                return self.c.err(
                    &p.key("markers"),
                    "only a study-wide drug acts on the biopsy's marker",
                    Some("move the drug to the top-level `[[drugs]]`: the biopsy's individuals belong to no arm".into()),
                );
            }
            let (drug, f) = resolve_drug(&self.c, &p, d, duration, weight)?;
            placed.push((p.clone(), arm_drug(&self.c, &p, d, &drug, &source_names)?));
            filled.push(f);
        }
        let mut names = BTreeSet::new();
        for (p, d) in &placed {
            if !names.insert(d.drug.name.clone()) {
                return self.c.err(
                    &p.key("name"),
                    format!(
                        "drug `{}` is given twice in arm `{}`",
                        d.drug.name, arm.name
                    ),
                    Some("give each drug of an arm its own name".into()),
                );
            }
        }
        Ok((placed.into_iter().map(|(_, d)| d).collect(), filled))
    }

    /// Study-wide drugs with `cell_types` become inhibitors of the tissue
    /// whose secretion factor follows the drug's concentration course.
    fn drugs_in_tissue(
        &self,
        spec: &StudySpec,
        drugs: &[(Drug, super::drug_spec::DrugSpec)],
        tissue: Option<&mut crate::tissue::model::TissueModel>,
    ) -> Res<()> {
        let root = KeyPath::root();
        let mut tissue = tissue;
        for (i, ((drug, _), d)) in drugs.iter().zip(&spec.drugs).enumerate() {
            if d.cell_types.is_empty() {
                continue;
            }
            let p = root.key("drugs").index(i);
            let Some(model) = tissue.as_deref_mut() else {
                return self.c.err(
                    &p.key("cell_types"),
                    "the study has no `[tissue]` with cell types",
                    Some("add a `[tissue]` section, or remove `cell_types`".into()),
                );
            };
            let inhibitor = self.tissue_inhibitor(&p, d, drug, model)?;
            model.inhibitors.push(inhibitor);
        }
        Ok(())
    }

    /// Drugs given in one arm with `cell_types` become inhibitors of that
    /// arm's copies of the tissue (the arm must hold it), their secretion
    /// factor following the drug's concentration course.
    fn arm_drugs_in_tissue(
        &self,
        spec: &StudySpec,
        arms: &[Arm],
        tissue: Option<&mut crate::tissue::model::TissueModel>,
    ) -> Res<()> {
        let mut tissue = tissue;
        for (i, (arm_spec, arm)) in spec.arms.iter().zip(arms).enumerate() {
            for (j, d) in arm_spec.drugs.iter().enumerate() {
                if d.cell_types.is_empty() {
                    continue;
                }
                let p = KeyPath::root().key("arms").index(i).key("drugs").index(j);
                let Some(model) = tissue.as_deref_mut() else {
                    return self.c.err(
                        &p.key("cell_types"),
                        "the study has no `[tissue]` with cell types",
                        Some("add a `[tissue]` section, or remove `cell_types`".into()),
                    );
                };
                let drug = arm
                    .drugs
                    .iter()
                    .find(|x| x.drug.name == d.name)
                    .map(|x| &x.drug)
                    .expect("every drug of an arm is resolved with it");
                let inhibitor = self.tissue_inhibitor(&p, d, drug, model)?;
                let held = model
                    .coupling
                    .as_mut()
                    .and_then(|c| c.arms.iter_mut().find(|a| a.arm == i));
                let Some(held) = held else {
                    return self.c.err(
                        &p.key("cell_types"),
                        format!("arm `{}` does not hold the tissue", arm.name),
                        Some(format!(
                            "add `{}` to `[tissue.coupling] arms`, or give the drug in the top-level `[[drugs]]` to act on the tissue everywhere",
                            arm.name
                        )),
                    );
                };
                held.inhibitors.push(inhibitor);
            }
        }
        Ok(())
    }

    /// The tissue inhibitor of drug `d` (at `p`, resolved as `drug`): its
    /// secretion factor follows the drug's concentration course on the
    /// named cell types.
    fn tissue_inhibitor(
        &self,
        p: &KeyPath,
        d: &super::drug_spec::DrugSpec,
        drug: &Drug,
        model: &crate::tissue::model::TissueModel,
    ) -> Res<crate::tissue::model::Inhibitor> {
        if model.inhibitors.iter().any(|x| x.name == d.name) {
            return self.c.err(
                &p.key("name"),
                format!("the tissue already has an inhibitor `{}`", d.name),
                Some("give the drug another name".into()),
            );
        }
        let type_names: Vec<String> = model.cell_types.iter().map(|t| t.name.clone()).collect();
        let cell_types = d
            .cell_types
            .iter()
            .enumerate()
            .map(|(k, t)| {
                self.c
                    .name_in(&p.key("cell_types").index(k), t, &type_names, "cell type")
            })
            .collect::<Res<Vec<_>>>()?;
        Ok(crate::tissue::model::Inhibitor {
            name: d.name.clone(),
            cell_types,
            start: 0.0,
            factor: 1.0,
            drug: Some(drug.clone()),
        })
    }

    /// The arms' systems and the output table within their limits.
    fn check_size(&self, arms: &[Arm], rows: usize) -> Res<()> {
        let root = KeyPath::root();
        let sp = root.key("study");
        let arm_classes: usize = arms.iter().map(|a| a.classes().len()).sum();
        if arm_classes > MAX_ARM_CLASSES {
            return self.c.err(
                &root.key("arms"),
                format!("{arm_classes} arm × vesicle-class systems, more than {MAX_ARM_CLASSES}"),
                Some("split the study into several files".into()),
            );
        }

        // Places per class: blood, organs, lymph, two depots, two sinks.
        let places = 6 + arms.iter().map(|a| a.body.organs.len()).max().unwrap_or(0);
        let cells = arm_classes.saturating_mul(places).saturating_mul(rows);
        if cells > MAX_OUTPUT_CELLS {
            return self.c.err(
                &sp.key("output_interval"),
                format!(
                    "the output table would hold {cells} numbers, more than {MAX_OUTPUT_CELLS}"
                ),
                Some("choose a longer output interval, or fewer arms".into()),
            );
        }
        Ok(())
    }

    /// An error found in an arm's merged body (at `arm_body`) is about a
    /// value the user wrote either in the arm or in the study-wide `[body]`
    /// (`study_body`): it is reported where the value was written, the
    /// arm's key when the arm sets it, else the study-wide key when that
    /// sets it (else where it was, the value coming from a preset).
    fn where_written(&self, e: StudyError, arm_body: &KeyPath, study_body: &KeyPath) -> StudyError {
        let prefix = arm_body.to_string();
        let Some(rest) = e.key.strip_prefix(&prefix) else {
            return e;
        };
        let mut arm_key = arm_body.clone();
        let mut study_key = study_body.clone();
        for seg in rest.split('.').filter(|s| !s.is_empty()) {
            arm_key = arm_key.key(seg);
            study_key = study_key.key(seg);
        }
        if self.loc.has(&arm_key) || !self.loc.has(&study_key) {
            return e;
        }
        self.loc.error(&study_key, e.message, e.hint)
    }

    fn solver(&self, s: &SolverSpec) -> Res<SolverSettings> {
        let p = KeyPath::root().key("solver");
        let rtol = s.rtol.unwrap_or(DEFAULT_RTOL);
        if !(1e-14..=1e-2).contains(&rtol) {
            return self.c.err(
                &p.key("rtol"),
                format!("rtol {rtol:e} is out of range"),
                Some("use a value from 1e-14 to 1e-2".into()),
            );
        }
        let atol_fraction = s.atol_fraction.unwrap_or(DEFAULT_ATOL_FRACTION);
        if !(MIN_ATOL_FRACTION..=1e-2).contains(&atol_fraction) {
            return self.c.err(
                &p.key("atol_fraction"),
                format!("atol_fraction {atol_fraction:e} is out of range"),
                Some(format!("use a value from {MIN_ATOL_FRACTION:e} to 1e-2")),
            );
        }
        Ok(SolverSettings {
            rtol,
            atol_fraction,
        })
    }

    /// The preset of the species named (by `over`, else `base`), merged with
    /// `base` and then `over`. Rest and tumour flows left unset are derived.
    fn body_spec(&self, path: &KeyPath, base: &BodySpec, over: &BodySpec) -> Res<BodySpec> {
        let species = over
            .species
            .clone()
            .or(base.species.clone())
            .unwrap_or_else(|| "mouse".into());
        let Some(preset) = species::preset(&species) else {
            let hint = did_you_mean(&species, SPECIES).map(|s| format!("did you mean `{s}`?"));
            return self.c.err(
                &path.key("species"),
                format!(
                    "unknown species `{species}`; presets exist for {}",
                    SPECIES.join(", ")
                ),
                hint.or(Some(
                    "override every organ value of the closest preset instead".into(),
                )),
            );
        };
        {
            let (key, user) = (path, over);
            for name in user.organs.keys() {
                match Organ::from_name(name) {
                    Some(Organ::Tumour) => {
                        return self.c.err(
                            &key.key("organs").key(name),
                            "the tumour is declared as `[body.tumour]`, not among the organs",
                            None,
                        );
                    }
                    Some(_) => {}
                    None => {
                        let hint = did_you_mean(name, Organ::all_names())
                            .map(|s| format!("did you mean `{s}`?"));
                        return self.c.err(
                            &key.key("organs").key(name),
                            format!(
                                "unknown organ `{name}`; organs are {}",
                                Organ::STANDARD.map(|o| o.name()).join(", ")
                            ),
                            hint,
                        );
                    }
                }
            }
            if user
                .organs
                .get("lungs")
                .and_then(|l| l.blood_flow)
                .is_some()
            {
                return self.c.err(
                    &key.key("organs").key("lungs").key("blood_flow"),
                    "the lungs receive the whole cardiac output; their flow is not set separately",
                    Some("change `body.cardiac_output` instead".into()),
                );
            }
        }
        // An arm of another species starts from its own preset: the
        // study-wide values were written for the study's species.
        let base_species = base.species.clone().unwrap_or_else(|| "mouse".into());
        let user = if base_species == species {
            base.clone().merge(over.clone())
        } else {
            over.clone()
        };
        let rest_flow_set = user.organs.get("rest").and_then(|r| r.blood_flow).is_some();
        let mut preset = preset;
        if let (Some(co), Some(preset_co)) = (user.cardiac_output, preset.cardiac_output) {
            // Organs keep their share of a changed cardiac output.
            let scale = co.si() / preset_co.si();
            for organ in preset.organs.values_mut() {
                organ.blood_flow = organ.blood_flow.map(|q| Flow::from_si(q.si() * scale));
            }
        }
        let mut merged = BodySpec {
            species: Some(species),
            ..preset
        }
        .merge(user);
        if let Some(t) = merged.tumour.take() {
            let mut t = species::tumour_defaults().merge(t);
            if t.blood_flow.is_none() {
                let v = t.volume.map(|v| v.si()).unwrap_or(0.0);
                t.blood_flow = Some(Flow::from_si(
                    v * species::TUMOUR_PERFUSION_PER_MIN / units::MINUTE,
                ));
            }
            merged.tumour = Some(t);
        }
        if !rest_flow_set {
            // The rest of the body takes whatever the listed organs leave.
            let co = merged.cardiac_output.map(|c| c.si()).unwrap_or(0.0);
            let others: f64 = merged
                .organs
                .iter()
                .filter(|(n, _)| n.as_str() != "rest" && n.as_str() != "lungs")
                .filter_map(|(_, o)| o.blood_flow.map(|f| f.si()))
                .sum::<f64>()
                + merged
                    .tumour
                    .as_ref()
                    .and_then(|t| t.blood_flow)
                    .map(|f| f.si())
                    .unwrap_or(0.0);
            if co - others <= 0.0 {
                return self.c.err(
                    &path.key("cardiac_output"),
                    format!(
                        "the organ flows ({}) leave nothing of the cardiac output ({}) for the rest of the body",
                        units::format_human(others, Dimension::Flow),
                        units::format_human(co, Dimension::Flow)
                    ),
                    Some("lower some organ flows or raise `body.cardiac_output`".into()),
                );
            }
            if let Some(rest) = merged.organs.get_mut("rest") {
                rest.blood_flow = Some(Flow::from_si(co - others));
            }
        }
        Ok(merged)
    }

    fn body(&self, path: &KeyPath, b: &BodySpec) -> Res<Body> {
        let get = |v: Option<f64>| v.unwrap_or(f64::NAN);
        let cardiac_output = self.c.positive_quantity(
            &path.key("cardiac_output"),
            get(b.cardiac_output.map(|v| v.si())),
            Dimension::Flow,
        )?;
        let blood_volume = self.c.positive_quantity(
            &path.key("blood_volume"),
            get(b.blood_volume.map(|v| v.si())),
            Dimension::Volume,
        )?;
        let haematocrit = self
            .c
            .fraction(&path.key("haematocrit"), get(b.haematocrit))?;
        if haematocrit >= 1.0 {
            return self.c.err(
                &path.key("haematocrit"),
                "a haematocrit of 1 leaves no plasma",
                Some("the share of blood that is cells: about 0.45".into()),
            );
        }
        self.c.positive_quantity(
            &path.key("weight"),
            get(b.weight.map(|v| v.si())),
            Dimension::Mass,
        )?;
        let lymph_volume = self.c.positive_quantity(
            &path.key("lymph_volume"),
            get(b.lymph_volume.map(|v| v.si())),
            Dimension::Volume,
        )?;
        let lymph_flow = self.c.positive_quantity(
            &path.key("lymph_flow"),
            get(b.lymph_flow.map(|v| v.si())),
            Dimension::Flow,
        )?;
        let mp = path.key("mps");
        let mps = Mps {
            capacity: self.c.non_negative_quantity(
                &mp.key("capacity"),
                get(b.mps.capacity),
                Dimension::Count,
            )?,
            km: self.c.positive_quantity(
                &mp.key("km"),
                get(b.mps.km.map(|k| k.si())),
                Dimension::Concentration,
            )?,
            ps_weight: self
                .c
                .fraction(&mp.key("ps_weight"), get(b.mps.ps_weight))?,
            cd47_protection: self
                .c
                .fraction(&mp.key("cd47_protection"), get(b.mps.cd47_protection))?,
            size_gain: self.c.non_negative_quantity(
                &mp.key("size_gain"),
                get(b.mps.size_gain),
                Dimension::Count,
            )?,
            size_d50: self.c.positive_quantity(
                &mp.key("size_d50"),
                get(b.mps.size_d50.map(|d| d.si())),
                Dimension::Length,
            )?,
            size_width: self.c.positive_quantity(
                &mp.key("size_width"),
                get(b.mps.size_width.map(|d| d.si())),
                Dimension::Length,
            )?,
        };
        let mut organs = Vec::new();
        for organ in Organ::STANDARD {
            let spec = b.organs.get(organ.name()).cloned().unwrap_or_default();
            let op = path.key("organs").key(organ.name());
            organs.push(self.organ(&op, organ, &spec, cardiac_output)?);
        }
        if let Some(t) = &b.tumour {
            organs.push(self.organ(&path.key("tumour"), Organ::Tumour, t, cardiac_output)?);
        }
        self.check_flows(path, &organs, cardiac_output, blood_volume)?;
        let depot = |name: &str, d: &DepotSpec| -> Res<Depot> {
            let dp = path.key("routes").key(name);
            Ok(Depot {
                absorption: self.c.non_negative_quantity(
                    &dp.key("absorption_rate"),
                    get(d.absorption_rate.map(|r| r.si())),
                    Dimension::Rate,
                )?,
                degradation: self.c.non_negative_quantity(
                    &dp.key("degradation_rate"),
                    get(d.degradation_rate.map(|r| r.si())),
                    Dimension::Rate,
                )?,
            })
        };
        let (lung_trapping, spleen_filtering, liver_fenestrae) = self.size_fates(path, b)?;
        let gut_barrier = self.gut_barrier(&path.key("gut_barrier"), &b.gut_barrier)?;
        let intraperitoneal = depot("intraperitoneal", &b.routes.intraperitoneal)?;
        let subcutaneous = depot("subcutaneous", &b.routes.subcutaneous)?;
        let affinity = self.affinity(&path.key("affinity"), b)?;
        Ok(Body {
            species: b.species.clone().unwrap_or_default(),
            cardiac_output,
            blood_volume,
            haematocrit,
            lymph_volume,
            lymph_flow,
            mps,
            organs,
            lung_trapping,
            spleen_filtering,
            liver_fenestrae,
            gut_barrier,
            intraperitoneal,
            subcutaneous,
            affinity,
        })
    }

    /// Organ flows that add up to the cardiac output, and vascular beds
    /// that leave blood in the large vessels.
    /// The three size-dependent fates: lung trapping (with its release),
    /// splenic filtering and the liver's fenestrae.
    fn size_fates(
        &self,
        path: &KeyPath,
        b: &BodySpec,
    ) -> Res<(LungTrapping, SizeFilter, Fenestrae)> {
        let lt = &b.lung_trapping;
        let lp = path.key("lung_trapping");
        let lung_trapping = LungTrapping {
            filter: self.size_filter(&lp, lt.d50, lt.width, lt.max_extraction)?,
            release: self.c.non_negative_quantity(
                &lp.key("release_rate"),
                lt.release_rate.map_or(f64::NAN, |r| r.si()),
                Dimension::Rate,
            )?,
        };
        let sf = &b.spleen_filtering;
        let spleen_filtering = self.size_filter(
            &path.key("spleen_filtering"),
            sf.d50,
            sf.width,
            sf.max_extraction,
        )?;
        let fp = path.key("liver_fenestrae");
        let liver_fenestrae = Fenestrae {
            diameter: self.c.positive_quantity(
                &fp.key("diameter"),
                b.liver_fenestrae.diameter.map_or(f64::NAN, |d| d.si()),
                Dimension::Length,
            )?,
            width: self.c.positive_quantity(
                &fp.key("width"),
                b.liver_fenestrae.width.map_or(f64::NAN, |d| d.si()),
                Dimension::Length,
            )?,
        };
        Ok((lung_trapping, spleen_filtering, liver_fenestrae))
    }

    /// The gut barrier: a condition's permeability unless one is given.
    fn gut_barrier(&self, path: &KeyPath, g: &GutBarrierSpec) -> Res<GutBarrier> {
        let names: Vec<&str> = species::GUT_CONDITIONS.iter().map(|c| c.0).collect();
        let condition = g.condition.as_deref().unwrap_or("healthy");
        let Some(&(_, preset)) = species::GUT_CONDITIONS.iter().find(|c| c.0 == condition) else {
            return self.c.err(
                &path.key("condition"),
                format!("unknown condition `{condition}`"),
                did_you_mean(condition, names.iter().copied())
                    .or_else(|| Some(format!("one of: {}", names.join(", ")))),
            );
        };
        Ok(GutBarrier {
            permeability: self
                .c
                .fraction(&path.key("permeability"), g.permeability.unwrap_or(preset))?,
            translocation: self.c.non_negative_quantity(
                &path.key("translocation_rate"),
                g.translocation_rate.map_or(f64::NAN, |r| r.si()),
                Dimension::Rate,
            )?,
            transit: self.c.non_negative_quantity(
                &path.key("transit_rate"),
                g.transit_rate.map_or(f64::NAN, |r| r.si()),
                Dimension::Rate,
            )?,
        })
    }

    /// A retention rising with diameter, checked at `path`.
    fn size_filter(
        &self,
        path: &KeyPath,
        d50: Option<Length>,
        width: Option<Length>,
        max_extraction: Option<f64>,
    ) -> Res<SizeFilter> {
        let filter = SizeFilter {
            d50: self.c.positive_quantity(
                &path.key("d50"),
                d50.map_or(f64::NAN, |d| d.si()),
                Dimension::Length,
            )?,
            width: self.c.positive_quantity(
                &path.key("width"),
                width.map_or(f64::NAN, |d| d.si()),
                Dimension::Length,
            )?,
            max_extraction: self.c.fraction(
                &path.key("max_extraction"),
                max_extraction.unwrap_or(f64::NAN),
            )?,
        };
        if filter.max_extraction >= 1.0 {
            return self.c.err(
                &path.key("max_extraction"),
                "an extraction of 1 would take up every vesicle instantly",
                Some("use a value below 1".into()),
            );
        }
        Ok(filter)
    }

    fn check_flows(
        &self,
        path: &KeyPath,
        organs: &[OrganParams],
        cardiac_output: f64,
        blood_volume: f64,
    ) -> Res<()> {
        // Flows: arterial inflows of all organs but the lungs add up to the
        // cardiac output (the portal organs' blood passes the liver after).
        let total: f64 = organs
            .iter()
            .filter(|o| o.organ != Organ::Lungs)
            .map(|o| o.blood_flow)
            .sum();
        if ((total - cardiac_output) / cardiac_output).abs() > FLOW_TOLERANCE {
            return self.c.err(
                &path.key("organs").key("rest").key("blood_flow"),
                format!(
                    "organ blood flows add up to {}, but the cardiac output is {}",
                    units::format_human(total, Dimension::Flow),
                    units::format_human(cardiac_output, Dimension::Flow)
                ),
                Some("leave `rest.blood_flow` unset to let it take the remainder, or make the flows add up".into()),
            );
        }
        if let Some(rest) = organs.iter().find(|o| o.organ == Organ::Rest)
            && rest.blood_flow <= 0.0
        {
            return self.c.err(
                &path.key("organs").key("rest").key("blood_flow"),
                "the organ flows leave nothing for the rest of the body",
                Some("lower some organ flows or raise `body.cardiac_output`".into()),
            );
        }
        let vascular: f64 = organs.iter().map(|o| o.vascular_volume).sum();
        if vascular > 0.9 * blood_volume {
            return self.c.err(
                &path.key("blood_volume"),
                format!(
                    "organ vascular beds hold {} but the blood volume is {}",
                    units::format_human(vascular, Dimension::Volume),
                    units::format_human(blood_volume, Dimension::Volume)
                ),
                Some("at least 10 % of blood must remain in the large vessels: raise `blood_volume` or lower `vascular_fraction`s".into()),
            );
        }
        Ok(())
    }

    /// `[body.affinity]`: per ligand, the organs it targets and how strongly.
    fn affinity(
        &self,
        path: &KeyPath,
        b: &BodySpec,
    ) -> Res<BTreeMap<String, BTreeMap<Organ, f64>>> {
        let mut affinity = BTreeMap::new();
        for (ligand, targets) in &b.affinity {
            let lp = path.key(ligand);
            self.c.identifier(&lp, ligand, "ligand")?;
            let mut row = BTreeMap::new();
            for (organ_name, factor) in targets {
                let Some(organ) = Organ::from_name(organ_name) else {
                    let hint = did_you_mean(organ_name, Organ::all_names())
                        .map(|s| format!("did you mean `{s}`?"));
                    return self.c.err(
                        &lp.key(organ_name),
                        format!("unknown organ `{organ_name}`"),
                        hint,
                    );
                };
                if !(factor.is_finite() && *factor >= 0.0) {
                    return self.c.err(
                        &lp.key(organ_name),
                        format!("affinity {factor} must be a non-negative number"),
                        None,
                    );
                }
                row.insert(organ, *factor);
            }
            affinity.insert(ligand.clone(), row);
        }
        Ok(affinity)
    }

    fn organ(
        &self,
        p: &KeyPath,
        organ: Organ,
        s: &OrganSpec,
        cardiac_output: f64,
    ) -> Res<OrganParams> {
        let get = |v: Option<f64>| v.unwrap_or(f64::NAN);
        let volume = self.c.positive_quantity(
            &p.key("volume"),
            get(s.volume.map(|v| v.si())),
            Dimension::Volume,
        )?;
        let blood_flow = match organ {
            Organ::Lungs => cardiac_output,
            _ => self.c.non_negative_quantity(
                &p.key("blood_flow"),
                get(s.blood_flow.map(|f| f.si())),
                Dimension::Flow,
            )?,
        };
        let extraction = |key: &str, v: Option<f64>| -> Res<f64> {
            let v = self.c.fraction(&p.key(key), get(v))?;
            if v >= 1.0 {
                return self.c.err(
                    &p.key(key),
                    "an extraction of 1 would take up every vesicle instantly",
                    Some("use a value below 1, e.g. 0.99".into()),
                );
            }
            Ok(v)
        };
        let mps_extraction = extraction("mps_extraction", s.mps_extraction)?;
        if mps_extraction > 0.0 && !matches!(organ, Organ::Liver | Organ::Spleen) {
            return self.c.err(
                &p.key("mps_extraction"),
                format!(
                    "macrophage (MPS) clearance is modelled in liver and spleen only, not in `{}`",
                    organ.name()
                ),
                Some("use `uptake_extraction` for linear uptake in this organ".into()),
            );
        }
        let vascular_fraction = self
            .c
            .fraction(&p.key("vascular_fraction"), get(s.vascular_fraction))?;
        if vascular_fraction <= 0.0 {
            return self.c.err(
                &p.key("vascular_fraction"),
                "every organ needs some blood to be reached by vesicles",
                Some("use a fraction greater than 0, e.g. 0.02".into()),
            );
        }
        Ok(OrganParams {
            organ,
            volume,
            blood_flow,
            vascular_volume: volume * vascular_fraction,
            uptake_extraction: extraction("uptake_extraction", s.uptake_extraction)?,
            mps_extraction,
            degradation: self.c.non_negative_quantity(
                &p.key("degradation_rate"),
                get(s.degradation_rate.map(|r| r.si())),
                Dimension::Rate,
            )?,
            efflux: self.c.non_negative_quantity(
                &p.key("efflux_rate"),
                get(s.efflux_rate.map(|r| r.si())),
                Dimension::Rate,
            )?,
            excretion: self.c.non_negative_quantity(
                &p.key("excretion_rate"),
                get(s.excretion_rate.map(|r| r.si())),
                Dimension::Rate,
            )?,
        })
    }

    fn vesicles(&self, spec: &StudySpec, body: &BodySpec) -> Res<Vec<VesicleClass>> {
        let mut out: Vec<VesicleClass> = Vec::new();
        for (i, v) in spec.vesicles.iter().enumerate() {
            let p = KeyPath::root().key("vesicles").index(i);
            self.c
                .identifier(&p.key("name"), &v.name, "vesicle class")?;
            if out.iter().any(|o| o.name == v.name) {
                return self.c.err(
                    &p.key("name"),
                    format!("vesicle class `{}` is defined twice", v.name),
                    None,
                );
            }
            let diameter = v
                .diameter
                .map(|d| d.si())
                .unwrap_or(DEFAULT_DIAMETER_NM * units::NANOMETRE);
            if !(1.0 * units::NANOMETRE..=10.0 * units::MICROMETRE).contains(&diameter) {
                return self.c.err(
                    &p.key("diameter"),
                    format!(
                        "{} is not a vesicle diameter",
                        units::format_human(diameter, Dimension::Length)
                    ),
                    Some("extracellular vesicles measure from about 30 nm to 5 µm".into()),
                );
            }
            let diameter_cv = v.diameter_cv.unwrap_or(0.0);
            if !(diameter_cv.is_finite() && (0.0..=3.0).contains(&diameter_cv)) {
                return self.c.err(
                    &p.key("diameter_cv"),
                    format!("{diameter_cv} is out of range"),
                    Some("a coefficient of variation from 0 (all alike) to 3".into()),
                );
            }
            let ps_exposure = v.ps_exposure.unwrap_or(1.0);
            if !(ps_exposure.is_finite() && (0.0..=100.0).contains(&ps_exposure)) {
                return self.c.err(
                    &p.key("ps_exposure"),
                    format!("{ps_exposure} is out of range"),
                    Some("1 is natural small EVs, 0 fully masked; at most 100".into()),
                );
            }
            let mut ligands = Vec::new();
            for (name, density) in &v.ligands {
                if !(density.is_finite() && *density >= 0.0) {
                    return self.c.err(
                        &p.key("ligands").key(name),
                        format!("density {density} must be a non-negative number"),
                        None,
                    );
                }
                if !body.affinity.contains_key(name)
                    && spec.arms.iter().all(|a| {
                        a.body
                            .as_ref()
                            .is_none_or(|b| !b.affinity.contains_key(name))
                    })
                {
                    let hint = did_you_mean(name, body.affinity.keys().map(|s| s.as_str()))
                        .map(|s| format!("did you mean `{s}`?"))
                        .unwrap_or_else(|| format!("add `[body.affinity.{name}]` with the organs it targets, e.g. `brain = 30`"));
                    return self.c.err(
                        &p.key("ligands").key(name),
                        format!("ligand `{name}` has no affinity table"),
                        Some(hint),
                    );
                }
                ligands.push((name.clone(), *density));
            }
            for (marker, copies) in &v.markers {
                if !(copies.is_finite() && *copies >= 0.0) {
                    return self.c.err(
                        &p.key("markers").key(marker),
                        format!("{copies} copies per vesicle must be a non-negative number"),
                        None,
                    );
                }
            }
            out.push(VesicleClass {
                name: v.name.clone(),
                diameter,
                diameter_cv,
                ps_exposure,
                cd47: self.c.fraction(&p.key("cd47"), v.cd47.unwrap_or(0.0))?,
                ligands,
                blood_degradation: self.c.non_negative_quantity(
                    &p.key("blood_degradation_rate"),
                    v.blood_degradation_rate.map(|r| r.si()).unwrap_or(0.0),
                    Dimension::Rate,
                )?,
                markers: v.markers.clone(),
            });
        }
        Ok(out)
    }

    fn class_index(&self, path: &KeyPath, name: &str, classes: &[&str]) -> Res<usize> {
        match classes.iter().position(|c| *c == name) {
            Some(i) => Ok(i),
            None => {
                let hint = match did_you_mean(name, classes.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if classes.is_empty() => "define it with a `[[vesicles]]` entry".into(),
                    None => format!("defined classes: {}", classes.join(", ")),
                };
                self.c
                    .err(path, format!("unknown vesicle class `{name}`"), Some(hint))
            }
        }
    }

    fn dose(
        &self,
        p: &KeyPath,
        d: &DoseSpec,
        classes: &[&str],
        body: &Body,
        duration: f64,
    ) -> Res<Dose> {
        let class = self.class_index(&p.key("vesicles"), &d.vesicles, classes)?;
        let amount = d.amount.si();
        if !(amount.is_finite() && amount > 0.0 && amount <= 1e30) {
            return self.c.err(
                &p.key("amount"),
                format!("{amount} is not a dose"),
                Some("give a number of vesicles greater than 0, e.g. 1e10".into()),
            );
        }
        let administration = match d.route {
            Route::IvBolus => Administration::IvBolus,
            Route::IvInfusion => {
                let Some(len) = d.duration else {
                    return self.c.err(
                        &p.key("route"),
                        "an infusion needs a `duration`",
                        Some("add e.g. `duration = \"30 min\"`".into()),
                    );
                };
                Administration::IvInfusion {
                    duration: self.c.positive_quantity(
                        &p.key("duration"),
                        len.si(),
                        Dimension::Time,
                    )?,
                }
            }
            Route::Intraperitoneal => Administration::Intraperitoneal,
            Route::Subcutaneous => Administration::Subcutaneous,
            Route::Local => {
                let Some(site) = &d.site else {
                    return self.c.err(
                        &p.key("route"),
                        "a local dose needs a `site`",
                        Some("add e.g. `site = \"tumour\"`".into()),
                    );
                };
                let organ = match Organ::from_name(site) {
                    Some(o) if body.organ(o).is_some() => o,
                    Some(_) => {
                        return self.c.err(
                            &p.key("site"),
                            "this body has no tumour",
                            Some("declare one with `[body.tumour]`".into()),
                        );
                    }
                    None => {
                        let hint = did_you_mean(site, Organ::all_names())
                            .map(|s| format!("did you mean `{s}`?"));
                        return self
                            .c
                            .err(&p.key("site"), format!("unknown organ `{site}`"), hint);
                    }
                };
                Administration::Local(organ)
            }
        };
        if d.duration.is_some() && d.route != Route::IvInfusion {
            return self.c.err(
                &p.key("duration"),
                "only an `iv_infusion` takes a `duration`",
                None,
            );
        }
        if d.site.is_some() && d.route != Route::Local {
            return self
                .c
                .err(&p.key("site"), "only a `local` dose takes a `site`", None);
        }
        let infusion = match administration {
            Administration::IvInfusion { duration: len } => Some(len),
            _ => None,
        };
        let times =
            super::check::dose_times(&self.c, p, d.at, d.every, d.count, infusion, duration)?;
        Ok(Dose {
            class,
            administration,
            amount,
            times,
        })
    }

    fn source(&self, p: &KeyPath, s: &SourceSpec, classes: &[&str], duration: f64) -> Res<Source> {
        if let Some(name) = &s.name {
            self.c.identifier(&p.key("name"), name, "source")?;
        }
        let class = self.class_index(&p.key("vesicles"), &s.vesicles, classes)?;
        let rate = self
            .c
            .non_negative_quantity(&p.key("rate"), s.rate.si(), Dimension::Rate)?;
        let start = self.c.time_within(
            &p.key("start"),
            s.start.map(|t| t.si()).unwrap_or(0.0),
            duration,
        )?;
        let end = self.c.time_within(
            &p.key("end"),
            s.end.map(|t| t.si()).unwrap_or(duration),
            duration,
        )?;
        if end <= start {
            return self
                .c
                .err(&p.key("end"), "the release ends before it starts", None);
        }
        let site = match s.site.as_deref().unwrap_or("blood") {
            "blood" => SourceSite::Blood,
            "gut_lumen" => SourceSite::GutLumen,
            other => {
                return self.c.err(
                    &p.key("site"),
                    format!("unknown site `{other}`"),
                    Some("`blood` (cells of the body) or `gut_lumen` (gut bacteria)".into()),
                );
            }
        };
        Ok(Source {
            class,
            rate,
            start,
            end,
            site,
        })
    }
}

/// A dose with its defaults written out, for the resolved study.
fn filled_dose(d: &DoseSpec) -> DoseSpec {
    DoseSpec {
        at: Some(d.at.unwrap_or(Time::from_si(0.0))),
        count: Some(d.count.unwrap_or(1)),
        ..d.clone()
    }
}

/// A source with its defaults written out, for the resolved study.
fn filled_source(s: &SourceSpec, duration: f64) -> SourceSpec {
    SourceSpec {
        start: Some(s.start.unwrap_or(Time::from_si(0.0))),
        end: Some(s.end.unwrap_or(Time::from_si(duration))),
        site: Some(s.site.clone().unwrap_or_else(|| "blood".into())),
        ..s.clone()
    }
}

/// About 500 rows, on a round step.
fn default_interval(duration: f64) -> f64 {
    const STEPS: [f64; 12] = [
        1.0,
        10.0,
        30.0,
        60.0,
        300.0,
        600.0,
        1800.0,
        3600.0,
        6.0 * 3600.0,
        86400.0,
        7.0 * 86400.0,
        30.0 * 86400.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| duration / s <= 500.0)
        .unwrap_or(duration / 500.0)
}

fn vesicle_spec(v: &VesicleClass) -> VesicleSpec {
    VesicleSpec {
        name: v.name.clone(),
        diameter: Some(Length::from_si(v.diameter)),
        diameter_cv: (v.diameter_cv > 0.0).then_some(v.diameter_cv),
        ps_exposure: Some(v.ps_exposure),
        cd47: Some(v.cd47),
        ligands: v.ligands.iter().cloned().collect(),
        blood_degradation_rate: Some(Rate::from_si(v.blood_degradation)),
        markers: v.markers.clone(),
    }
}
