//! The LLM generator (native only): any OpenAI-compatible chat-completions endpoint.
//!
//! - **Plan** (deterministic from catalogue + seed): per language, codes sampled as in the
//!   offline generator (fewer injury extensions / external causes / "other" codes), enough for
//!   `pairs_per_lang / mentions_per_code` codes, chunked into batches of `codes_per_request`
//!   codes; batches of the languages are interleaved so a partial run covers all languages.
//! - **Request**: `POST {endpoint}` (`/chat/completions` is appended unless the URL already
//!   ends with it), body `{"model", "messages": [system, user], "temperature"}`; the user
//!   message lists the batch's codes with their description (in the target language when the
//!   catalogue has it, else Spanish for ca/it, else English) and asks for a JSON array
//!   `[{"id": 1, "mentions": ["…"]}, …]`. The API key is read from the environment variable
//!   named by `api_key_env` and sent as `Authorization: Bearer …`; it is never logged or put in
//!   an error message. No key (unset/empty variable) → no header (local servers).
//! - **Retries**: HTTP 429, 408, 409, 5xx and transport errors (timeouts, refused connections)
//!   are retried up to `max_retries` times with exponential backoff `backoff_initial · 2^n`
//!   (capped at `backoff_max`), or the server's `Retry-After` seconds when given (also capped).
//!   Other HTTP errors (401, 404, …) stop the run with an error. A reply whose content cannot
//!   be parsed is re-requested the same way; after that the batch is skipped and counted.
//! - **Rate limit**: at most `requests_per_minute` request starts per minute.
//! - **Validation** of each mention: length `min_chars..=max_chars` characters and ≤ 20 words,
//!   must not contain the code, language heuristic ([`super::plausible_language`]),
//!   deduplicated on `(lang, normalised query)` (also against pairs already in the file), not an
//!   evaluation query (dropped and counted, or an error with `strict`).
//! - **Resumable**: pairs are appended to `out` and flushed (and synced) after each batch. On
//!   start, an existing `out` is read (a partial last line from a killed run is cut off first);
//!   codes already present for a language are skipped, so a restart continues where it stopped
//!   and gives the same pairs as one uninterrupted run (per-batch randomness is seeded by the
//!   batch index). `max_batches` stops after that many requested batches (for tests and for
//!   spreading a run over several sessions).
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};

use super::offline::{choose_positive_lang, keep_entry, lang_salt};
use super::{normalize_query, overlap_error, plausible_language, read_jsonl, Exclusion, ExclusionReport, Hierarchy, SynthPair};
use crate::catalog::Catalog;
use crate::{format_err, Error, Result};

/// Options of [`generate_llm`]; [`LlmOptions::new`] fills the documented defaults.
#[derive(Clone, Debug)]
pub struct LlmOptions {
    /// Base URL (`http://localhost:8080/v1`) or full `…/chat/completions` URL.
    pub endpoint: String,
    pub model: String,
    /// Name of the environment variable holding the API key (default `OPENAI_API_KEY`).
    pub api_key_env: String,
    pub langs: Vec<String>,
    pub pairs_per_lang: usize,
    /// Mentions asked per code (default 4).
    pub mentions_per_code: usize,
    /// Codes per request (default 5).
    pub codes_per_request: usize,
    /// Request starts per minute (default 60).
    pub requests_per_minute: f64,
    /// Retries per batch (default 6).
    pub max_retries: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Per-request timeout (default 120 s).
    pub timeout: Duration,
    pub temperature: f32,
    pub seed: u64,
    pub hard_negatives: usize,
    pub injury_extension_rate: f64,
    /// Stop after this many requested batches in this run (`None` = run to the end).
    pub max_batches: Option<usize>,
    pub min_chars: usize,
    pub max_chars: usize,
    pub exclude: Exclusion,
    pub strict: bool,
}

impl LlmOptions {
    pub fn new(endpoint: impl Into<String>, model: impl Into<String>) -> Self {
        LlmOptions {
            endpoint: endpoint.into(),
            model: model.into(),
            api_key_env: "OPENAI_API_KEY".into(),
            langs: crate::catalog::LANGS.iter().map(|s| s.to_string()).collect(),
            pairs_per_lang: super::DEFAULT_PAIRS_PER_LANG,
            mentions_per_code: 4,
            codes_per_request: 5,
            requests_per_minute: 60.0,
            max_retries: 6,
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            timeout: Duration::from_secs(120),
            temperature: 0.8,
            seed: 42,
            hard_negatives: super::DEFAULT_HARD_NEGATIVES,
            injury_extension_rate: 0.03,
            max_batches: None,
            min_chars: 3,
            max_chars: 120,
            exclude: Exclusion::default(),
            strict: false,
        }
    }
}

