//! A smaller vocabulary: keep the XLM-R pieces that a set of texts uses, plus every single character of the
//! scripts our six languages (and clinical notation) are written in, drop the other rows of the word table
//! and renumber the tokenizer. Nothing else changes: a text whose pieces were all kept gets the same rows,
//! hence the same vector; any other word still splits into kept pieces (down to single characters, the
//! Unigram model's Viterbi search picks the best split among what is left), and only a character outside the
//! kept scripts becomes `<unk>` — never another piece's id. The vectors stay in the base model's space, so the
//! pruned model keeps its model id and existing indexes stay valid; `config.json` records the pruning.
use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::names::WORD_EMBEDDINGS;
use super::{ModelDir, ModelInfo, RawTensor, CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::text::tokenize::{Tokenizer, TokenizerData};
use crate::{format_err, Result};

/// Characters whose single-character pieces are always kept, so that any word written with them still
/// tokenizes: Latin (with every extension and diacritic block), Greek (clinical notation: α, β, μ), general
/// punctuation, super/subscripts, currency, letter-like symbols, number forms, arrows and mathematical operators.
pub fn is_fallback_char(c: char) -> bool {
    matches!(c as u32,
        0x0020..=0x024F      // Basic Latin … Latin Extended-B
        | 0x0250..=0x02FF    // IPA extensions, spacing modifiers (º-like marks)
        | 0x0300..=0x036F    // combining diacritics
        | 0x0370..=0x03FF    // Greek
        | 0x1E00..=0x1EFF    // Latin Extended Additional
        | 0x2000..=0x22FF    // punctuation, super/subscripts, currency, letter-like, number forms, arrows, maths
        | 0x2460..=0x24FF    // enclosed alphanumerics
        | 0x25A0..=0x25FF) // geometric shapes (bullets)
}

/// What `config.json` says about a pruned vocabulary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VocabPruning {
    /// Pieces of the base vocabulary, and kept.
    pub base_pieces: usize,
    pub kept_pieces: usize,
    /// sha256 (16 hex digits) of the kept base ids, in order.
    pub keep_sha256: String,
    /// Where the kept pieces came from (the command's description of its sources).
    pub derived_from: String,
}

/// The base ids to keep: the special tokens, every id the tokenizer gives `texts` (with the e5 prefixes
/// added, as the encoder adds them), and the single-character pieces of [`is_fallback_char`] characters
/// (plus `▁`, the word boundary).
pub fn kept_ids<'a>(tokenizer: &Tokenizer, texts: impl IntoIterator<Item = &'a str>) -> Result<BTreeSet<u32>> {
    let data = tokenizer.to_data();
    let mut keep: BTreeSet<u32> = [data.bos, data.eos, data.pad, data.unk].into_iter().collect();
    for (id, piece) in data.pieces.iter().enumerate() {
        let mut chars = piece.chars();
        let single = match (chars.next(), chars.next(), chars.next()) {
            (Some(c), None, _) => c == '▁' || is_fallback_char(c),
            (Some('▁'), Some(c), None) => is_fallback_char(c),
            _ => false,
        };
        if single {
            keep.insert(id as u32);
        }
    }
    keep.extend(tokenizer.encode("query: passage: ")?.ids);
    for text in texts {
        keep.extend(tokenizer.encode(text)?.ids);
    }
    Ok(keep)
}

/// The tokenizer restricted to `keep` (sorted base ids); new id = position in `keep`.
pub fn prune_tokenizer(tokenizer: &Tokenizer, keep: &[u32]) -> Result<Tokenizer> {
    let data = tokenizer.to_data();
    let new_id = |old: u32| {
        keep.binary_search(&old).map(|i| i as u32).map_err(|_| format_err!("vocabulary pruning: special token {old} is not kept"))
    };
    let mut pieces = Vec::with_capacity(keep.len());
    let mut scores = Vec::with_capacity(keep.len());
    for &id in keep {
        let i = id as usize;
        pieces.push(data.pieces.get(i).cloned().ok_or_else(|| format_err!("vocabulary pruning: id {id} outside the vocabulary"))?);
        scores.push(data.scores[i]);
    }
    Tokenizer::from_data(&TokenizerData {
        pieces,
        scores,
        bos: new_id(data.bos)?,
        eos: new_id(data.eos)?,
        pad: new_id(data.pad)?,
        unk: new_id(data.unk)?,
        normalization: data.normalization,
    })
}

/// The rows `keep` of a `[vocab, hidden]` table, in that order (quantised rows are copied as bytes: a row of
/// 384 values is whole blocks in Q4_0 and Q8_0).
pub fn prune_rows(table: &RawTensor, keep: &[u32]) -> Result<RawTensor> {
    let rows = *table.shape.first().ok_or_else(|| format_err!("{}: not a table", table.name))?;
    if rows == 0 || !table.bytes.len().is_multiple_of(rows) {
        return Err(format_err!("{}: {} bytes do not split into {rows} rows", table.name, table.bytes.len()));
    }
    let row = table.bytes.len() / rows;
    let mut bytes = Vec::with_capacity(row * keep.len());
    for &id in keep {
        let i = id as usize;
        if i >= rows {
            return Err(format_err!("{}: row {id} of {rows}", table.name));
        }
        bytes.extend_from_slice(&table.bytes[i * row..(i + 1) * row]);
    }
    let mut shape = table.shape.clone();
    shape[0] = keep.len();
    Ok(RawTensor { name: table.name.clone(), dtype: table.dtype, shape, bytes })
}

