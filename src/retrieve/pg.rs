//! The same first stage on PostgreSQL + pgvector, for portals whose corpus outgrows a browser tab.
//!
//! A collection is one table — `id` (the passage's ordinal), `passage_id` (`CODE`, `CODE@lang` or a
//! document id), `result_id` (what it counts as in results), `text`, `language`, `model_id`,
//! `embedding vector(dim)` — with a pgvector HNSW index (cosine), and one row in `medbridge_collections`
//! recording the model id, the index format version, the source and whether the export completed.
//! Sharded: the coordinator's table is hash-partitioned on `id` over `postgres_fdw` foreign tables, one
//! per shard, each shard holding its rows and its own HNSW index; `ORDER BY embedding <=> q LIMIT n`
//! is pushed down to every shard and merged by the coordinator.
//!
//! [`export`] is idempotent and resumable: rows go in by binary COPY in batches, one transaction
//! each, and a rerun loads only the ids that are missing (so a run killed at any point, even between
//! the shards' commits, ends complete). [`PgIndex`] is a [`VectorIndex`]: the ids and texts come into
//! memory once (BM25, collapsing and the reranker read them, exactly as with a `.mbix`), the vectors
//! stay in the database.
use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Mutex;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls};

use super::{Source, VectorIndex};
use crate::{Error, Result};

/// The metadata table every collection of a database is listed in.
pub const COLLECTIONS: &str = "medbridge_collections";
/// Rows per COPY transaction.
pub const BATCH_ROWS: usize = 5_000;
/// Default `hnsw.ef_search` (candidates per HNSW scan; pgvector's default is 40).
pub const DEFAULT_EF_SEARCH: usize = 400;

/// One passage to store.
pub struct Row<'a> {
    pub passage_id: &'a str,
    pub result_id: &'a str,
    pub text: Cow<'a, str>,
    pub language: Option<&'a str>,
    pub vector: &'a [f32],
}

/// What a collection holds, as recorded in [`COLLECTIONS`].
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionMeta {
    pub name: String,
    pub model_id: String,
    pub format_version: u32,
    pub source: String,
    pub doc_kind: String,
    pub dim: usize,
    pub rows: usize,
    pub shards: usize,
    pub complete: bool,
}

/// The owned passages of an index or of the page's documents, ready to export ([`Passages::rows`]).
pub struct Passages {
    /// What they are (`shards` is decided by the export's options, not here).
    pub meta: CollectionMeta,
    ids: Vec<String>,
    results: Vec<String>,
    texts: Vec<String>,
    langs: Vec<Option<String>>,
    vectors: Vec<Vec<f32>>,
}

impl Passages {
    fn meta(model_id: &str, source: String, doc_kind: &str, dim: usize, rows: usize) -> CollectionMeta {
        CollectionMeta {
            name: String::new(),
            model_id: model_id.to_string(),
            format_version: super::index::FORMAT_VERSION,
            source,
            doc_kind: doc_kind.to_string(),
            dim,
            rows,
            shards: 0,
            complete: false,
        }
    }

    /// Every passage of an index file, with its language when it is an ICD-10 index.
    pub fn from_index(idx: &super::index::Index) -> Self {
        let source = idx.source();
        let ids: Vec<String> = (0..idx.len()).map(|i| idx.passage_id(i).to_string()).collect();
        let results = ids.iter().map(|p| source.result_id(p).to_string()).collect();
        let langs = ids.iter().map(|p| source.is_icd10().then(|| source.passage_lang(p).to_string())).collect();
        let meta = Self::meta(&idx.meta.model_id, idx.meta.source.clone(), &idx.meta.doc_kind, idx.meta.dim, idx.len());
        Self { meta, ids, results, langs, texts: idx.texts.clone(), vectors: idx.vectors() }
    }

