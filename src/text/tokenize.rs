//! Tokenization: XLM-R's SentencePiece Unigram, rebuilt on the `tokenizers` crate.
//!
//! Pipeline (small typed stages, as in `tokenizers`): NFC → XLM-R character table → collapse
//! runs of spaces → Metaspace (`▁`, always prepended) → Unigram → `<s> $A </s>`.
//! XLM-R's table differs from SentencePiece's stock `nmt_nfkc` on 174 code points, so the table
//! shipped with the model is applied directly instead of a precompiled charsmap.
use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{NormalizedString, Normalizer, TokenizerImpl, TruncationParams};

use crate::{format_err, Error, Result};

/// The model's position table has 512 rows.
pub const MAX_TOKENS: usize = 512;
const FILE_FORMAT: &str = "medbridge-xlmr-unigram/1";

/// XLM-R's per-character normalisation: a character maps to zero or more characters.
#[derive(Clone, Debug)]
pub struct XlmrNormalizer {
    map: HashMap<char, Vec<char>>,
    deleted: HashSet<char>,
    collapse_spaces: Replace,
}

impl XlmrNormalizer {
    pub fn new(table: &[(u32, Vec<u32>)]) -> Result<Self> {
        let mut map = HashMap::new();
        let mut deleted = HashSet::new();
        let ch = |cp: u32| char::from_u32(cp).ok_or_else(|| format_err!("normalisation table: {cp:#x} is not a character"));
        for (cp, rep) in table {
            let c = ch(*cp)?;
            if rep.is_empty() {
                deleted.insert(c);
            } else {
                map.insert(c, rep.iter().map(|&r| ch(r)).collect::<Result<Vec<_>>>()?);
            }
        }
        let collapse_spaces = Replace::new(tokenizers::normalizers::replace::ReplacePattern::Regex(" {2,}".into()), " ")
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Self { map, deleted, collapse_spaces })
    }
}

impl Normalizer for XlmrNormalizer {
    fn normalize(&self, s: &mut NormalizedString) -> tokenizers::Result<()> {
        // Decomposed accents compose first, as SentencePiece's NFD→composed rules do.
        s.nfc();
        if s.get().chars().any(|c| self.deleted.contains(&c)) {
            s.filter(|c| !self.deleted.contains(&c));
        }
        if s.get().chars().any(|c| self.map.contains_key(&c)) {
            let out: Vec<(char, isize)> = s
                .get()
                .chars()
                .flat_map(|c| match self.map.get(&c) {
                    Some(rep) => rep.iter().enumerate().map(|(i, &r)| (r, if i == 0 { 0 } else { 1 })).collect::<Vec<_>>(),
                    None => vec![(c, 0)],
                })
                .collect();
            s.transform(out, 0);
        }
        self.collapse_spaces.normalize(s)
    }
}

type Inner = TokenizerImpl<Unigram, XlmrNormalizer, Metaspace, TemplateProcessing, Metaspace>;

/// The SentencePiece Unigram vocabulary and XLM-R's per-character normalisation table.
#[derive(Debug, Clone)]
pub struct TokenizerData {
    pub pieces: Vec<String>,
    pub scores: Vec<f32>,
    pub bos: u32,
    pub eos: u32,
    pub pad: u32,
    pub unk: u32,
    /// (code point, replacement code points); an empty replacement deletes the character.
    pub normalization: Vec<(u32, Vec<u32>)>,
}

/// The on-disk form of the tokenizer (`tokenizer.json` in a model directory).
#[derive(Clone, Serialize, Deserialize)]
struct TokenizerFile {
    format: String,
    bos: u32,
    eos: u32,
    pad: u32,
    unk: u32,
    pieces: Vec<(String, f32)>,
    normalization: Vec<(u32, Vec<u32>)>,
}

/// Token ids of one text, with `<s>`/`</s>`, and whether it was cut at `MAX_TOKENS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub truncated: bool,
}

#[derive(Clone)]
pub struct Tokenizer {
    inner: Inner,
    file: TokenizerFile,
}

impl Tokenizer {
    pub fn from_data(data: &TokenizerData) -> Result<Self> {
        Self::from_file_data(TokenizerFile {
            format: FILE_FORMAT.into(),
            bos: data.bos,
            eos: data.eos,
            pad: data.pad,
            unk: data.unk,
            pieces: data.pieces.iter().cloned().zip(data.scores.iter().copied()).collect(),
            normalization: data.normalization.clone(),
        })
    }

