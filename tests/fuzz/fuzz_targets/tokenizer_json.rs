//! `tokenizer.json` as the page reads it from its bundle (pieces, scores, normalisation table).
#![no_main]
use libfuzzer_sys::fuzz_target;
use medbridge::text::tokenize::Tokenizer;

fuzz_target!(|data: &[u8]| {
    if let Ok(tok) = Tokenizer::from_json_bytes(data) {
        let _ = tok.encode_with_limit("Dolor torácico opresivo, ¿desde cuándo?", 32);
        let _ = tok.vocab_size();
    }
});