    /// Passages given one by one — `(passage id, result id, text, vector)` — e.g. a user's documents, where a
    /// passage `DOC#n` counts as the document `DOC`; `source` names them.
    pub fn from_passages(
        model_id: &str,
        dim: usize,
        source: String,
        passages: impl IntoIterator<Item = (String, String, String, Vec<f32>)>,
    ) -> Self {
        let (mut ids, mut results, mut texts, mut vectors) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (id, result, text, vector) in passages {
            ids.push(id);
            results.push(result);
            texts.push(text);
            vectors.push(vector);
        }
        let meta = Self::meta(model_id, source, "passage", dim, ids.len());
        Self { meta, langs: vec![None; ids.len()], ids, results, texts, vectors }
    }

    /// The rows [`export`] takes, in id order.
    pub fn rows(&self) -> Vec<Row<'_>> {
        (0..self.ids.len())
            .map(|i| Row {
                passage_id: &self.ids[i],
                result_id: &self.results[i],
                text: Cow::Borrowed(&self.texts[i]),
                language: self.langs[i].as_deref(),
                vector: &self.vectors[i],
            })
            .collect()
    }
}

/// `postgres://user@host:port/db` without the password, for messages.
pub fn redact(url: &str) -> String {
    match Config::from_str(url) {
        Ok(c) => {
            let host = match c.get_hosts().first() {
                Some(postgres::config::Host::Tcp(h)) => h.clone(),
                #[cfg(unix)]
                Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
                None => "localhost".into(),
            };
            let port = c.get_ports().first().copied().unwrap_or(5432);
            format!("postgres://{}@{host}:{port}/{}", c.get_user().unwrap_or(""), c.get_dbname().unwrap_or(""))
        }
        Err(_) => "(an unparsable PostgreSQL URL)".into(),
    }
}

fn pg_error(what: &str, e: postgres::Error) -> Error {
    let msg = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    };
    Error::Format(format!("PostgreSQL {what}: {msg}"))
}

/// Connect, naming the server (not the password) when it fails.
pub fn connect(url: &str) -> Result<Client> {
    Client::connect(url, NoTls).map_err(|e| pg_error(&format!("at {}", redact(url)), e))
}

/// A collection (table) name: lower-case letters, digits and `_`, starting with a letter or `_`.
pub fn check_table_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name != COLLECTIONS;
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!("--table {name:?}: use 1–48 lower-case letters, digits and _, starting with a letter (e.g. icd10_es)")))
    }
}

/// A default collection name for an index's source: `icd10:es` → `icd10_es`, `data/corpus.jsonl` → `corpus`.
pub fn default_table_name(source: &str) -> String {
    let base = match source.strip_prefix("icd10:") {
        Some(l) => format!("icd10_{l}"),
        None => std::path::Path::new(source).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let mut s: String = base.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).take(48).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'c');
        s.truncate(48);
    }
    s
}

fn ensure_collections_table(client: &mut Client) -> Result<()> {
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {COLLECTIONS} (
               name text PRIMARY KEY, model_id text NOT NULL, format_version integer NOT NULL, source text NOT NULL,
               doc_kind text NOT NULL, dim integer NOT NULL, rows bigint NOT NULL, shards integer NOT NULL,
               complete boolean NOT NULL DEFAULT false)"
        ))
        .map_err(|e| pg_error(&format!("creating {COLLECTIONS}"), e))
}

/// The collection `name`'s row, if the database has one.
pub fn collection(client: &mut Client, name: &str) -> Result<Option<CollectionMeta>> {
    let exists: bool =
        client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&COLLECTIONS]).map_err(|e| pg_error("reading the catalog", e))?.get(0);
    if !exists {
        return Ok(None);
    }
    let row = client
        .query_opt(
            &format!("SELECT model_id, format_version, source, doc_kind, dim, rows, shards, complete FROM {COLLECTIONS} WHERE name = $1"),
            &[&name],
        )
        .map_err(|e| pg_error(&format!("reading {COLLECTIONS}"), e))?;
    Ok(row.map(|r| CollectionMeta {
        name: name.to_string(),
        model_id: r.get(0),
        format_version: r.get::<_, i32>(1) as u32,
        source: r.get(2),
        doc_kind: r.get(3),
        dim: r.get::<_, i32>(4) as usize,
        rows: r.get::<_, i64>(5) as usize,
        shards: r.get::<_, i32>(6) as usize,
        complete: r.get(7),
    }))
}

