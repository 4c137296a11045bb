//! The output folder of a fit (a maximum-likelihood calibration or an
//! ABC-SMC posterior): prepared for a resumable run, and the lines that
//! end a command.

use std::path::Path;
use std::process::ExitCode;

use exosim::output::{self, Manifest, Reuse, Writer};

use crate::RunOpts;

/// Prints `message` as the command's error.
pub fn fail(message: String) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(1)
}

/// Prepares `dir` for a fit that saves its progress in `state` and
/// writes `files`: resumed when the folder holds this command's state
/// (or with `--resume`), replaced with `--force`, refused otherwise.
pub fn prepare_fit(
    dir: &Path,
    opts: &RunOpts,
    state: &str,
    files: Vec<String>,
) -> Result<(), ExitCode> {
    let ours = Manifest::read(dir)
        .ok()
        .flatten()
        .is_some_and(|m| m.written_by == Writer::Campaign);
    let reuse = if opts.force {
        Reuse::Replace
    } else if opts.resume || (ours && dir.join(state).is_file()) {
        Reuse::Resume
    } else {
        Reuse::Refuse
    };
    output::prepare_output(dir, reuse).map_err(|e| fail(e.to_string()))?;
    let mut planned = vec![state.to_string()];
    planned.extend(files);
    Manifest::new(Writer::Campaign, planned)
        .write(dir)
        .map_err(|e| fail(e.to_string()))
}
