//! General text in each language, for deriving a vocabulary: the most frequent words of the `wordfreq`
//! package (PyPI, pinned by version and sha256; its word lists are built from Wikipedia, subtitles, news,
//! books, web text and social media). Read straight from the wheel: `wordfreq/data/large_<lang>.msgpack.gz`,
//! a gzipped msgpack list whose first item is a header and whose following items are frequency bins
//! (each a list of words, most frequent bin first).
use std::io::Read;
use std::path::Path;

use crate::io::pypi::{fetch_pinned, read_wheel_member};
use crate::{format_err, Result};

pub const REQUIREMENT: &str = "wordfreq==3.1.1";
pub const SHA256: &str = "4b1c6ecffc6198be3396d5cf871c4423ca71c907c231348d352dd54d62b97473";
/// The languages MedBridge serves; wordfreq has a large list for each.
pub const LANGUAGES: [&str; 6] = ["en", "es", "ca", "it", "pt", "fr"];

/// The `n` most frequent words of `lang`, most frequent first (ties in wordfreq's order).
pub fn top_words(wheel: &Path, lang: &str, n: usize) -> Result<Vec<String>> {
    let member = format!("wordfreq/data/large_{lang}.msgpack.gz");
    let packed = read_wheel_member(wheel, &member)?;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut raw).map_err(|e| format_err!("{member}: not gzip: {e}"))?;
    let items: Vec<serde_json::Value> = rmp_serde::from_slice(&raw).map_err(|e| format_err!("{member}: not a msgpack list: {e}"))?;
    let header = items.first().and_then(|h| h.get("format")).and_then(|f| f.as_str());
    if header != Some("cB") {
        return Err(format_err!("{member}: header format {header:?}, expected \"cB\" (a newer wordfreq layout?)"));
    }
    let words = items[1..].iter().filter_map(|bin| bin.as_array()).flatten().filter_map(|w| w.as_str()).take(n);
    Ok(words.map(str::to_string).collect())
}

/// Download (once, into `cache_dir`) and verify the pinned wheel; its path.
pub fn fetch(cache_dir: &Path) -> Result<std::path::PathBuf> {
    fetch_pinned(REQUIREMENT, SHA256, cache_dir)
}
