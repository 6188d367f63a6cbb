//! The page's model bundle: `manifest.json` (file list, sizes, sha256) and `weights.gguf`; first byte picks which.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medbridge::model::bundle::{read_gguf_bytes, Manifest};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    if which % 2 == 0 {
        if let Ok(tensors) = read_gguf_bytes(rest) {
            for t in &tensors {
                // what the loader does next with a tensor: its element count and f32 values
                if t.bytes.len() <= 1 << 20 {
                    let _ = t.to_f32();
                }
            }
        }
    } else if let Ok(m) = Manifest::from_json_bytes(rest) {
        let _ = (m.total_bytes(), m.file("weights.gguf"));
    }
});