/// Progress after each batch.
#[derive(Clone, Debug, Default)]
pub struct LlmProgress {
    /// Batches finished so far, including those found done in the existing output.
    pub batches_done: usize,
    pub batches_total: usize,
    pub pairs_written: usize,
    pub retries: usize,
}

/// What [`generate_llm`] did.
#[derive(Clone, Debug, Default)]
pub struct LlmReport {
    pub batches_total: usize,
    /// Batches requested in this run.
    pub batches_run: usize,
    /// Batches already complete in the existing output.
    pub batches_skipped_resume: usize,
    /// Batches given up because the replies could not be parsed.
    pub batches_failed: usize,
    pub requests: usize,
    pub retries: usize,
    /// Pairs in the output file before this run.
    pub pairs_existing: usize,
    /// Pairs appended by this run, and per language.
    pub pairs_written: usize,
    pub per_lang: BTreeMap<String, usize>,
    pub rejected_language: usize,
    pub rejected_length: usize,
    pub rejected_duplicate: usize,
    pub excluded: ExclusionReport,
    /// `max_batches` stopped the run before the end.
    pub stopped_early: bool,
    /// A partial last line (killed run) was cut from the existing output.
    pub truncated_partial_line: bool,
}

struct Batch {
    lang: String,
    entries: Vec<usize>,
}

fn language_name(l: &str) -> &'static str {
    match l {
        "en" => "English",
        "es" => "Spanish",
        "fr" => "French",
        "pt" => "Portuguese",
        "it" => "Italian",
        "ca" => "Catalan",
        _ => "English",
    }
}

fn plan(catalog: &Catalog, opts: &LlmOptions) -> Vec<Batch> {
    let per_code = opts.mentions_per_code.max(1);
    let per_req = opts.codes_per_request.max(1);
    let mut by_lang: Vec<Vec<Batch>> = Vec::new();
    for lang in &opts.langs {
        let mut rng = StdRng::seed_from_u64(opts.seed ^ lang_salt(lang) ^ 0x6c6c_6d00);
        let mut idx: Vec<usize> = catalog
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.descriptions.is_empty())
            .filter(|(_, e)| keep_entry(e, opts.injury_extension_rate, &mut rng))
            .map(|(i, _)| i)
            .collect();
        // codes with text in the target language first (better prompts), each group shuffled
        idx.shuffle(&mut rng);
        idx.sort_by_key(|&i| !catalog.entries[i].descriptions.contains_key(lang.as_str()));
        let n_codes = opts.pairs_per_lang.div_ceil(per_code);
        idx.truncate(n_codes);
        by_lang.push(idx.chunks(per_req).map(|c| Batch { lang: lang.clone(), entries: c.to_vec() }).collect());
    }
    // interleave languages
    let mut out = Vec::new();
    let longest = by_lang.iter().map(|v| v.len()).max().unwrap_or(0);
    let mut iters: Vec<_> = by_lang.into_iter().map(|v| v.into_iter()).collect();
    for _ in 0..longest {
        for it in iters.iter_mut() {
            if let Some(b) = it.next() {
                out.push(b);
            }
        }
    }
    out
}

fn prompt_description<'a>(e: &'a crate::catalog::CatalogEntry, lang: &str) -> &'a str {
    let d = e
        .descriptions
        .get(lang)
        .or_else(|| if lang == "ca" || lang == "it" { e.descriptions.get("es") } else { None })
        .or_else(|| e.descriptions.get("en"))
        .or_else(|| e.descriptions.values().next())
        .map(|s| s.as_str())
        .unwrap_or("");
    d.split(" / ").next().unwrap_or(d)
}

/// The chat-completions request body for one batch.
pub fn request_body(catalog: &Catalog, opts: &LlmOptions, lang: &str, entries: &[usize]) -> Value {
    let name = language_name(lang);
    let mut user = format!(
        "Language: {name} ({lang}).\nFor each numbered ICD-10 code below, write {n} different short mentions \
         (2 to 12 words) in {name}, the way a clinician or a clinical coder would write that exact diagnosis \
         in notes or a problem list: vary abbreviations, word order, lay or colloquial wording, laterality and \
         severity phrasing. Do not copy the description verbatim, do not write the code, do not add conditions \
         that the description does not imply.\nAnswer with a JSON array only, no prose: \
         [{{\"id\": 1, \"mentions\": [\"...\", \"...\"]}}, ...]\n\n",
        n = opts.mentions_per_code
    );
    for (k, &i) in entries.iter().enumerate() {
        let e = &catalog.entries[i];
        user += &format!("{}. {} — {}\n", k + 1, e.code, prompt_description(e, lang));
    }
    json!({
        "model": opts.model,
        "temperature": opts.temperature,
        "messages": [
            {"role": "system", "content": "You write realistic, short clinical mentions in the requested language. You answer with JSON only."},
            {"role": "user", "content": user},
        ],
    })
}

