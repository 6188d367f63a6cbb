//! The tokenizer on arbitrary UTF-8: the real XLM-R tokenizer when $MEDBRIDGE_FUZZ_TOKENIZER names its
//! `tokenizer.json` (scripts/fuzz.sh does), else a tiny one. Single texts, pairs (the reranker's input), limits.
#![no_main]
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use medbridge::text::tokenize::{letters_tokenizer, Tokenizer};

static TOKENIZER: LazyLock<Tokenizer> = LazyLock::new(|| match std::env::var_os("MEDBRIDGE_FUZZ_TOKENIZER") {
    Some(p) => Tokenizer::load(std::path::Path::new(&p)).expect("MEDBRIDGE_FUZZ_TOKENIZER: a tokenizer.json"),
    None => letters_tokenizer(),
});

fuzz_target!(
    // Loaded before fuzzing starts: parsing the 6 MB tokenizer.json under AddressSanitizer takes seconds
    // and must not count against the first input's timeout (a starved machine once took over 10 s).
    init: {
        LazyLock::force(&TOKENIZER);
    },
    |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let tok = &*TOKENIZER;
    if let Ok(t) = tok.encode(text) {
        let _ = tok.pieces(&t.ids);
    }
    let limit = data.first().map_or(8, |&b| b as usize);
    if let Ok(t) = tok.encode_with_limit(text, limit) {
        assert!(t.ids.len() <= limit.max(2), "{} tokens for a limit of {limit}", t.ids.len());
    }
    let (a, b) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    let _ = tok.encode_pair_with_limit(a, b, limit);
});
