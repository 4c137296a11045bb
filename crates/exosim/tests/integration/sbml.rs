//! The SBML export (`exosim::sbml`, docs/sbml.md): every shipped body study
//! exports, a tissue-coupled one is refused, and the exported models are
//! checked by other SBML tools: libSBML's consistency checks (units
//! included), libRoadRunner and COPASI simulating them to exosim's own
//! time course. The Python side is `scripts/sbml_check.py`; where python3
//! or a module is missing the checks say they are skipped, unless
//! EXOSIM_REQUIRE_SBML_TOOLS=1 (as `.ci/run` sets, after installing them).

use std::path::{Path, PathBuf};
use std::process::Command;

use exosim::body::network;
use exosim::body::{pbpk, tolerances};
use exosim::sbml::{self, ExportError};
use exosim::scenario::{Study, load_study, parse_study};

/// Relative tolerance of both sides of a comparison.
const RTOL: f64 = 1e-10;
/// exosim's absolute tolerance, as a fraction of each class's input.
const ATOL_FRACTION: f64 = 1e-14;
/// Largest difference allowed, relative to the species' peak.
const AGREE: f64 = 1e-6;

/// Two release inhibitors holding back one source together (Bliss
/// independence): a two-compartment drug by mouth every 12 h, and a
/// one-compartment drug infused for 6 h with a Hill coefficient of 2 and
/// an Emax below 1; a second source left alone.
const EVERY_DRUG: &str = r#"
[study]
name = "every_drug"
duration = "36 h"
output_interval = "30 min"

[body]
species = "mouse"

[[vesicles]]
name = "tumour_ev"

[[vesicles]]
name = "healthy_ev"

[[sources]]
name = "tumour"
vesicles = "tumour_ev"
rate = "1e8 /h"

[[sources]]
vesicles = "healthy_ev"
rate = "1e9 /h"
start = "2 h"

[[drugs]]
name = "oral_inhibitor"
compartments = 2
clearance = "10 mL/h"
volume = "30 mL"
intercompartmental_clearance = "20 mL/h"
peripheral_volume = "60 mL"
ka = "1.5 /h"
bioavailability = 0.8
ec50 = "3 uM"
sources = ["tumour"]

[[drugs.doses]]
route = "oral"
amount = "0.5 umol"
at = "1 h"
every = "12 h"
count = 3

[[drugs]]
name = "infused_inhibitor"
clearance = "5 mL/h"
volume = "20 mL"
emax = 0.8
hill = 2
ec50 = "1 uM"
sources = ["tumour"]

[[drugs.doses]]
route = "iv_infusion"
amount = "0.1 umol"
at = "4 h"
duration = "6 h"
"#;

/// One arm with every mechanism the export maps: three classes competing
/// for saturated macrophages (2e12 vesicles against a Km of 2e11 per mL),
/// a targeting ligand, lung trapping of 1 µm vesicles, a tumour, repeated
/// IV boluses, an infusion, intraperitoneal, subcutaneous and local doses,
/// and a source switched on and off.
const EVERY_MECHANISM: &str = r#"
[study]
name = "every_mechanism"
duration = "24 h"
output_interval = "10 min"

[body]
species = "mouse"

[body.tumour]
volume = "0.1 mL"

[body.affinity.RVG]
brain = 30

[[vesicles]]
name = "sEV"
diameter = "100 nm"

[[vesicles]]
name = "lEV-RVG"
diameter = "1 um"
cd47 = 0.5
ligands = { RVG = 1.0 }

[[vesicles]]
name = "PS_high"
diameter = "150 nm"
ps_exposure = 2.0

[[doses]]
vesicles = "sEV"
route = "iv_bolus"
amount = 2e12
every = "6 h"
count = 2

[[doses]]
vesicles = "lEV-RVG"
route = "iv_infusion"
amount = 1e12
at = "1 h"
duration = "2 h"

[[doses]]
vesicles = "sEV"
route = "intraperitoneal"
amount = 1e11
at = "3 h"

[[doses]]
vesicles = "PS_high"
route = "subcutaneous"
amount = 1e11

[[doses]]
vesicles = "lEV-RVG"
route = "local"
site = "tumour"
amount = 1e10
at = "2 h"

[[sources]]
vesicles = "PS_high"
rate = "1e9 /h"
start = "30 min"
end = "10 h"
"#;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every shipped study file with body arms, by file name, with the embedded
/// demo and [`EVERY_MECHANISM`]; the tissue-coupled ones (refused) are
/// left out.
fn body_studies() -> Vec<(String, Study)> {
    let mut v = vec![
        (
            "demo".to_string(),
            parse_study(exosim::DEMO_STUDY, "<demo>").unwrap(),
        ),
        (
            "every_mechanism".to_string(),
            parse_study(EVERY_MECHANISM, "every_mechanism.toml").unwrap(),
        ),
        (
            "every_drug".to_string(),
            parse_study(EVERY_DRUG, "every_drug.toml").unwrap(),
        ),
    ];
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("studies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for f in files {
        let study = load_study(&f).unwrap();
        let coupled = study.tissue.as_ref().is_some_and(|t| t.coupling.is_some());
        if !study.arms.is_empty() && !coupled {
            let name = f.file_stem().unwrap().to_string_lossy().to_string();
            v.push((name, study));
        }
    }
    v
}