    fn from_file_data(file: TokenizerFile) -> Result<Self> {
        let tk = |e: Box<dyn std::error::Error + Send + Sync>| Error::Tokenizer(e.to_string());
        let vocab = file.pieces.iter().map(|(p, s)| (p.clone(), *s as f64)).collect();
        let model = Unigram::from(vocab, Some(file.unk as usize), false).map_err(tk)?;
        let piece = |id: u32| {
            file.pieces.get(id as usize).map(|p| p.0.clone()).ok_or_else(|| format_err!("tokenizer: special id {id} outside vocabulary"))
        };
        let (bos, eos) = (piece(file.bos)?, piece(file.eos)?);
        let post = TemplateProcessing::builder()
            .try_single(format!("{bos} $A {eos}"))
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            // XLM-R's pair template: <s> A </s></s> B </s> (all token type 0).
            .try_pair(format!("{bos} $A {eos} {eos} $B {eos}"))
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .special_tokens(vec![(bos.as_str(), file.bos), (eos.as_str(), file.eos)])
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut inner = Inner::new(model);
        inner.with_normalizer(Some(XlmrNormalizer::new(&file.normalization)?)).map_err(tk)?;
        inner.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
        inner.with_post_processor(Some(post));
        inner.with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() })).map_err(tk)?;
        Ok(Self { inner, file })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_bytes(&bytes).map_err(|e| format_err!("{}: {e}", path.display()))
    }

    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self> {
        let file: TokenizerFile = serde_json::from_slice(bytes).map_err(|e| format_err!("invalid tokenizer file: {e}"))?;
        if file.format != FILE_FORMAT {
            return Err(format_err!("tokenizer format {:?} is not {FILE_FORMAT:?}", file.format));
        }
        Self::from_file_data(file)
    }

    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.file).expect("tokenizer serialises")
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, &self.to_json_bytes())
    }

    /// The vocabulary, special ids and normalisation table (e.g. to prune the vocabulary).
    pub fn to_data(&self) -> TokenizerData {
        let f = &self.file;
        TokenizerData {
            pieces: f.pieces.iter().map(|p| p.0.clone()).collect(),
            scores: f.pieces.iter().map(|p| p.1).collect(),
            bos: f.bos,
            eos: f.eos,
            pad: f.pad,
            unk: f.unk,
            normalization: f.normalization.clone(),
        }
    }

    pub fn pad_id(&self) -> u32 {
        self.file.pad
    }

    pub fn vocab_size(&self) -> usize {
        self.file.pieces.len()
    }

    /// Ids of one text with `<s>` … `</s>`, cut to `MAX_TOKENS`.
    pub fn encode(&self, text: &str) -> Result<Tokens> {
        self.encode_with_limit(text, MAX_TOKENS)
    }

    /// Ids with at most `max_tokens` tokens (specials included). Short limits make training cheap.
    pub fn encode_with_limit(&self, text: &str, max_tokens: usize) -> Result<Tokens> {
        let enc = self.inner.encode(text, true).map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut ids = enc.get_ids().to_vec();
        let mut truncated = !enc.get_overflowing().is_empty();
        let limit = max_tokens.clamp(2, MAX_TOKENS);
        if ids.len() > limit {
            ids.truncate(limit - 1);
            ids.push(self.file.eos);
            truncated = true;
        }
        Ok(Tokens { ids, truncated })
    }

    /// Ids of a pair in XLM-R's template `<s> a </s></s> b </s>` with at most `max_tokens`
    /// tokens: the longer side loses tokens first (its last ones). `truncated` says whether
    /// anything was cut.
    pub fn encode_pair_with_limit(&self, a: &str, b: &str, max_tokens: usize) -> Result<Tokens> {
        let plain = |t: &str| -> Result<Vec<u32>> {
            Ok(self.inner.encode(t, false).map_err(|e| Error::Tokenizer(e.to_string()))?.get_ids().to_vec())
        };
        let (mut x, mut y) = (plain(a)?, plain(b)?);
        let budget = max_tokens.clamp(6, MAX_TOKENS) - 4;
        let truncated = x.len() + y.len() > budget;
        while x.len() + y.len() > budget {
            if x.len() >= y.len() {
                x.pop();
            } else {
                y.pop();
            }
        }
        let (bos, eos) = (self.file.bos, self.file.eos);
        let mut ids = Vec::with_capacity(x.len() + y.len() + 4);
        ids.push(bos);
        ids.extend(x);
        ids.extend([eos, eos]);
        ids.extend(y);
        ids.push(eos);
        Ok(Tokens { ids, truncated })
    }

    /// Pieces of the ids, for debugging and tests.
    pub fn pieces(&self, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&i| self.file.pieces.get(i as usize).map(|p| p.0.clone()).unwrap_or_default()).collect()
    }
}

