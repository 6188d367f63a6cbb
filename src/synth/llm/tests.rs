//! The LLM generator against a fake OpenAI-compatible server (a `TcpListener` thread speaking
//! minimal HTTP/1.1): protocol, retries with backoff / Retry-After, fatal errors, resume.
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;
use crate::synth::tests::tiny_catalog;

#[derive(Clone, Copy)]
enum Reply {
    /// Status with an optional Retry-After header value.
    Status(u16, Option<&'static str>),
    /// A valid chat-completions reply built from the request's prompt.
    Ok,
    /// A 200 whose content is not JSON.
    Garbage,
}

#[derive(Clone, Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Start a fake server; replies follow `script`, then `Ok` forever. Returns the base URL and
/// the requests it saw.
fn fake_server(script: Vec<Reply>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if r.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            loop {
                let mut l = String::new();
                r.read_line(&mut l).unwrap();
                let l = l.trim_end();
                if l.is_empty() {
                    break;
                }
                let (k, v) = l.split_once(':').unwrap();
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            let len: usize = headers.iter().find(|(k, _)| k == "content-length").map(|(_, v)| v.parse().unwrap()).unwrap_or(0);
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let reply = script.get(n).copied().unwrap_or(Reply::Ok);
            let (status, extra, payload) = match reply {
                Reply::Status(s, ra) => {
                    (s, ra.map(|v| format!("Retry-After: {v}\r\n")).unwrap_or_default(), r#"{"error":{"message":"nope"}}"#.to_string())
                }
                Reply::Ok => (200, String::new(), completion(&answer(&body))),
                Reply::Garbage => (200, String::new(), completion("Sorry, I cannot help with that.")),
            };
            log.lock().unwrap().push(Seen { request_line: request_line.trim_end().to_string(), headers, body });
            let resp = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{payload}",
                payload.len()
            );
            let _ = stream.write_all(resp.as_bytes());
            let _ = stream.flush();
        }
    });
    (format!("http://{addr}/v1"), seen)
}

fn completion(content: &str) -> String {
    json!({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}).to_string()
}

/// Mentions for each numbered code of the prompt, in the prompt's language, unique per code
/// (the code's characters spelled as letters so the mention never contains the code).
fn answer(body: &Value) -> String {
    let user = body["messages"][1]["content"].as_str().unwrap_or("");
    let lang = user.split('(').nth(1).and_then(|s| s.get(..2)).unwrap_or("en");
    let n: usize = user.split("write ").nth(1).and_then(|s| s.split(' ').next()).and_then(|s| s.parse().ok()).unwrap_or(2);
    let mut items = Vec::new();
    for line in user.lines() {
        let Some((id, rest)) = line.split_once(". ") else { continue };
        let Ok(id) = id.parse::<usize>() else { continue };
        let code = rest.split(' ').next().unwrap();
        let word: String = code
            .chars()
            .filter(|c| *c != '.')
            .map(|c| if c.is_ascii_digit() { (b'a' + c as u8 - b'0') as char } else { c.to_ascii_lowercase() })
            .collect();
        let mentions: Vec<String> = (0..n)
            .map(|j| match lang {
                "es" => format!("enfermedad {word} con variante {}", "xyzw".chars().nth(j % 4).unwrap()),
                "ca" => format!("malaltia {word} amb variant {}", "xyzw".chars().nth(j % 4).unwrap()),
                _ => format!("disease {word} with variant {}", "xyzw".chars().nth(j % 4).unwrap()),
            })
            .collect();
        items.push(json!({"id": id, "mentions": mentions}));
    }
    // a model that wraps its JSON in a code fence
    format!("```json\n{}\n```", Value::Array(items))
}

fn test_opts(url: &str, key_env: &str) -> LlmOptions {
    LlmOptions {
        api_key_env: key_env.into(),
        langs: vec!["es".into()],
        pairs_per_lang: 8,
        mentions_per_code: 2,
        codes_per_request: 2,
        requests_per_minute: 0.0,
        backoff_initial: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
        injury_extension_rate: 1.0,
        ..LlmOptions::new(url, "test-model")
    }
}