#[test]
fn every_shipped_body_study_exports_a_model_per_arm() {
    let studies = body_studies();
    let names: Vec<&str> = studies.iter().map(|s| s.0.as_str()).collect();
    for must in ["mouse_iv_bolus", "human_iv_infusion", "repeated_dosing"] {
        assert!(names.contains(&must), "{must} missing from {names:?}");
    }
    for (name, study) in &studies {
        let models = sbml::export(study).unwrap();
        assert_eq!(models.len(), study.arms.len(), "{name}");
        for (m, arm) in models.iter().zip(&study.arms) {
            let net = pbpk::build(&study.plan(), arm).network;
            assert_eq!(m.species.len(), net.len(), "{name}/{}", arm.name);
            assert!(m.xml.contains("level=\"3\" version=\"2\""));
            let expected = if study.arms.len() == 1 {
                "model.xml".to_string()
            } else {
                format!("model_{}.xml", arm.name)
            };
            assert_eq!(m.file_name, expected);
        }
    }
}

#[test]
fn a_tissue_coupled_study_is_refused_naming_the_arm() {
    let study = load_study(&repo().join("studies/tumour_ev_dose.toml")).unwrap();
    let arm = study.arms[study
        .tissue
        .as_ref()
        .unwrap()
        .coupling
        .as_ref()
        .unwrap()
        .arms[0]
        .arm]
        .name
        .clone();
    let err = sbml::export(&study).unwrap_err();
    assert!(matches!(err, ExportError::CoupledTissue { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("arm `{arm}`")), "{text}");
    assert!(text.contains("[tissue.coupling]"), "{text}");
    assert!(err.hint().contains("remove [tissue.coupling]"));
}

#[test]
fn a_study_without_body_is_refused() {
    let study = load_study(&repo().join("studies/assay_comparison.toml")).unwrap();
    let err = sbml::export(&study).unwrap_err();
    assert!(matches!(err, ExportError::NoBody { .. }), "{err:?}");
}

/// Why the SBML tools cannot be used here, if they cannot: python3 or one
/// of `modules` missing. Fails instead when EXOSIM_REQUIRE_SBML_TOOLS=1.
fn tools_missing(modules: &[&str]) -> Option<String> {
    let out = Command::new("python3")
        .arg(repo().join("scripts/sbml_check.py"))
        .arg("modules")
        .output();
    let why = match out {
        Err(e) => Some(format!("python3 cannot be run ({e})")),
        Ok(o) if !o.status.success() => Some(format!(
            "scripts/sbml_check.py failed: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Ok(o) => {
            let found: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let absent: Vec<&str> = modules
                .iter()
                .copied()
                .filter(|m| found[m] != serde_json::Value::Bool(true))
                .collect();
            (!absent.is_empty()).then(|| format!("python3 cannot import {}", absent.join(", ")))
        }
    };
    if let Some(why) = &why {
        assert!(
            std::env::var("EXOSIM_REQUIRE_SBML_TOOLS").as_deref() != Ok("1"),
            "the SBML tools are required (EXOSIM_REQUIRE_SBML_TOOLS=1) but {why}"
        );
        println!(
            "SKIPPED: {why}; `python3 -m pip install libroadrunner python-libsbml copasi-basico` to run it"
        );
    }
    why
}

/// Runs `scripts/sbml_check.py COMMAND` on `jobs`; its standard output.
fn check(command: &str, dir: &Path, jobs: &serde_json::Value) -> String {
    let file = dir.join(format!("{command}_jobs.json"));
    std::fs::write(&file, serde_json::to_vec(jobs).unwrap()).unwrap();
    let o = Command::new("python3")
        .arg(repo().join("scripts/sbml_check.py"))
        .arg(command)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "sbml_check.py {command} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// libSBML's checks with units on: no message of any severity on any
/// exported model of any shipped body study.
#[test]
fn libsbml_finds_every_export_consistent_or_skip() {
    if tools_missing(&["libsbml"]).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    for (name, study) in body_studies() {
        for m in sbml::export(&study).unwrap() {
            let path = dir.path().join(format!("{name}_{}", m.file_name));
            std::fs::write(&path, &m.xml).unwrap();
            jobs.push(serde_json::json!({ "sbml": path }));
        }
    }
    let out = check("consistency", dir.path(), &serde_json::Value::Array(jobs));
    let mut files = 0;
    for line in out.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        files += 1;
        let messages = r["messages"].as_array().unwrap();
        assert!(messages.is_empty(), "{}: {messages:#?}", r["sbml"]);
    }
    println!("libSBML: {files} models, no error and no warning");
    assert!(files >= 15, "{files} models checked");
}

/// One arm simulated by exosim at the tight tolerances: the species
/// amounts at the output times (rows) and the arm's total input.
fn exosim_course(study: &Study, arm: usize) -> (Vec<Vec<f64>>, f64) {
    let plan = study.plan();
    let arm = &plan.arms[arm];
    let model = pbpk::build(&plan, arm);
    let tol = tolerances(&plan, arm, &model);
    let traj = network::simulate(
        &model.network,
        &model.events,
        plan.output_times,
        plan.duration,
        &tol,
        |_| {},
    )
    .unwrap();
    let input: f64 = arm
        .classes()
        .iter()
        .map(|&c| {
            let (d, r) = arm.input_by(c, plan.duration);
            d + r
        })
        .sum();
    (traj.states().map(<[f64]>::to_vec).collect(), input)
}

/// The study with both solvers' tolerances tightened.
fn tight(mut study: Study) -> Study {
    study.solver.rtol = RTOL;
    study.solver.atol_fraction = ATOL_FRACTION;
    study
}

/// Simulates every arm of `studies` with `tool` (`roadrunner` or `copasi`)
/// and compares each species at each output time with exosim: the
/// difference relative to the species' peak over the run (a species that
/// is never reached must stay within 1e-12 of the arm's input). Returns the
/// worst relative difference, after printing it per arm.
fn compare(tool: &str, studies: &[(String, Study)], atol_of_input: f64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut jobs = Vec::new();
    let mut expected = Vec::new();
    for (name, study) in studies {
        for (i, m) in sbml::export(study).unwrap().into_iter().enumerate() {
            let (course, input) = exosim_course(study, i);
            if m.species.is_empty() {
                // An untreated arm: nothing moves in either model, and
                // there is nothing for the tool to integrate.
                assert!(course.iter().all(Vec::is_empty), "{name}/{}", m.arm);
                continue;
            }
            let path = dir.path().join(format!("{name}_{}", m.file_name));
            std::fs::write(&path, &m.xml).unwrap();
            let out = dir.path().join(format!("{name}_{}.csv", m.arm));
            jobs.push(serde_json::json!({
                "sbml": path, "times": study.output_times, "species": m.species,
                "rtol": RTOL, "atol": atol_of_input * input, "out": out,
            }));
            expected.push((format!("{name}/{}", m.arm), course, input, out));
        }
    }
    check(tool, dir.path(), &serde_json::Value::Array(jobs));
    let mut worst: f64 = 0.0;
    for (label, course, input, out) in expected {
        let theirs = read_csv(&out);
        assert_eq!(theirs.len(), course.len(), "{label}: rows");
        let mut arm_worst: f64 = 0.0;
        for j in 0..course[0].len() {
            let peak = course.iter().map(|r| r[j].abs()).fold(0.0, f64::max);
            let scale = if peak > 0.0 { peak } else { 1e6 * input };
            for (k, (a, b)) in course.iter().zip(&theirs).enumerate() {
                let d = (a[j] - b[j]).abs() / scale;
                assert!(
                    d <= AGREE,
                    "{label}: species {j} at row {k}: exosim {} {tool} {} ({d:e} of its peak)",
                    a[j],
                    b[j]
                );
                arm_worst = arm_worst.max(d);
            }
        }
        println!(
            "{tool} vs exosim, {label}: worst difference {arm_worst:.2e} of the species' peak"
        );
        worst = worst.max(arm_worst);
    }
    worst
}

fn read_csv(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect()
}

/// libRoadRunner (CVODE, rtol 1e-10) on every arm of every shipped body
/// study agrees with exosim (BDF, rtol 1e-10) within 1e-6 of each
/// species' peak at every output time.
#[test]
fn roadrunner_matches_exosim_on_every_body_study_or_skip() {
    if tools_missing(&["roadrunner"]).is_some() {
        return;
    }
    let studies: Vec<(String, Study)> = body_studies()
        .into_iter()
        .map(|(n, s)| (n, tight(s)))
        .collect();
    let worst = compare("roadrunner", &studies, 1e-14);
    println!("roadrunner: worst difference {worst:.2e}");
}

/// COPASI (LSODA through basico, rtol 1e-10) on the mouse and human
/// studies, [`EVERY_MECHANISM`] and [`EVERY_DRUG`] agrees with exosim as
/// libRoadRunner does.
#[test]
fn copasi_matches_exosim_on_mouse_human_and_every_mechanism_or_skip() {
    if tools_missing(&["basico"]).is_some() {
        return;
    }
    let studies: Vec<(String, Study)> = body_studies()
        .into_iter()
        .filter(|(n, _)| {
            [
                "mouse_iv_bolus",
                "human_iv_infusion",
                "every_mechanism",
                "every_drug",
            ]
            .contains(&n.as_str())
        })
        .map(|(n, s)| (n, tight(s)))
        .collect();
    assert_eq!(studies.len(), 4);
    let worst = compare("copasi", &studies, 1e-14);
    println!("copasi: worst difference {worst:.2e}");
}
