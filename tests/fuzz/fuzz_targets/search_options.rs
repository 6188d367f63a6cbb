//! The page's search call: options object (JSON) and query text, on a tiny catalogue asset.
//! Input: query text, a 0xFF byte, options JSON, then the query vector's bytes after a second 0xFF.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;
use medbridge::catalog::asset::CatalogAsset;
use medbridge::retrieve::search::QueryInput;
use medbridge::retrieve::SearchOptions;

thread_local! {
    // the page's engine lives in one worker thread too (the asset's BM25 is built on first use, not Sync)
    static ASSET: CatalogAsset = CatalogAsset::from_bytes(&common::tiny_catalog_asset(), None).expect("the tiny asset loads");
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xFF);
    let query = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(parts.next().unwrap_or_default()) else { return };
    let Ok(o) = SearchOptions::from_json(&json) else { return };
    assert!((1..=100).contains(&o.k));
    ASSET.with(|asset| {
        let v = common::floats(parts.next().unwrap_or_default(), asset.meta.dim);
        if o.catalog {
            if let Ok(hits) = asset.search(&QueryInput { text: query.trim(), vector: Some(&v) }, o.method, o.k, &o.lang) {
                assert!(hits.len() <= o.k);
            }
        }
    });
});
