//! The document parsers and the chunker (`.txt`, `.md`, `.csv`, `.json`, `.jsonl`), as the page runs them on a
//! file the user drops in. Input: file type, two chunking bytes (max words, overlap), then the file's text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medbridge::documents::{chunk, parse_file, ChunkOptions};

const NAMES: [&str; 6] = ["note.txt", "guide.md", "table.csv", "records.json", "rows.jsonl", "odd.pdf"];

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let name = NAMES[data[0] as usize % NAMES.len()];
    // the page's default is 120/30; small values stress the packing and overlap logic
    let opts = ChunkOptions { max_words: 1 + data[1] as usize % 160, overlap_words: data[2] as usize % 64 };
    let text = String::from_utf8_lossy(&data[3..]);
    if let Ok(passages) = parse_file(name, &text, opts) {
        assert!(!passages.is_empty());
    }
    let _ = chunk("title", &text, opts);
});