/// What [`write_pruned`] wrote: the model's description, its tokenizer, and the word table's bytes
/// before and after.
pub struct Pruned {
    pub info: ModelInfo,
    pub tokenizer: Tokenizer,
    pub table_bytes: (usize, usize),
}

/// Write the model of `from` (whose tokenizer is `tokenizer`) with the vocabulary `keep` into the
/// directory `out` (atomically, whole).
pub fn write_pruned(from: &ModelDir, tokenizer: &Tokenizer, keep: &[u32], derived_from: &str, out: &Path) -> Result<Pruned> {
    let pruned_tokenizer = prune_tokenizer(tokenizer, keep)?;
    let mut tensors = from.raw_tensors()?;
    let table = tensors.iter_mut().find(|t| t.name == WORD_EMBEDDINGS).ok_or_else(|| format_err!("no tensor {WORD_EMBEDDINGS}"))?;
    let before = table.bytes.len();
    *table = prune_rows(table, keep)?;
    let table_bytes = (before, table.bytes.len());
    let mut info = from.info.clone();
    info.config.vocab_size = keep.len();
    let keep_bytes: Vec<u8> = keep.iter().flat_map(|id| id.to_le_bytes()).collect();
    let record = VocabPruning {
        base_pieces: tokenizer.vocab_size(),
        kept_pieces: keep.len(),
        keep_sha256: crate::io::sha256_hex(&keep_bytes)[..16].to_string(),
        derived_from: derived_from.to_string(),
    };
    info.source = format!("{} — vocabulary pruned to {} of {} pieces", info.source, record.kept_pieces, record.base_pieces);
    let config = serde_json::json!({ "model_id": info.model_id, "name": info.name, "source": info.source, "config": info.config, "vocab_pruning": record });
    crate::io::write_dir_atomic(out, |dir| {
        super::write_gguf(
            &dir.join(WEIGHTS_FILE),
            &tensors,
            &[("medbridge.vocab_pruning", serde_json::to_string(&record).expect("serialises"))],
        )?;
        pruned_tokenizer.save(&dir.join(TOKENIZER_FILE))?;
        crate::io::write_atomic(&dir.join(CONFIG_FILE), &serde_json::to_vec_pretty(&config).expect("serialises"))?;
        // a trained model's record (trained-bi.json …) travels with it
        for entry in std::fs::read_dir(&from.path).map_err(|e| crate::Error::io(&from.path, e))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("trained-") && name.ends_with(".json") {
                std::fs::copy(entry.path(), dir.join(&name)).map_err(|e| crate::Error::io(entry.path(), e))?;
            }
        }
        Ok(())
    })?;
    Ok(Pruned { info, tokenizer: pruned_tokenizer, table_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize::test_tokenizer;

    fn tokenizer() -> Tokenizer {
        let mut pieces: Vec<(String, f32)> = ["<s>", "<pad>", "</s>", "<unk>"].iter().map(|p| (p.to_string(), 0.0)).collect();
        for (p, s) in [("▁", -2.0), ("▁dolor", -3.0), ("▁de", -2.5), ("▁cabeza", -4.0), ("▁cab", -5.0), ("eza", -5.0), ("日本", -6.0)]
        {
            pieces.push((p.into(), s));
        }
        for c in "abcdeilorzq:ysgp日本".chars() {
            pieces.push((c.to_string(), -8.0));
        }
        test_tokenizer(pieces, vec![])
    }

    #[test]
    fn pruned_text_keeps_its_ids_and_other_words_fall_back_to_kept_pieces() {
        let full = tokenizer();
        let keep: Vec<u32> = kept_ids(&full, ["dolor de"]).unwrap().into_iter().collect();
        let pruned = prune_tokenizer(&full, &keep).unwrap();
        // a text of kept pieces: the same pieces, renumbered consistently
        let (a, b) = (full.encode("dolor de").unwrap().ids, pruned.encode("dolor de").unwrap().ids);
        assert_eq!(full.pieces(&a), pruned.pieces(&b));
        assert_eq!(b.iter().map(|&i| keep[i as usize]).collect::<Vec<_>>(), a);
        // "cabeza" was never seen: it splits into kept single characters, not into a wrong id
        let ids = pruned.encode("cabeza").unwrap().ids;
        assert_eq!(pruned.pieces(&ids), ["<s>", "▁", "c", "a", "b", "e", "z", "a", "</s>"]);
        assert!(!pruned.pieces(&ids).contains(&"<unk>".to_string()));
        // a character of another script, unseen, becomes <unk>
        assert!(pruned.pieces(&pruned.encode("日本").unwrap().ids).contains(&"<unk>".to_string()));
    }

    #[test]
    fn rows_follow_the_kept_ids() {
        let t = RawTensor { name: "w".into(), dtype: super::super::RawDType::F32, shape: vec![4, 2], bytes: (0u8..32).collect() };
        let p = prune_rows(&t, &[0, 2]).unwrap();
        assert_eq!(p.shape, vec![2, 2]);
        assert_eq!(p.bytes, [(0u8..8).collect::<Vec<_>>(), (16u8..24).collect()].concat());
        assert!(prune_rows(&t, &[4]).is_err());
    }
}
