//! Chunking: sentences packed into overlapping passages (rules in [`super`]'s docs).
use super::{ChunkOptions, DocPassage};

/// Sentences (and lines, which in notes and lists are units of their own).
pub(super) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let words: Vec<&str> = para.split_whitespace().collect();
        let mut cur: Vec<&str> = Vec::new();
        for (i, w) in words.iter().enumerate() {
            cur.push(w);
            let ends = w.ends_with(['.', '!', '?', ';', '。']) && !is_abbreviation(w);
            let next_starts =
                words.get(i + 1).is_none_or(|n| n.chars().next().is_some_and(|c| c.is_uppercase() || c.is_numeric() || !c.is_alphabetic()));
            if ends && next_starts {
                out.push(cur.join(" "));
                cur.clear();
            }
        }
        if !cur.is_empty() {
            out.push(cur.join(" "));
        }
    }
    out
}

fn is_abbreviation(w: &str) -> bool {
    let core = w.trim_end_matches('.').to_lowercase();
    matches!(
        core.as_str(),
        "dr" | "dra" | "sr" | "sra" | "p.ej" | "e.g" | "i.e" | "etc" | "vs" | "mg" | "ml" | "approx" | "aprox" | "núm" | "num" | "fig"
    ) || (core.chars().count() == 1 && core.chars().all(|c| c.is_alphabetic()))
}

/// Pack sentences into passages of ≤ `max_words` words with ~`overlap_words` of overlap.
pub fn chunk(title: &str, text: &str, opts: ChunkOptions) -> Vec<DocPassage> {
    let max = opts.max_words.max(8);
    let overlap = opts.overlap_words.min(max / 2);
    // Long sentences are cut into pieces of ≤ max words first (with overlap between the pieces).
    let mut units: Vec<Vec<&str>> = Vec::new();
    let sents = sentences(text);
    for s in &sents {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.len() <= max {
            units.push(words);
        } else {
            let step = max - overlap;
            let mut start = 0;
            loop {
                let end = (start + max).min(words.len());
                units.push(words[start..end].to_vec());
                if end == words.len() {
                    break;
                }
                start += step;
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let mut j = i;
        let mut n = 0;
        while j < units.len() && (j == i || n + units[j].len() <= max) {
            n += units[j].len();
            j += 1;
        }
        let text: String = units[i..j].iter().map(|u| u.join(" ")).collect::<Vec<_>>().join(" ");
        out.push(DocPassage { title: title.trim().to_string(), text });
        if j >= units.len() {
            break;
        }
        // Next passage starts with the trailing sentences of this one (≤ overlap words), never at i.
        let mut k = j;
        let mut back = 0;
        while k > i + 1 && back + units[k - 1].len() <= overlap {
            back += units[k - 1].len();
            k -= 1;
        }
        i = k;
    }
    out
}