#[test]
fn synth_llm_protocol_retries_and_rate_limit() {
    let (url, seen) = fake_server(vec![Reply::Status(429, Some("0")), Reply::Status(500, None), Reply::Ok]);
    std::env::set_var("MEDBRIDGE_SYNTH_TEST_KEY_PROTO", "sk-test-123");
    let cat = tiny_catalog();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("llm.jsonl");
    let opts = LlmOptions { requests_per_minute: 1200.0, ..test_opts(&url, "MEDBRIDGE_SYNTH_TEST_KEY_PROTO") };
    let mut calls = 0;
    let t0 = Instant::now();
    let rep = generate_llm(&cat, &opts, &out, |_| calls += 1).unwrap();
    // 4 codes, 2 per request → 2 batches; the first needed 3 requests (429, 500, ok)
    assert_eq!(rep.batches_total, 2);
    assert_eq!(rep.batches_run, 2);
    assert_eq!(rep.requests, 4);
    assert_eq!(rep.retries, 2);
    assert_eq!(rep.pairs_written, 8, "{rep:?}");
    assert_eq!(calls, 2);
    // 1200 rpm = 50 ms between request starts, 4 requests
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let pairs = read_jsonl(&out).unwrap();
    assert_eq!(pairs.len(), 8);
    assert!(pairs.iter().all(|p| p.generator == "llm" && p.lang == "es" && p.template == "llm"));
    for p in &pairs {
        let e = cat.get(&p.positive_code).unwrap();
        assert_eq!(e.descriptions.get(&p.positive_lang), Some(&p.positive_text));
        assert!(p.hard_negatives.iter().all(|n| n.code != p.positive_code));
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    for s in seen.iter() {
        assert_eq!(s.request_line, "POST /v1/chat/completions HTTP/1.1");
        assert_eq!(s.header("authorization"), Some("Bearer sk-test-123"));
        assert!(s.header("content-type").unwrap().starts_with("application/json"));
        assert_eq!(s.body["model"], "test-model");
        let msgs = s.body["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0]["role"], "system");
        assert_eq!(msgs[1]["role"], "user");
        let user = msgs[1]["content"].as_str().unwrap();
        assert!(user.contains("Spanish") && user.contains("JSON array"), "{user}");
        assert!(user.contains("1. ") && user.contains("2. "));
    }
    // the retried request is the same request
    assert_eq!(seen[0].body, seen[2].body);
}

#[test]
fn synth_llm_resume_after_stop_no_duplicates() {
    let (url, seen) = fake_server(vec![]);
    let cat = tiny_catalog();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("llm.jsonl");
    let base = LlmOptions {
        langs: vec!["es".into(), "ca".into()],
        pairs_per_lang: 6,
        mentions_per_code: 2,
        codes_per_request: 1,
        ..test_opts(&url, "MEDBRIDGE_SYNTH_TEST_KEY_UNSET_1")
    };
    // 3 codes per language, 1 per request → 6 batches; stop after 2
    let rep1 = generate_llm(&cat, &LlmOptions { max_batches: Some(2), ..base.clone() }, &out, |_| {}).unwrap();
    assert!(rep1.stopped_early);
    assert_eq!((rep1.batches_total, rep1.batches_run, rep1.pairs_written), (6, 2, 4));
    // a run killed while writing leaves a partial line
    let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    f.write_all(b"{\"lang\":\"es\",\"que").unwrap();
    drop(f);
    let rep2 = generate_llm(&cat, &base, &out, |_| {}).unwrap();
    assert!(rep2.truncated_partial_line);
    assert!(!rep2.stopped_early);
    assert_eq!(rep2.pairs_existing, 4);
    assert_eq!(rep2.batches_skipped_resume, 2);
    assert_eq!(rep2.batches_run, 4);
    assert_eq!(rep2.pairs_written, 8);
    let pairs = read_jsonl(&out).unwrap();
    assert_eq!(pairs.len(), 12);
    let mut keys = HashSet::new();
    assert!(pairs.iter().all(|p| keys.insert((p.lang.clone(), p.query.clone()))), "duplicates after resume");
    let codes: HashSet<(String, String)> = pairs.iter().map(|p| (p.lang.clone(), p.positive_code.clone())).collect();
    assert_eq!(codes.len(), 6);
    assert_eq!(pairs.iter().filter(|p| p.lang == "ca").count(), 6);
    // no Authorization header without a key; every batch requested exactly once
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 6);
        assert!(seen.iter().all(|s| s.header("authorization").is_none()));
    }
    // a third run has nothing left to do
    let rep3 = generate_llm(&cat, &base, &out, |_| {}).unwrap();
    assert_eq!((rep3.batches_run, rep3.pairs_written, rep3.batches_skipped_resume), (0, 0, 6));
    // same result as one uninterrupted run
    let out2 = dir.path().join("once.jsonl");
    generate_llm(&cat, &base, &out2, |_| {}).unwrap();
    let mut a = read_jsonl(&out).unwrap();
    let mut b = read_jsonl(&out2).unwrap();
    a.sort_by(|x, y| (&x.lang, &x.query).cmp(&(&y.lang, &y.query)));
    b.sort_by(|x, y| (&x.lang, &x.query).cmp(&(&y.lang, &y.query)));
    assert_eq!(a, b);
}

