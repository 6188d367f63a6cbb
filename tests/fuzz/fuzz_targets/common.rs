//! Shared by the fuzz targets: container re-sealing (so mutations reach the parsers behind the
//! checksum), a tiny catalogue asset, and a scratch file for the path-based readers.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use medbridge::catalog::{asset, Catalog, CatalogEntry};
use medbridge::retrieve::index::IndexBuilder;

use sha2::{Digest, Sha256};

/// Bytes of the container's fixed parts: magic, version, header length, payload length, sha256.
const FIXED: usize = 4 + 4 + 4 + 8 + 32;

/// How a target feeds a container file (`.mbix`, `.mbca`, `.mbdocs`) to its parser, chosen by the
/// input's first byte: as is (the checksum stops most mutations, as it should), or with the trailing
/// sha256 recomputed so that the header and payload parsers see every mutation; `inflate` also
/// deflates the payload first (the catalogue asset stores it deflated; its seeds hold it raw).
pub fn container_input(data: &[u8], deflate_payload: bool) -> Option<Vec<u8>> {
    let (&mode, rest) = data.split_first()?;
    match mode % 3 {
        0 => Some(rest.to_vec()),
        1 => Some(reseal(rest.to_vec())),
        _ if deflate_payload => deflated(rest).map(reseal),
        _ => Some(reseal(rest.to_vec())),
    }
}

/// Recompute the trailing sha256 over everything before it.
pub fn reseal(mut v: Vec<u8>) -> Vec<u8> {
    if v.len() >= FIXED {
        let n = v.len() - 32;
        let sum = Sha256::digest(&v[..n]);
        v[n..].copy_from_slice(&sum);
    }
    v
}

/// The container `raw` with its payload deflated (and lengths fixed), if its layout holds together.
fn deflated(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() < FIXED {
        return None;
    }
    let hlen = u32::from_le_bytes(raw[8..12].try_into().ok()?) as usize;
    let p = 12usize.checked_add(hlen)?;
    let plen = u64::from_le_bytes(raw.get(p..p + 8)?.try_into().ok()?) as usize;
    let payload = raw.get(p + 8..(p + 8).checked_add(plen)?)?;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(payload).ok()?;
    let packed = enc.finish().ok()?;
    let mut out = raw[..p].to_vec();
    out.extend_from_slice(&(packed.len() as u64).to_le_bytes());
    out.extend_from_slice(&packed);
    out.extend_from_slice(&[0u8; 32]);
    Some(out)
}

/// A scratch file of this process for the readers that take a path.
pub fn scratch_file(bytes: &[u8], ext: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("medbridge-fuzz-{}.{ext}", std::process::id()));
    std::fs::write(&p, bytes).expect("writing the scratch file");
    p
}

/// Little-endian f32s from `bytes`, `n` of them (zero-padded).
pub fn floats(bytes: &[u8], n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let mut b = [0u8; 4];
            for (j, x) in b.iter_mut().enumerate() {
                *x = bytes.get(i * 4 + j).copied().unwrap_or(0);
            }
            f32::from_le_bytes(b)
        })
        .collect()
}

/// A deterministic unit vector of `dim` dimensions.
pub fn unit(i: usize, dim: usize) -> Vec<f32> {
    let v: Vec<f32> = (0..dim).map(|j| (((i * 31 + j * 17) % 13) as f32 - 6.0) / 6.0).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    v.into_iter().map(|x| x / n).collect()
}

/// A tiny `catalog.mbca`: 12 codes under 3 categories (R50–R52), Spanish and English descriptions, an
/// inclusion term each, a Spanish index of 8 dimensions.
pub fn tiny_catalog_asset() -> Vec<u8> {
    let entry = |code: &str, parent: Option<&str>, descs: &[(&str, String)]| CatalogEntry {
        code: code.into(),
        parent: parent.map(Into::into),
        level: code.chars().filter(|c| *c != '.').count() as u8,
        descriptions: descs.iter().map(|(l, d)| (l.to_string(), d.clone())).collect::<BTreeMap<_, _>>(),
        inclusion_terms: vec!["headache NOS".into()],
    };
    let (mut entries, mut ids, mut texts) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..3 {
        let cat = format!("R{}", 50 + c);
        entries.push(entry(&cat, None, &[("en", format!("category {cat}")), ("es", format!("categoría {cat}"))]));
        for s in 0..4 {
            let code = format!("{cat}.{s}");
            let es = format!("dolor de cabeza tipo {s} ({cat})");
            entries.push(entry(&code, Some(&cat), &[("es", es.clone()), ("en", format!("headache type {s}"))]));
            ids.push(code);
            texts.push(es);
        }
    }
    let vectors: Vec<Vec<f32>> = (0..ids.len()).map(|i| unit(i + 3, 8)).collect();
    let index = IndexBuilder::default().build("fuzz-model", "icd10:es", "passage", ids, texts, vectors).expect("tiny index");
    asset::build(&index, &Catalog { entries }).expect("tiny asset").0
}
