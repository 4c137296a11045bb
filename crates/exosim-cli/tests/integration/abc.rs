//! `exosim run CAMPAIGN` for an ABC-SMC calibration: `validate` describes
//! it, a run prints the generations and posteriors and writes its files
//! and page, `--shard` is refused, and a finished folder is not
//! overwritten without `--force`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{exosim, repo_root, stderr, stdout};

/// The shipped spheroid campaign with 10 particles and one generation,
/// in `dir`.
fn small_campaign(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(repo_root().join("campaigns/spheroid_growth_abc.toml"))
        .unwrap()
        .replace(
            "../studies/",
            &format!("{}/", repo_root().join("studies").display()),
        )
        .replace(
            "../data/",
            &format!("{}/", repo_root().join("data").display()),
        )
        .replace("population = 200", "population = 10")
        .replace("generations = 5", "generations = 1");
    let path = dir.join("abc.toml");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_abc_campaign_validates_runs_and_writes_its_page() {
    let tmp = tempfile::tempdir().unwrap();
    let campaign = small_campaign(tmp.path());
    let check = exosim(["validate".as_ref(), campaign.as_os_str()]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("valid ABC-SMC calibration `spheroid_growth_abc`"),
        "{}",
        stdout(&check)
    );
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "run".as_ref(),
            campaign.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "-q".as_ref(),
        ];
        args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
        exosim(args)
    };
    let first = run(&["--report"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert!(
        text.contains("ABC-SMC `spheroid_growth_abc`: 2 data row(s), 10 particles"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("tissue.cell_types.tumour.division_time")),
        "{text}"
    );
    for f in [
        "abc.json",
        "abc_posterior.csv",
        "abc_generations.csv",
        "abc_fit.csv",
        "summary.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let page = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("ABC-SMC calibration `spheroid_growth_abc`"));
    assert!(page.contains("Posteriors") && page.contains("Tolerance"));
    // A finished folder is not overwritten without --force.
    let again = run(&[]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    // Shards do not apply.
    let shard = run(&["--shard", "1/2", "--force"]);
    assert!(!shard.status.success());
    assert!(
        stderr(&shard).contains("--shard does not apply to ABC-SMC"),
        "{}",
        stderr(&shard)
    );
}

/// A damaged posterior table is refused by the report with the file
/// named, and nothing is written.
#[test]
fn the_abc_page_refuses_a_damaged_posterior() {
    let tmp = tempfile::tempdir().unwrap();
    let campaign = small_campaign(tmp.path());
    let out = tmp.path().join("out");
    let run = exosim([
        "run".as_ref(),
        campaign.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let posterior = out.join("abc_posterior.csv");
    let text = fs::read_to_string(&posterior).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let cells: Vec<&str> = lines[1].split(',').collect();
    let broken = format!("{},-0.5,{}", cells[0], cells[2..].join(","));
    lines[1] = broken;
    fs::write(&posterior, lines.join("\n") + "\n").unwrap();
    let report = exosim(["report".as_ref(), out.as_os_str()]);
    assert!(!report.status.success());
    assert!(
        stderr(&report).contains("abc_posterior.csv"),
        "{}",
        stderr(&report)
    );
    assert!(!out.join("report.html").exists());
}