/// Extract `id → mentions` from the model's reply content. Accepts the requested array, an
/// object wrapping it (`{"items": [...]}` or any array value), an object `{"1": [...]}`, or a
/// plain array of strings (for a one-code batch); tolerates code fences and prose around it.
pub fn parse_mentions(content: &str, n_codes: usize) -> Option<Vec<(usize, Vec<String>)>> {
    let start = content.find(['[', '{'])?;
    let end = content.rfind([']', '}'])?;
    if end < start {
        return None;
    }
    let v: Value = serde_json::from_str(&content[start..=end]).ok()?;
    fn strings(v: &Value) -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(|s| s.to_string())).collect()).unwrap_or_default()
    }
    fn from_array(a: &[Value], n_codes: usize) -> Option<Vec<(usize, Vec<String>)>> {
        if a.iter().all(|x| x.is_string()) {
            return if n_codes == 1 { Some(vec![(1, strings(&Value::Array(a.to_vec())))]) } else { None };
        }
        let mut out = Vec::new();
        for (k, item) in a.iter().enumerate() {
            let id = item.get("id").and_then(|i| i.as_u64().or_else(|| i.as_str().and_then(|s| s.trim().parse().ok())));
            let id = id.map(|i| i as usize).unwrap_or(k + 1);
            let m = item.get("mentions").map(strings).unwrap_or_default();
            out.push((id, m));
        }
        Some(out)
    }
    match &v {
        Value::Array(a) => from_array(a, n_codes),
        Value::Object(o) => {
            if let Some(a) = o.values().find_map(|x| x.as_array()).filter(|a| a.iter().any(|x| x.is_object())) {
                return from_array(a, n_codes);
            }
            let mut out = Vec::new();
            for (k, x) in o {
                if let Ok(id) = k.trim().parse::<usize>() {
                    out.push((id, strings(x)));
                }
            }
            if out.is_empty() {
                None
            } else {
                Some(out)
            }
        }
        _ => None,
    }
}

fn chat_url(endpoint: &str) -> String {
    let e = endpoint.trim_end_matches('/');
    if e.ends_with("/chat/completions") {
        e.to_string()
    } else {
        format!("{e}/chat/completions")
    }
}

enum Attempt {
    Ok(String),
    Retry { why: String, after: Option<Duration> },
    Fatal(String),
}

fn post_once(agent: &ureq::Agent, url: &str, key: Option<&str>, body: &str) -> Attempt {
    let mut req = agent.post(url).header("Content-Type", "application/json");
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    match req.send(body) {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64);
            let text = resp.body_mut().read_to_string().unwrap_or_default();
            let snippet: String = text.chars().take(200).collect();
            if (200..300).contains(&status) {
                Attempt::Ok(text)
            } else if status == 429 || status == 408 || status == 409 || status >= 500 {
                Attempt::Retry { why: format!("HTTP {status}: {snippet}"), after }
            } else {
                Attempt::Fatal(format!("HTTP {status}: {snippet}"))
            }
        }
        Err(e) => Attempt::Retry { why: format!("transport error: {e}"), after: None },
    }
}

