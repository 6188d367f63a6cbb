//! `catalog.mbca`, the page's catalogue asset: container, deflate, bincode payload, int8 graph — then a search.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;
use medbridge::catalog::asset::CatalogAsset;
use medbridge::retrieve::search::QueryInput;
use medbridge::retrieve::Method;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = common::container_input(data, true) else { return };
    if let Ok(asset) = CatalogAsset::from_bytes(&bytes, None) {
        let q = common::floats(data, asset.meta.dim.min(4096));
        for method in [Method::Dense, Method::Hybrid, Method::Bm25] {
            let _ = asset.search(&QueryInput { text: "dolor de cabeza", vector: Some(&q) }, method, 10, "es");
        }
    }
});
