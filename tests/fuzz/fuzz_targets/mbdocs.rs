//! `.mbdocs`, the user's exported documents: container, header, bincode payload — then import and search,
//! as the page does with a file the user drops in.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;
use medbridge::documents::DocIndex;

const MODEL: &str = "fuzz-model";
const DIM: usize = 8;

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = common::container_input(data, false) else { return };
    let mut index = DocIndex::new(MODEL, DIM);
    if let Ok(docs) = index.read_export(&bytes, "fuzz.mbdocs") {
        if index.add(docs).is_ok() {
            let _ = index.search(&common::floats(data, DIM), 5);
            let _ = index.export(&[]);
        }
    }
});
