//! `.mbix` index files (`medbridge index`): container, header, bincode payload, HNSW graph — then a search.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;
use medbridge::retrieve::index::Index;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = common::container_input(data, false) else { return };
    if let Ok(index) = Index::from_bytes(&bytes, None) {
        let q = common::floats(data, index.meta.dim.min(4096));
        let _ = index.search(&q, 10);
        let _ = index.vectors();
    }
});
