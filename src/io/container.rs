//! The one file container of `.mbix` (index), `.mbca` (the page's catalogue asset) and `.mbdocs`
//! (the user's documents): magic (4 bytes), u32 format version, u32 header length, JSON header,
//! u64 payload length, payload, then sha256 over everything before it. All integers little-endian.
//!
//! Reading checks, in this order, magic, version and checksum, so that a foreign file, a file of a
//! newer build and a damaged file each get their own error ([`Error::NotOurFile`],
//! [`Error::UnsupportedVersion`], [`Error::Damaged`]).
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{format_err, Error, Result};

/// What distinguishes one kind of container file from another.
#[derive(Debug, Clone, Copy)]
pub struct FileKind {
    pub magic: &'static [u8; 4],
    pub version: u32,
    /// How errors call it: "index file", "catalogue asset", "documents file".
    pub name: &'static str,
    /// What to do when the file cannot be used (rebuild, re-export …).
    pub fix: &'static str,
}

const FIXED: usize = 4 + 4 + 4 + 8 + 32;

/// The container bytes for `header` and `payload`.
pub fn write<H: Serialize>(kind: &FileKind, header: &H, payload: &[u8]) -> Result<Vec<u8>> {
    let header = serde_json::to_vec(header).map_err(|e| format_err!("{} header: {e}", kind.name))?;
    let mut out = Vec::with_capacity(header.len() + payload.len() + FIXED);
    out.extend_from_slice(kind.magic);
    out.extend_from_slice(&kind.version.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let sum = Sha256::digest(&out);
    out.extend_from_slice(&sum);
    Ok(out)
}

/// The verified header and payload of a container; `what` names the file in errors (a path, a file
/// name or a label).
pub fn read<'a, H: DeserializeOwned>(kind: &FileKind, bytes: &'a [u8], what: &str) -> Result<(H, &'a [u8])> {
    read_checked(kind, bytes, what, true)
}

/// [`read`] without the checksum, for bytes whose whole-file sha256 was already checked against a
/// trusted list (the page's bundle loader checks every file against its manifest): a second hash in
/// wasm cost ~230 ms of a cached page start for a 6.8 MB catalogue asset (measured in Chromium).
pub fn read_verified<'a, H: DeserializeOwned>(kind: &FileKind, bytes: &'a [u8], what: &str) -> Result<(H, &'a [u8])> {
    read_checked(kind, bytes, what, false)
}

fn read_checked<'a, H: DeserializeOwned>(kind: &FileKind, bytes: &'a [u8], what: &str, checksum: bool) -> Result<(H, &'a [u8])> {
    if bytes.len() < FIXED || &bytes[..4] != kind.magic {
        return Err(Error::NotOurFile { what: what.into(), kind: kind.name });
    }
    let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if version != kind.version {
        return Err(Error::UnsupportedVersion { what: what.into(), found: version, supported: kind.version, fix: kind.fix.into() });
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if checksum && Sha256::digest(body).as_slice() != sum {
        return Err(Error::damaged(what, "checksum mismatch", kind.fix));
    }
    let truncated = |part: &str| Error::damaged(what, format!("{part} truncated"), kind.fix);
    let hlen = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")) as usize;
    // lengths come from the file: checked arithmetic, so a huge one is "truncated", never a wrapped slice
    let header = body.get(12..12 + hlen).ok_or_else(|| truncated("header"))?;
    let header: H = serde_json::from_slice(header).map_err(|e| Error::damaged(what, format!("header: {e}"), kind.fix))?;
    let p = 12 + hlen;
    let plen = u64::from_le_bytes(body.get(p..p + 8).ok_or_else(|| truncated("payload length"))?.try_into().expect("8 bytes")) as usize;
    let payload = (p + 8).checked_add(plen).and_then(|end| body.get(p + 8..end)).ok_or_else(|| truncated("payload"))?;
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: FileKind = FileKind { magic: b"TEST", version: 3, name: "test file", fix: "make it again" };

    #[test]
    fn round_trip_and_each_failure_has_its_own_error() {
        let bytes = write(&KIND, &vec![1u32, 2], b"payload").unwrap();
        let (h, p): (Vec<u32>, &[u8]) = read(&KIND, &bytes, "t.bin").unwrap();
        assert_eq!((h, p), (vec![1, 2], &b"payload"[..]));

        let e = read::<Vec<u32>>(&KIND, b"PK\x03\x04 something else entirely, long enough", "t.bin").unwrap_err();
        assert!(matches!(e, Error::NotOurFile { .. }), "{e}");
        assert!(e.to_string().contains("magic"));
        let other = FileKind { version: 4, ..KIND };
        let e = read::<Vec<u32>>(&other, &bytes, "t.bin").unwrap_err();
        assert!(matches!(e, Error::UnsupportedVersion { found: 3, supported: 4, .. }), "{e}");
        let mut bad = bytes.clone();
        bad[14] ^= 1;
        let e = read::<Vec<u32>>(&KIND, &bad, "t.bin").unwrap_err();
        assert!(matches!(e, Error::Damaged { .. }) && e.to_string().contains("damaged") && e.to_string().contains("make it again"), "{e}");
        assert!(read::<Vec<u32>>(&KIND, &bytes[..bytes.len() / 2], "t.bin").is_err());
    }

    #[test]
    fn verified_reading_skips_only_the_checksum() {
        let bytes = write(&KIND, &vec![7u32], b"payload").unwrap();
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1; // the stored checksum: read refuses, read_verified trusts the caller's check
        assert!(matches!(read::<Vec<u32>>(&KIND, &flipped, "t.bin").unwrap_err(), Error::Damaged { .. }));
        let (h, p): (Vec<u32>, &[u8]) = read_verified(&KIND, &flipped, "t.bin").unwrap();
        assert_eq!((h, p), (vec![7], &b"payload"[..]));
        // magic, version and lengths are still checked
        assert!(matches!(
            read_verified::<Vec<u32>>(&KIND, b"PK\x03\x04 something else entirely, long enough", "t.bin").unwrap_err(),
            Error::NotOurFile { .. }
        ));
        let other = FileKind { version: 4, ..KIND };
        assert!(matches!(read_verified::<Vec<u32>>(&other, &bytes, "t.bin").unwrap_err(), Error::UnsupportedVersion { .. }));
        let mut long = bytes.clone();
        let p = 12 + u32::from_le_bytes(long[8..12].try_into().unwrap()) as usize;
        long[p..p + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(read_verified::<Vec<u32>>(&KIND, &long, "t.bin").unwrap_err().to_string().contains("truncated"));
    }
}