fn columns(dim: usize) -> String {
    format!(
        "id bigint NOT NULL, passage_id text NOT NULL, result_id text NOT NULL, text text NOT NULL, language text, \
         model_id text NOT NULL, embedding vector({dim}) NOT NULL"
    )
}

fn server_name(table: &str, shard: usize) -> String {
    format!("medbridge_{table}_{shard}")
}

/// Where a shard is, for `CREATE SERVER … OPTIONS (host, port, dbname)` and its user mapping.
struct ShardAddress {
    host: String,
    port: u16,
    dbname: String,
    user: String,
    password: Option<String>,
}

fn shard_address(url: &str) -> Result<ShardAddress> {
    let c = Config::from_str(url).map_err(|e| Error::Invalid(format!("--shard {}: {e}", redact(url))))?;
    let host = match c.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => return Err(Error::Invalid(format!("--shard {}: give a TCP host (the coordinator connects to it)", redact(url)))),
    };
    Ok(ShardAddress {
        host,
        port: c.get_ports().first().copied().unwrap_or(5432),
        dbname: c.get_dbname().unwrap_or("postgres").to_string(),
        user: c.get_user().unwrap_or("postgres").to_string(),
        password: c.get_password().map(|p| String::from_utf8_lossy(p).into_owned()),
    })
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Options of one export.
pub struct ExportOptions<'a> {
    pub table: &'a str,
    /// Shard URLs (empty: a plain table on the coordinator itself).
    pub shards: &'a [String],
    /// HNSW build parameters (pgvector defaults: m 16, ef_construction 64).
    pub m: usize,
    pub ef_construction: usize,
    /// Drop an existing collection of that name first.
    pub replace: bool,
}

/// What an export did.
#[derive(Debug, Default)]
pub struct ExportReport {
    pub already_there: usize,
    pub loaded: usize,
    pub load_secs: f64,
    pub index_secs: f64,
}

