//! Saved states of long runs, so that an interrupted run can resume.
//!
//! A run that may last long keeps its resumable state in
//! `DIR/.exosim-resume/`: the resolved study it belongs to (`study.json`)
//! and one file per unit of work (a tissue replicate), each replaced
//! atomically as the unit advances. `exosim run … --resume` reopens the
//! store, checks that the study is byte-for-byte the one that was
//! interrupted, and hands every unit its latest saved state. Units restart
//! at a step boundary with randomness keyed by (seed, step), so a resumed
//! run writes the same bytes as an uninterrupted one. The store is removed
//! once the run's outputs are written.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::atomic::{io_err, write_atomic};
use super::error::OutputError;

/// Name of the store inside an output directory.
pub const RESUME_DIR: &str = ".exosim-resume";
const STUDY_FILE: &str = "study.json";
/// First bytes of every saved state: a format tag, so that a state written
/// by another layout is refused rather than misread.
const MAGIC: &[u8; 8] = b"exoSTv01";

/// Why a saved state cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// `--resume` was asked for, but the directory holds no saved run.
    #[error(
        "`{}` holds no interrupted run to resume (no `{RESUME_DIR}/{STUDY_FILE}`); run without --resume",
        .dir.display()
    )]
    NothingToResume {
        /// The output directory.
        dir: PathBuf,
    },
    /// The saved run was of another study, seed or exosim version.
    #[error(
        "the interrupted run in `{}` was of a different study, seed or exosim version; run without --resume (with --force) to start afresh",
        .dir.display()
    )]
    StudyChanged {
        /// The output directory.
        dir: PathBuf,
    },
    /// A saved state could not be decoded.
    #[error("saved state `{}` is unreadable ({message}); delete it to restart that part", .path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
}

/// The resumable states of one run.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    dir: PathBuf,
}

impl Checkpoints {
    /// Opens the store of `out_dir` for the study described by `study_json`
    /// (the resolved study with its seed and the exosim version: anything
    /// whose change would change the results).
    ///
    /// With `resume`, the store must exist and hold the same study; its
    /// states are kept. Without, any previous store is discarded.
    pub fn open(out_dir: &Path, study_json: &str, resume: bool) -> Result<Self, CheckpointError> {
        let dir = out_dir.join(RESUME_DIR);
        let study_path = dir.join(STUDY_FILE);
        if resume {
            let saved = match fs::read_to_string(&study_path) {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(CheckpointError::NothingToResume {
                        dir: out_dir.to_path_buf(),
                    });
                }
                Err(e) => return Err(io_err(&study_path, e).into()),
            };
            if saved != study_json {
                return Err(CheckpointError::StudyChanged {
                    dir: out_dir.to_path_buf(),
                });
            }
            return Ok(Checkpoints { dir });
        }
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&dir, e).into()),
        }
        fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        write_atomic(&study_path, |w| w.write_all(study_json.as_bytes()))?;
        Ok(Checkpoints { dir })
    }

    /// Whether `out_dir` holds an interrupted run's store.
    pub fn exists(out_dir: &Path) -> bool {
        out_dir.join(RESUME_DIR).join(STUDY_FILE).is_file()
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.state"))
    }

    /// Replaces the saved state of unit `key`, atomically: a crash leaves
    /// the previous state or the new one, never a mixture.
    pub fn save<T: Serialize>(&self, key: &str, state: &T) -> Result<(), CheckpointError> {
        let path = self.path(key);
        let bytes =
            postcard::to_extend(state, MAGIC.to_vec()).map_err(|e| CheckpointError::Corrupt {
                path: path.clone(),
                message: e.to_string(),
            })?;
        write_atomic(&path, |w| w.write_all(&bytes))?;
        Ok(())
    }

    /// The latest saved state of unit `key`, if any.
    pub fn load<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CheckpointError> {
        let path = self.path(key);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e).into()),
        };
        let corrupt = |message: String| CheckpointError::Corrupt {
            path: path.clone(),
            message,
        };
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("not a saved state of this exosim version".into()))?;
        let (state, rest) =
            postcard::take_from_bytes(body).map_err(|e: postcard::Error| corrupt(e.to_string()))?;
        if !rest.is_empty() {
            return Err(corrupt(format!("{} trailing bytes", rest.len())));
        }
        Ok(Some(state))
    }

    /// Removes the store: the run's outputs are written, nothing is left to
    /// resume.
    pub fn finish(self) -> Result<(), CheckpointError> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&self.dir, e).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct State {
        step: u64,
        xs: Vec<f32>,
        label: String,
    }

    fn state() -> State {
        State {
            step: 42,
            xs: vec![1.5, -0.25, f32::MIN_POSITIVE],
            label: "tumour".into(),
        }
    }

    #[test]
    fn saved_state_reads_back_identically() {
        let out = tempfile::tempdir().unwrap();
        let store = Checkpoints::open(out.path(), "{\"seed\":1}", false).unwrap();
        assert_eq!(store.load::<State>("a").unwrap(), None);
        store.save("a", &state()).unwrap();
        assert_eq!(store.load::<State>("a").unwrap(), Some(state()));
        // Reopened for resumption, the state is still there.
        let again = Checkpoints::open(out.path(), "{\"seed\":1}", true).unwrap();
        assert_eq!(again.load::<State>("a").unwrap(), Some(state()));
        again.finish().unwrap();
        assert!(!Checkpoints::exists(out.path()));
    }

    #[test]
    fn resume_refuses_another_study_or_no_store() {
        let out = tempfile::tempdir().unwrap();
        assert!(matches!(
            Checkpoints::open(out.path(), "{}", true),
            Err(CheckpointError::NothingToResume { .. })
        ));
        Checkpoints::open(out.path(), "{\"seed\":1}", false).unwrap();
        let err = Checkpoints::open(out.path(), "{\"seed\":2}", true).unwrap_err();
        assert!(matches!(err, CheckpointError::StudyChanged { .. }));
        assert!(err.to_string().contains("--resume"));
    }

    #[test]
    fn a_fresh_run_discards_old_states() {
        let out = tempfile::tempdir().unwrap();
        let store = Checkpoints::open(out.path(), "{}", false).unwrap();
        store.save("a", &state()).unwrap();
        let fresh = Checkpoints::open(out.path(), "{}", false).unwrap();
        assert_eq!(fresh.load::<State>("a").unwrap(), None);
    }

    #[test]
    fn damaged_states_are_reported_not_misread() {
        let out = tempfile::tempdir().unwrap();
        let store = Checkpoints::open(out.path(), "{}", false).unwrap();
        store.save("a", &state()).unwrap();
        let path = store.path("a");
        let bytes = fs::read(&path).unwrap();
        // Truncated.
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = store.load::<State>("a").unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
        // Another format.
        fs::write(&path, b"not a state").unwrap();
        assert!(store.load::<State>("a").is_err());
    }
}
