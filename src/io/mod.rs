//! Shared I/O: atomic writes (files and whole directories), checksums, the CSV reader, the
//! self-checking file container.
pub mod container;
pub mod csv;
#[cfg(not(target_arch = "wasm32"))]
pub mod pypi;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The sibling temporary name every atomic write goes through: `dir/.name.partial`.
fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e)),
        None => Ok(()),
    }
}

/// Write `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes).map_err(|e| Error::io(path, e)))
}

/// Write `path` (creating its directory) by streaming into a sibling temporary file through
/// `fill`, syncing it and renaming it into place, so a crash, a full disk or an error in `fill`
/// never leaves a half-written file where a good one was (the temporary file is removed).
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    create_parent(path)?;
    let tmp = partial_path(path);
    let written = (|| {
        // A partial file left by a killed run is replaced, never written through (it could be a
        // link or a pipe): remove it and create a fresh file.
        let _ = std::fs::remove_file(&tmp);
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let f = w.into_inner().map_err(|e| Error::io(&tmp, e.into_error()))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Build the directory `out` atomically: `fill` writes its files into a fresh sibling temporary
/// directory, every file is synced, then the temporary directory replaces `out` (a model or a
/// checkpoint is either the old one or the whole new one, never a mix).
pub fn write_dir_atomic<T>(out: &Path, fill: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    create_parent(out)?;
    recover_dir(out)?;
    let tmp = partial_path(out);
    if tmp.symlink_metadata().is_ok() {
        std::fs::remove_file(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let filled = fill(&tmp).and_then(|value| {
        for entry in std::fs::read_dir(&tmp).map_err(|e| Error::io(&tmp, e))? {
            let p = entry.map_err(|e| Error::io(&tmp, e))?.path();
            if p.is_file() {
                File::open(&p).and_then(|f| f.sync_all()).map_err(|e| Error::io(&p, e))?;
            }
        }
        Ok(value)
    });
    let value = match filled {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    // The old directory is renamed aside (not deleted file by file in place), the new one renamed
    // in, then the old one deleted: a kill at any point leaves either directory whole, and between
    // the two renames `out` is briefly missing with the old one at `.NAME.old`, which the next
    // write puts back (see [`recover_dir`]).
    let old = old_path(out);
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    if out.exists() {
        std::fs::rename(out, &old).map_err(|e| Error::io(out, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| Error::io(out, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(value)
}

/// Where [`write_dir_atomic`] keeps the replaced directory until the new one is in place.
fn old_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.old"))
}

/// After a kill during [`write_dir_atomic`]: put back a directory caught between its two renames
/// (`out` missing, `.NAME.old` whole) and delete what a killed run left (a `.NAME.partial`
/// directory, a `.NAME.old` that was already replaced).
pub fn recover_dir(out: &Path) -> Result<()> {
    let old = old_path(out);
    if old.is_dir() {
        if out.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        } else {
            std::fs::rename(&old, out).map_err(|e| Error::io(out, e))?;
        }
    }
    let tmp = partial_path(out);
    if tmp.is_dir() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_partial() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/a.txt");
        write_atomic(&p, b"good").unwrap();
        let e = write_atomic_with(&p, |w| {
            w.write_all(b"half").unwrap();
            Err(Error::Invalid("stop".into()))
        });
        assert!(e.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"good");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1, "no partial file left");
    }

    #[test]
    fn a_directory_is_replaced_whole_or_not_at_all() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("model");
        write_dir_atomic(&out, |t| write_atomic(&t.join("a"), b"1")).unwrap();
        let e = write_dir_atomic(&out, |t| {
            write_atomic(&t.join("b"), b"2")?;
            Err::<(), _>(Error::Invalid("stop".into()))
        });
        assert!(e.is_err());
        assert!(out.join("a").exists() && !out.join("b").exists());
        write_dir_atomic(&out, |t| write_atomic(&t.join("b"), b"2")).unwrap();
        assert!(!out.join("a").exists() && out.join("b").exists());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no partial directory left");
    }

    #[test]
    fn what_a_killed_write_left_is_cleaned_up_or_put_back() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("model");
        write_dir_atomic(&out, |t| write_atomic(&t.join("a"), b"1")).unwrap();
        // killed between the two renames: the old directory waits at .model.old, a partial beside it
        std::fs::rename(&out, d.path().join(".model.old")).unwrap();
        std::fs::create_dir(d.path().join(".model.partial")).unwrap();
        recover_dir(&out).unwrap();
        assert_eq!(std::fs::read(out.join("a")).unwrap(), b"1");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        // a stale partial file (even a link elsewhere) is replaced, not written through
        let f = d.path().join("f.txt");
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&victim, d.path().join(".f.txt.partial")).unwrap();
        write_atomic(&f, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        assert!(!d.path().join(".f.txt.partial").exists());
    }
}