/// Export `rows` (all of them, in id order: row i gets id i) as collection `opts.table` of the
/// database at `url`. `meta` describes them (rows = `rows.len()`). Refuses a collection of that name
/// made with another model or holding another index; resumes an interrupted export.
pub fn export(
    url: &str,
    meta: &CollectionMeta,
    rows: &[Row],
    opts: &ExportOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<ExportReport> {
    check_table_name(opts.table)?;
    if meta.rows != rows.len() {
        return Err(Error::Invalid(format!("{} rows given, the collection's description says {}", rows.len(), meta.rows)));
    }
    let t = opts.table;
    let mut client = connect(url)?;
    ensure_collections_table(&mut client)?;
    let mut shard_clients = opts.shards.iter().map(|u| connect(u).map(|c| (u.as_str(), c))).collect::<Result<Vec<_>>>()?;

    if opts.replace {
        drop_collection(&mut client, &mut shard_clients, t)?;
    }
    match collection(&mut client, t)? {
        Some(have) => {
            Error::check_model(
                &format!("collection {t} in {}", redact(url)),
                &have.model_id,
                Some(&meta.model_id),
                "export to another --table, or pass --replace to rebuild it with this model",
            )?;
            if have.source != meta.source || have.rows != meta.rows || have.dim != meta.dim || have.shards != opts.shards.len() {
                return Err(Error::Invalid(format!(
                    "collection {t} in {} holds another index ({} rows of {}, {} shards; this one: {} rows of {}, {} shards): \
                     export to another --table, or pass --replace",
                    redact(url),
                    have.rows,
                    have.source,
                    have.shards,
                    meta.rows,
                    meta.source,
                    opts.shards.len()
                )));
            }
        }
        None => {
            create_tables(&mut client, &mut shard_clients, meta, opts)?;
            client
                .execute(
                    &format!(
                        "INSERT INTO {COLLECTIONS} (name, model_id, format_version, source, doc_kind, dim, rows, shards, complete)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, false)"
                    ),
                    &[
                        &t,
                        &meta.model_id,
                        &(meta.format_version as i32),
                        &meta.source,
                        &meta.doc_kind,
                        &(meta.dim as i32),
                        &(meta.rows as i64),
                        &(opts.shards.len() as i32),
                    ],
                )
                .map_err(|e| pg_error(&format!("registering {t}"), e))?;
        }
    }

    // Load the ids that are missing (all on a first run).
    let present: HashSet<i64> = client
        .query(&format!("SELECT id FROM {t}"), &[])
        .map_err(|e| pg_error(&format!("reading {t}'s ids"), e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let missing: Vec<usize> = (0..rows.len()).filter(|&i| !present.contains(&(i as i64))).collect();
    let mut report = ExportReport { already_there: rows.len() - missing.len(), ..Default::default() };
    let vector_type = client
        .prepare(&format!("SELECT $1::vector({})", meta.dim))
        .map_err(|e| pg_error("looking up pgvector's type (is the vector extension installed?)", e))?
        .params()[0]
        .clone();
    let types = [Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, vector_type];
    let t0 = std::time::Instant::now();
    progress(report.already_there, rows.len());
    for batch in missing.chunks(BATCH_ROWS) {
        let mut tx = client.transaction().map_err(|e| pg_error("BEGIN", e))?;
        let sink = tx
            .copy_in(&format!("COPY {t} (id, passage_id, result_id, text, language, model_id, embedding) FROM STDIN (FORMAT binary)"))
            .map_err(|e| pg_error(&format!("COPY into {t}"), e))?;
        let mut w = BinaryCopyInWriter::new(sink, &types);
        for &i in batch {
            let r = &rows[i];
            if r.vector.len() != meta.dim {
                return Err(Error::Invalid(format!("passage {} has {} dimensions, not {}", r.passage_id, r.vector.len(), meta.dim)));
            }
            let v = pgvector::Vector::from(r.vector.to_vec());
            let values: [&(dyn ToSql + Sync); 7] =
                [&(i as i64), &r.passage_id, &r.result_id, &r.text.as_ref(), &r.language, &meta.model_id, &v];
            w.write(&values).map_err(|e| pg_error(&format!("COPY into {t}"), e))?;
        }
        w.finish().map_err(|e| pg_error(&format!("COPY into {t}"), e))?;
        tx.commit().map_err(|e| pg_error("COMMIT", e))?;
        report.loaded += batch.len();
        progress(report.already_there + report.loaded, rows.len());
    }
    report.load_secs = t0.elapsed().as_secs_f64();

    // The HNSW index after the load (faster than maintaining it row by row); on each shard if sharded.
    let t1 = std::time::Instant::now();
    let index_sql = format!(
        "SET maintenance_work_mem = '512MB'; \
         CREATE INDEX IF NOT EXISTS {t}_embedding_hnsw ON {t} USING hnsw (embedding vector_cosine_ops) WITH (m = {}, ef_construction = {}); \
         ANALYZE {t}",
        opts.m, opts.ef_construction
    );
    if shard_clients.is_empty() {
        client.batch_execute(&index_sql).map_err(|e| pg_error(&format!("building {t}'s HNSW index"), e))?;
    } else {
        // Each shard builds its own index, at the same time (they are separate machines in production).
        std::thread::scope(|scope| {
            let builds: Vec<_> = shard_clients
                .iter_mut()
                .map(|(u, c)| {
                    let sql = &index_sql;
                    scope.spawn(move || {
                        c.batch_execute(sql).map_err(|e| pg_error(&format!("building {t}'s HNSW index on {}", redact(u)), e))
                    })
                })
                .collect();
            builds.into_iter().try_for_each(|b| b.join().unwrap_or_else(|_| Err(Error::Format("an HNSW build thread panicked".into()))))
        })?;
    }
    report.index_secs = t1.elapsed().as_secs_f64();

    let count: i64 = client.query_one(&format!("SELECT count(*) FROM {t}"), &[]).map_err(|e| pg_error("counting", e))?.get(0);
    if count as usize != rows.len() {
        return Err(Error::Format(format!("collection {t} has {count} rows after the export, expected {}", rows.len())));
    }
    client
        .execute(&format!("UPDATE {COLLECTIONS} SET complete = true WHERE name = $1"), &[&t])
        .map_err(|e| pg_error(&format!("marking {t} complete"), e))?;
    Ok(report)
}

fn create_tables(client: &mut Client, shards: &mut [(&str, Client)], meta: &CollectionMeta, opts: &ExportOptions) -> Result<()> {
    let t = opts.table;
    let cols = columns(meta.dim);
    if shards.is_empty() {
        return client
            .batch_execute(&format!("CREATE EXTENSION IF NOT EXISTS vector; CREATE TABLE IF NOT EXISTS {t} ({cols}, PRIMARY KEY (id))"))
            .map_err(|e| pg_error(&format!("creating {t}"), e));
    }
    for (u, c) in shards.iter_mut() {
        c.batch_execute(&format!("CREATE EXTENSION IF NOT EXISTS vector; CREATE TABLE IF NOT EXISTS {t} ({cols}, PRIMARY KEY (id))"))
            .map_err(|e| pg_error(&format!("creating {t} on shard {}", redact(u)), e))?;
    }
    let n = shards.len();
    let mut sql = format!(
        "CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS postgres_fdw; \
         CREATE TABLE IF NOT EXISTS {t} ({cols}) PARTITION BY HASH (id);"
    );
    for (i, (u, _)) in shards.iter().enumerate() {
        let a = shard_address(u)?;
        let server = server_name(t, i);
        sql += &format!(
            "CREATE SERVER IF NOT EXISTS {server} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host {}, port {}, dbname {}, extensions 'vector', \
             options {}); \
             CREATE USER MAPPING IF NOT EXISTS FOR CURRENT_USER SERVER {server} OPTIONS (user {}{}); \
             CREATE FOREIGN TABLE IF NOT EXISTS {t}_{i} PARTITION OF {t} FOR VALUES WITH (MODULUS {n}, REMAINDER {i}) SERVER {server} \
             OPTIONS (table_name {});",
            lit(&a.host),
            lit(&a.port.to_string()),
            lit(&a.dbname),
            lit(&shard_settings(DEFAULT_EF_SEARCH)),
            lit(&a.user),
            a.password.as_deref().map(|p| format!(", password {}", lit(p))).unwrap_or_default(),
            lit(t)
        );
    }
    client.batch_execute(&sql).map_err(|e| pg_error(&format!("creating the sharded table {t}"), e))
}

/// Settings the coordinator's connections to a shard start with (`postgres_fdw` sessions do not
/// inherit the coordinator's): HNSW candidates, and iterative scans so that a LIMIT deeper than
/// `ef_search` still gets its rows, in order.
fn shard_settings(ef_search: usize) -> String {
    format!("-c hnsw.ef_search={ef_search} -c hnsw.iterative_scan=strict_order")
}

fn drop_collection(client: &mut Client, shards: &mut [(&str, Client)], t: &str) -> Result<()> {
    let mut sql = format!("DROP TABLE IF EXISTS {t}; DELETE FROM {COLLECTIONS} WHERE name = {};", lit(t));
    for i in 0..8 {
        sql += &format!("DROP SERVER IF EXISTS {} CASCADE;", server_name(t, i));
    }
    client.batch_execute(&sql).map_err(|e| pg_error(&format!("dropping {t}"), e))?;
    for (u, c) in shards.iter_mut() {
        c.batch_execute(&format!("DROP TABLE IF EXISTS {t}")).map_err(|e| pg_error(&format!("dropping {t} on {}", redact(u)), e))?;
    }
    Ok(())
}

/// A collection searched in PostgreSQL: a [`VectorIndex`] whose `nearest` is an HNSW scan there.
pub struct PgIndex {
    pub meta: CollectionMeta,
    source: Source,
    ids: Vec<String>,
    texts: Vec<String>,
    client: Mutex<Client>,
    table: String,
}

impl PgIndex {
    /// Open collection `table` at `url`: refused if missing, incomplete, or made with another model
    /// than `expected_model`. `ef_search`: HNSW candidates per scan (on every shard when sharded).
    pub fn open(url: &str, table: &str, expected_model: Option<&str>, ef_search: usize) -> Result<Self> {
        check_table_name(table)?;
        let where_ = format!("collection {table} in {}", redact(url));
        let mut client = connect(url)?;
        let meta = collection(&mut client, table)?
            .ok_or_else(|| Error::missing(&where_, "there is no such collection: create it with `medbridge export pg`"))?;
        Error::check_model(
            &where_,
            &meta.model_id,
            expected_model,
            "export the index made with this model (`medbridge export pg --replace`)",
        )?;
        if meta.format_version != super::index::FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: where_,
                found: meta.format_version,
                supported: super::index::FORMAT_VERSION,
                fix: "export it again with this build (`medbridge export pg --replace`)".into(),
            });
        }
        if !meta.complete {
            return Err(Error::missing(&where_, "its export did not finish: run the same `medbridge export pg` again to complete it"));
        }
        let ef = ef_search.clamp(1, 1000);
        client
            .batch_execute(&format!("SET hnsw.ef_search = {ef}; SET hnsw.iterative_scan = strict_order"))
            .map_err(|e| pg_error("setting hnsw.ef_search", e))?;
        if meta.shards > 0 {
            // The shards' sessions take their settings from the foreign servers' options.
            for i in 0..meta.shards {
                let server = server_name(table, i);
                let want = shard_settings(ef);
                let have: Option<String> = client
                    .query_opt(
                        "SELECT option_value FROM pg_options_to_table((SELECT srvoptions FROM pg_foreign_server WHERE srvname = $1)) \
                         WHERE option_name = 'options'",
                        &[&server],
                    )
                    .map_err(|e| pg_error("reading the shards' settings", e))?
                    .map(|r| r.get(0));
                if have.as_deref() != Some(want.as_str()) {
                    let action = if have.is_some() { "SET" } else { "ADD" };
                    client
                        .batch_execute(&format!("ALTER SERVER {server} OPTIONS ({action} options {})", lit(&want)))
                        .map_err(|e| pg_error(&format!("setting hnsw.ef_search on {server}"), e))?;
                }
            }
        }
        let mut ids = Vec::with_capacity(meta.rows);
        let mut texts = Vec::with_capacity(meta.rows);
        for (n, r) in client
            .query(&format!("SELECT id, passage_id, text FROM {table} ORDER BY id"), &[])
            .map_err(|e| pg_error(&format!("reading {table}"), e))?
            .iter()
            .enumerate()
        {
            let id: i64 = r.get(0);
            if id != n as i64 {
                return Err(Error::damaged(
                    &where_,
                    format!("row ids are not 0..{} (id {id} at position {n})", meta.rows),
                    "export it again with --replace",
                ));
            }
            ids.push(r.get(1));
            texts.push(r.get(2));
        }
        if ids.len() != meta.rows {
            return Err(Error::damaged(&where_, format!("{} rows, {} recorded", ids.len(), meta.rows), "export it again with --replace"));
        }
        Ok(Self { source: Source::parse(&meta.source), meta, ids, texts, client: Mutex::new(client), table: table.to_string() })
    }
}

impl VectorIndex for PgIndex {
    fn source(&self) -> &Source {
        &self.source
    }
    fn dim(&self) -> usize {
        self.meta.dim
    }
    fn len(&self) -> usize {
        self.ids.len()
    }
    fn passage_id(&self, i: usize) -> &str {
        &self.ids[i]
    }
    fn passage_text(&self, i: usize) -> Cow<'_, str> {
        Cow::Borrowed(&self.texts[i])
    }
    fn nearest(&self, query: &[f32], n: usize) -> Result<Vec<(usize, f32)>> {
        let t = &self.table;
        let v = pgvector::Vector::from(query.to_vec());
        let limit = n.min(self.ids.len()) as i64;
        let mut client =
            self.client.lock().map_err(|_| Error::Format("the PostgreSQL connection was poisoned by an earlier panic".into()))?;
        let rows = client
            .query(&format!("SELECT id, (embedding <=> $1)::real FROM {t} ORDER BY embedding <=> $1 LIMIT $2"), &[&v, &limit])
            .map_err(|e| pg_error(&format!("searching {t}"), e))?;
        Ok(rows.iter().map(|r| (r.get::<_, i64>(0) as usize, 1.0 - r.get::<_, f32>(1))).collect())
    }
}