#[test]
fn synth_llm_fatal_error_does_not_leak_key() {
    let (url, _) = fake_server(vec![Reply::Status(401, None); 10]);
    std::env::set_var("MEDBRIDGE_SYNTH_TEST_KEY_401", "sk-secret-xyz");
    let cat = tiny_catalog();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("llm.jsonl");
    let err = generate_llm(&cat, &test_opts(&url, "MEDBRIDGE_SYNTH_TEST_KEY_401"), &out, |_| {}).unwrap_err().to_string();
    assert!(err.contains("401") && !err.contains("sk-secret-xyz"), "{err}");
}

#[test]
fn synth_llm_gives_up_after_retries_and_skips_unparseable() {
    // always 503 → error after max_retries + 1 attempts
    let (url, seen) = fake_server(vec![Reply::Status(503, Some("0")); 10]);
    let cat = tiny_catalog();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("llm.jsonl");
    let opts = LlmOptions { max_retries: 2, ..test_opts(&url, "MEDBRIDGE_SYNTH_TEST_KEY_UNSET_2") };
    let err = generate_llm(&cat, &opts, &out, |_| {}).unwrap_err().to_string();
    assert!(err.contains("giving up after 3 attempts") && err.contains("503"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 3);
    // garbage content → re-asked, then the batch is skipped and counted
    let (url, _) = fake_server(vec![Reply::Garbage; 3]);
    let out = dir.path().join("llm2.jsonl");
    let opts = LlmOptions { max_retries: 2, ..test_opts(&url, "MEDBRIDGE_SYNTH_TEST_KEY_UNSET_2") };
    let rep = generate_llm(&cat, &opts, &out, |_| {}).unwrap();
    assert_eq!((rep.batches_failed, rep.batches_run, rep.pairs_written), (1, 2, 4), "{rep:?}");
}

#[test]
fn synth_llm_validation_and_parsing() {
    assert_eq!(parse_mentions("Here:\n```json\n[{\"id\": 2, \"mentions\": [\"a b\"]}]\n```", 2), Some(vec![(2, vec!["a b".to_string()])]));
    assert_eq!(parse_mentions("{\"items\": [{\"id\": \"1\", \"mentions\": [\"x\"]}]}", 1), Some(vec![(1, vec!["x".to_string()])]));
    assert_eq!(parse_mentions("[\"x\", \"y\"]", 1), Some(vec![(1, vec!["x".to_string(), "y".to_string()])]));
    assert_eq!(parse_mentions("[\"x\", \"y\"]", 2), None);
    assert_eq!(parse_mentions("no json", 1), None);
    assert_eq!(chat_url("http://h/v1/"), "http://h/v1/chat/completions");
    assert_eq!(chat_url("http://h/v1/chat/completions"), "http://h/v1/chat/completions");
}