/// Generate pairs with an LLM, appending to `out` (see the module docs). `progress` is called
/// after every batch.
pub fn generate_llm(catalog: &Catalog, opts: &LlmOptions, out: &Path, mut progress: impl FnMut(&LlmProgress)) -> Result<LlmReport> {
    let url = chat_url(&opts.endpoint);
    let key = std::env::var(&opts.api_key_env).ok().filter(|k| !k.trim().is_empty());
    let h = Hierarchy::new(catalog);
    let batches = plan(catalog, opts);
    let mut rep = LlmReport { batches_total: batches.len(), ..Default::default() };

    // resume
    let mut done: HashSet<(String, String)> = HashSet::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    if out.exists() {
        rep.truncated_partial_line = cut_partial_line(out)?;
        for p in read_jsonl(out)? {
            if p.generator == "llm" {
                done.insert((p.lang.clone(), p.positive_code.clone()));
            }
            seen.insert((p.lang.clone(), normalize_query(&p.query)));
            rep.pairs_existing += 1;
        }
    } else if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let file = std::fs::OpenOptions::new().create(true).append(true).open(out).map_err(|e| Error::io(out, e))?;
    let mut w = std::io::BufWriter::new(file);

    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(opts.timeout)).http_status_as_error(false).build().into();
    let min_interval =
        if opts.requests_per_minute > 0.0 { Duration::from_secs_f64(60.0 / opts.requests_per_minute) } else { Duration::ZERO };
    let mut last_start: Option<Instant> = None;
    let mut prog = LlmProgress { batches_total: batches.len(), ..Default::default() };

    for (bi, batch) in batches.iter().enumerate() {
        let lang = batch.lang.as_str();
        let todo: Vec<usize> =
            batch.entries.iter().copied().filter(|&i| !done.contains(&(lang.to_string(), catalog.entries[i].code.clone()))).collect();
        if todo.is_empty() {
            rep.batches_skipped_resume += 1;
            prog.batches_done += 1;
            continue;
        }
        if opts.max_batches.is_some_and(|m| rep.batches_run >= m) {
            rep.stopped_early = true;
            break;
        }
        rep.batches_run += 1;
        let body = request_body(catalog, opts, lang, &todo).to_string();
        let mut attempt = 0u32;
        let parsed = loop {
            if let Some(t) = last_start {
                let next = t + min_interval;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                }
            }
            last_start = Some(Instant::now());
            rep.requests += 1;
            let (why, after) = match post_once(&agent, &url, key.as_deref(), &body) {
                Attempt::Ok(text) => {
                    let content = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|v| v.pointer("/choices/0/message/content").and_then(|c| c.as_str()).map(|s| s.to_string()));
                    match content.as_deref().and_then(|c| parse_mentions(c, todo.len())) {
                        Some(p) => break Some(p),
                        None => ("unparseable reply".to_string(), None),
                    }
                }
                Attempt::Retry { why, after } => (why, after),
                Attempt::Fatal(why) => return Err(format_err!("{url}: {why} (output so far kept in {}; rerun to resume)", out.display())),
            };
            if attempt >= opts.max_retries {
                if why == "unparseable reply" {
                    break None;
                }
                return Err(format_err!(
                    "{url}: giving up after {} attempts, last: {why} (output so far kept in {}; rerun to resume)",
                    attempt + 1,
                    out.display()
                ));
            }
            let backoff = opts.backoff_initial.saturating_mul(1u32 << attempt.min(16)).min(opts.backoff_max);
            let wait = after.map(|a| a.min(opts.backoff_max)).unwrap_or(backoff);
            attempt += 1;
            rep.retries += 1;
            prog.retries += 1;
            std::thread::sleep(wait);
        };
        let Some(parsed) = parsed else {
            rep.batches_failed += 1;
            prog.batches_done += 1;
            progress(&prog);
            continue;
        };

        let mut rng = StdRng::seed_from_u64(opts.seed ^ lang_salt(lang) ^ (bi as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut pairs = Vec::new();
        for (id, mentions) in parsed {
            let Some(&ei) = id.checked_sub(1).and_then(|k| todo.get(k)) else { continue };
            let e = &catalog.entries[ei];
            for m in mentions.iter().take(opts.mentions_per_code * 2) {
                let q = m.trim().trim_matches(|c: char| c == '"' || c == '-' || c == '*' || c == '•').trim().to_string();
                let chars = q.chars().count();
                if chars < opts.min_chars || chars > opts.max_chars || q.split_whitespace().count() > 20 || q.contains(&e.code) {
                    rep.rejected_length += 1;
                    continue;
                }
                if !plausible_language(&q, lang) {
                    rep.rejected_language += 1;
                    continue;
                }
                if opts.exclude.contains(&q) {
                    rep.excluded.dropped += 1;
                    if rep.excluded.examples.len() < 10 {
                        rep.excluded.examples.push(q.clone());
                    }
                    if opts.strict {
                        return Err(overlap_error(&rep.excluded));
                    }
                    continue;
                }
                if !seen.insert((lang.to_string(), normalize_query(&q))) {
                    rep.rejected_duplicate += 1;
                    continue;
                }
                let plang = choose_positive_lang(e, lang, &mut rng);
                pairs.push(SynthPair {
                    lang: lang.to_string(),
                    query: q,
                    positive_code: e.code.clone(),
                    positive_text: e.descriptions[plang].clone(),
                    positive_lang: plang.to_string(),
                    hard_negatives: h.hard_negatives(&e.code, plang, opts.hard_negatives, &mut rng),
                    generator: "llm".into(),
                    seed: opts.seed,
                    template: "llm".into(),
                });
            }
        }
        super::write_pairs(&mut w, &pairs).map_err(|e| Error::io(out, e))?;
        w.flush().map_err(|e| Error::io(out, e))?;
        w.get_ref().sync_data().map_err(|e| Error::io(out, e))?;
        for &i in &todo {
            done.insert((lang.to_string(), catalog.entries[i].code.clone()));
        }
        rep.pairs_written += pairs.len();
        *rep.per_lang.entry(lang.to_string()).or_default() += pairs.len();
        prog.batches_done += 1;
        prog.pairs_written += pairs.len();
        progress(&prog);
    }
    Ok(rep)
}

/// If `path` does not end with a newline, cut it after the last one (a partial record left by
/// a killed run). Returns whether something was cut.
fn cut_partial_line(path: &Path) -> Result<bool> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(false);
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| Error::io(path, e))?;
    f.set_len(keep as u64).map_err(|e| Error::io(path, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests;
