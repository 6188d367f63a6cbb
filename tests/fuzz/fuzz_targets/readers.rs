//! The evaluation and training readers of outside files: BEIR corpus and queries (JSONL), qrels (TSV),
//! TREC runs, training pairs (JSONL). First byte picks the reader.
#![no_main]
mod common;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    match which % 5 {
        0 => drop(medbridge::corpus::read_corpus(common::scratch_file(rest, "jsonl"))),
        1 => drop(medbridge::corpus::read_queries(common::scratch_file(rest, "jsonl"))),
        2 => drop(medbridge::corpus::read_qrels(common::scratch_file(rest, "tsv"))),
        3 => drop(medbridge::eval::read_trec_run(common::scratch_file(rest, "trec"))),
        _ => drop(medbridge::synth::read_jsonl(&common::scratch_file(rest, "jsonl"))),
    }
});
