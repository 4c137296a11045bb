//! Atomic file writing and output-directory preparation.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::OutputError;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_err(path: &Path, source: io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `path` so that readers (and a crash) see either the old content or
/// the complete new content, never a half-written file.
///
/// The content goes to a hidden temporary file (`.<name>.<id>.tmp`) in the
/// same directory — same file system, so the final rename is atomic — which
/// is flushed and fsynced before being renamed over `path`. On any error
/// (or a panic in `write`) the temporary file is removed and `path` is left
/// untouched.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), OutputError> {
    write_atomic_file(path, |file| {
        let mut buf = BufWriter::new(file);
        write(&mut buf)
            .and_then(|()| buf.flush())
            .map_err(|e| io_err(path, e))
    })
}

/// Serializes `value` as pretty JSON with a trailing newline, atomically.
///
/// The value is serialized in memory first so that a serialization failure is
/// reported as [`OutputError::Json`] and never touches the disk.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), OutputError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| OutputError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomic(path, |w| w.write_all(&bytes))
}

/// Removes the temporary file on drop unless disarmed, so that errors and
/// panics alike leave no debris behind.
struct TempGuard {
    path: Option<PathBuf>,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// The engine behind [`write_atomic`], handing the writer a real [`File`]
/// (which is `Send`, as the Parquet writer requires). `write` must report its
/// own errors with the target path.
pub(crate) fn write_atomic_file(
    path: &Path,
    write: impl FnOnce(&mut File) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let file_name = path.file_name().ok_or_else(|| {
        io_err(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };

    let (mut file, tmp_path) = create_temp(dir, &file_name.to_string_lossy())?;
    let mut guard = TempGuard {
        path: Some(tmp_path.clone()),
    };

    write(&mut file)?;
    file.sync_all().map_err(|e| io_err(path, e))?;
    drop(file);
    fs::rename(&tmp_path, path).map_err(|e| io_err(path, e))?;
    guard.path = None;

    // Make the rename itself durable. Best effort: not every platform lets a
    // directory be opened and synced, and the data is already safe.
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a fresh hidden temporary file next to the target.
fn create_temp(dir: &Path, name: &str) -> Result<(File, PathBuf), OutputError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{pid}-{n}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err(&tmp, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::prepare_dir;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn prepare_missing_dir_creates_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        prepare_dir(&dir, false).unwrap();
        assert!(dir.is_dir());
    }

    #[test]
    fn prepare_empty_dir_is_fine() {
        let tmp = tempfile::tempdir().unwrap();
        prepare_dir(tmp.path(), false).unwrap();
        prepare_dir(tmp.path(), true).unwrap();
    }

    #[test]
    fn prepare_non_empty_dir_needs_force() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("old.csv"), "x").unwrap();
        let err = prepare_dir(tmp.path(), false).unwrap_err();
        assert!(matches!(&err, OutputError::NotEmpty { dir } if dir == tmp.path()));
        let msg = err.to_string();
        assert!(msg.contains("--force"), "{msg}");
        assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");

        prepare_dir(tmp.path(), true).unwrap();
        // Forcing keeps files that no exosim manifest lists.
        assert_eq!(names(tmp.path()), ["old.csv"]);
    }

    #[test]
    fn prepare_on_a_file_is_not_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, "x").unwrap();
        for force in [false, true] {
            let err = prepare_dir(&file, force).unwrap_err();
            assert!(matches!(&err, OutputError::NotADirectory { path } if path == &file));
            assert!(err.to_string().contains(&file.display().to_string()));
        }
    }

    #[test]
    fn failing_closure_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.json");
        let err = write_atomic(&target, |w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("boom"))
        })
        .unwrap_err();
        assert!(matches!(&err, OutputError::Io { path, .. } if path == &target));
        assert!(err.to_string().contains("boom"));
        assert!(names(tmp.path()).is_empty());
    }

    #[test]
    fn failing_closure_keeps_old_content() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.txt");
        fs::write(&target, "old").unwrap();
        write_atomic(&target, |_| Err(io::Error::other("boom"))).unwrap_err();
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(names(tmp.path()), ["out.txt"]);
    }

    #[test]
    fn panicking_closure_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.txt");
        let r = std::panic::catch_unwind(|| {
            let _ = write_atomic(&target, |_| panic!("boom"));
        });
        assert!(r.is_err());
        assert!(names(tmp.path()).is_empty());
    }

    #[test]
    fn overwrite_replaces_and_cleans_up() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("out.txt");
        fs::write(&target, "old content that is longer").unwrap();
        write_atomic(&target, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(names(tmp.path()), ["out.txt"]);
    }

    #[test]
    fn missing_parent_is_an_io_error_naming_a_path() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("nope/out.txt");
        let err = write_atomic(&target, |w| w.write_all(b"x")).unwrap_err();
        assert!(matches!(err, OutputError::Io { .. }));
        assert!(err.to_string().contains("nope"));
    }

    #[test]
    fn json_is_pretty_with_trailing_newline() {
        #[derive(serde::Serialize)]
        struct S {
            a: u32,
            b: Vec<f64>,
        }
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("s.json");
        write_json(
            &target,
            &S {
                a: 1,
                b: vec![0.5, 2.0],
            },
        )
        .unwrap();
        let text = fs::read_to_string(&target).unwrap();
        assert!(text.ends_with("}\n"), "{text:?}");
        assert!(text.contains("\n  \"a\": 1"), "{text:?}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["b"][1], 2.0);
        assert_eq!(names(tmp.path()), ["s.json"]);
    }

    #[test]
    fn json_error_names_path_and_writes_nothing() {
        use std::collections::HashMap;
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("bad.json");
        // Non-string map keys cannot be JSON object keys.
        let m: HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let err = write_json(&target, &m).unwrap_err();
        assert!(matches!(&err, OutputError::Json { path, .. } if path == &target));
        assert!(names(tmp.path()).is_empty());
    }
}