/// A tokenizer over the letters a–z (each alone and word-initial), for the tiny random models
/// of tests and benchmarks: any lower-case text tokenizes without `<unk>`.
#[doc(hidden)]
pub fn letters_tokenizer() -> Tokenizer {
    let mut pieces: Vec<(String, f32)> = vec![("▁".into(), 0.0)];
    for c in 'a'..='z' {
        pieces.push((c.to_string(), -2.0));
        pieces.push((format!("▁{c}"), -1.5));
    }
    test_tokenizer(pieces, vec![])
}

/// A tokenizer of `<s> <pad> </s> <unk>` (ids 0–3) followed by `pieces` (piece, score), with a
/// normalisation table: the tiny vocabularies of tests.
#[doc(hidden)]
pub fn test_tokenizer(pieces: Vec<(String, f32)>, normalization: Vec<(u32, Vec<u32>)>) -> Tokenizer {
    let mut all: Vec<(String, f32)> = ["<s>", "<pad>", "</s>", "<unk>"].iter().map(|p| (p.to_string(), 0.0)).collect();
    all.extend(pieces);
    Tokenizer::from_data(&TokenizerData {
        scores: all.iter().map(|p| p.1).collect(),
        pieces: all.into_iter().map(|p| p.0).collect(),
        bos: 0,
        eos: 2,
        pad: 1,
        unk: 3,
        normalization,
    })
    .expect("a valid vocabulary")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        let pieces = [("▁", -2.0), ("▁a", -1.0), ("b", -1.5), ("▁ab", -0.5), ("a", -3.0), ("fi", -1.0), ("▁fi", -0.8)];
        // ﬁ → f i; U+200B (zero-width space) is deleted; tab → space.
        test_tokenizer(
            pieces.iter().map(|(p, s)| (p.to_string(), *s)).collect(),
            vec![(0xFB01, vec![0x66, 0x69]), (0x200B, vec![]), (0x09, vec![0x20])],
        )
    }

    #[test]
    fn unigram_picks_best_segmentation_and_adds_specials() {
        let t = tiny();
        assert_eq!(t.encode("ab").unwrap().ids, vec![0, 7, 2]);
        assert_eq!(t.pieces(&t.encode("ab a").unwrap().ids), vec!["<s>", "▁ab", "▁a", "</s>"]);
    }

    #[test]
    fn table_expands_deletes_and_spaces_collapse() {
        let t = tiny();
        assert_eq!(t.pieces(&t.encode("\u{FB01}").unwrap().ids), vec!["<s>", "▁fi", "</s>"]);
        assert_eq!(t.encode("a\u{200B}b").unwrap().ids, t.encode("ab").unwrap().ids);
        assert_eq!(t.encode("ab \t  a").unwrap().ids, t.encode("ab a").unwrap().ids);
    }

    #[test]
    fn unknown_characters_map_to_unk_and_long_inputs_are_truncated() {
        let t = tiny();
        assert!(t.encode("z").unwrap().ids.contains(&3));
        let long = "ab ".repeat(2000);
        let toks = t.encode(&long).unwrap();
        assert_eq!(toks.ids.len(), MAX_TOKENS);
        assert!(toks.truncated);
        assert_eq!(*toks.ids.last().unwrap(), 2);
        let short = t.encode_with_limit(&long, 8).unwrap();
        assert_eq!(short.ids.len(), 8);
        assert_eq!(*short.ids.last().unwrap(), 2);
    }

    #[test]
    fn pairs_follow_the_xlmr_template_and_truncate_the_longer_side() {
        let t = tiny();
        let p = t.encode_pair_with_limit("ab", "a ab", 512).unwrap();
        assert_eq!(t.pieces(&p.ids), vec!["<s>", "▁ab", "</s>", "</s>", "▁a", "▁ab", "</s>"]);
        assert!(!p.truncated);
        // the same as the tokenizers crate's pair template
        let via_template = t.inner.encode(("ab", "a ab"), true).unwrap();
        assert_eq!(p.ids, via_template.get_ids());
        // 10 + 3 pieces into 12 tokens: the longer (first) side is cut to 5
        let q = t.encode_pair_with_limit(&"ab ".repeat(10), "ab ab ab", 12).unwrap();
        assert!(q.truncated);
        assert_eq!(q.ids.len(), 12);
        assert_eq!(t.pieces(&q.ids), vec!["<s>", "▁ab", "▁ab", "▁ab", "▁ab", "▁ab", "</s>", "</s>", "▁ab", "▁ab", "▁ab", "</s>"]);
    }

    #[test]
    fn round_trips_through_json() {
        let t = tiny();
        let back = Tokenizer::from_json_bytes(&t.to_json_bytes()).unwrap();
        assert_eq!(back.encode("ab \u{FB01}").unwrap(), t.encode("ab \u{FB01}").unwrap());
        assert!(Tokenizer::from_json_bytes(b"{\"format\":\"x\"}").is_err());
    }
}
