//! `medbridge export pg`: an index or a documents file into a PostgreSQL + pgvector collection.
use std::borrow::Cow;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use medbridge::documents::file::{DocsHeader, FILE as DOCS_FILE};
use medbridge::documents::DocIndex;
use medbridge::io::container;
use medbridge::retrieve::index::{Index, FORMAT_VERSION};
use medbridge::retrieve::pg::{self, CollectionMeta, ExportOptions, Row};
use medbridge::retrieve::VectorIndex;

#[derive(Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    target: ExportTarget,
}

#[derive(Subcommand)]
enum ExportTarget {
    /// Into PostgreSQL + pgvector: one table per collection (id, passage and result id, text, language,
    /// model id, vector), bulk-loaded with binary COPY, with an HNSW index; idempotent and resumable
    /// (a second run loads only what is missing). `search --pg` and `eval --pg` then query it.
    Pg(PgExportArgs),
}

#[derive(Args)]
pub struct PgExportArgs {
    /// An index made by `medbridge index` (.mbix).
    #[arg(long, required_unless_present = "docs", conflicts_with = "docs")]
    index: Option<PathBuf>,
    /// Documents exported from the search page (.mbdocs): one row per passage.
    #[arg(long)]
    docs: Option<PathBuf>,
    /// The database (the coordinator, when sharded), e.g. postgres://postgres@127.0.0.1:56432/postgres.
    #[arg(long)]
    url: String,
    /// The collection's table (default: from the index's source: icd10_es, icd10_all, or the corpus file's name).
    #[arg(long)]
    table: Option<String>,
    /// A shard's URL (repeat for each): the coordinator's table is hash-partitioned over the shards
    /// through postgres_fdw, each shard holding its rows and its own HNSW index.
    #[arg(long = "shard")]
    shards: Vec<String>,
    /// HNSW: neighbours per node.
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// HNSW: candidates while building.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Drop a collection of that name first (another model or index).
    #[arg(long)]
    replace: bool,
}

pub fn run(args: ExportArgs) -> Result<()> {
    match args.target {
        ExportTarget::Pg(a) => export_pg(a),
    }
}

/// The passages of an index or a documents file, owned (rows borrow from them).
struct Passages {
    meta: CollectionMeta,
    ids: Vec<String>,
    results: Vec<String>,
    texts: Vec<String>,
    langs: Vec<Option<String>>,
    vectors: Vec<Vec<f32>>,
}

impl Passages {
    fn meta(model_id: String, source: String, doc_kind: String, dim: usize, rows: usize, shards: usize) -> CollectionMeta {
        CollectionMeta {
            name: String::new(),
            model_id,
            format_version: FORMAT_VERSION,
            source,
            doc_kind,
            dim,
            rows,
            shards,
            complete: false,
        }
    }

    fn from_index(path: &Path, shards: usize) -> Result<Self> {
        let idx = Index::load(path, None)?;
        let source = idx.source().clone();
        let ids: Vec<String> = (0..idx.len()).map(|i| idx.passage_id(i).to_string()).collect();
        let results = ids.iter().map(|p| source.result_id(p).to_string()).collect();
        let langs = ids.iter().map(|p| source.is_icd10().then(|| source.passage_lang(p).to_string())).collect();
        let meta =
            Self::meta(idx.meta.model_id.clone(), idx.meta.source.clone(), idx.meta.doc_kind.clone(), idx.meta.dim, idx.len(), shards);
        Ok(Self { meta, ids, results, langs, vectors: idx.vectors(), texts: idx.texts })
    }

    fn from_docs(path: &Path, shards: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| medbridge::Error::io(path, e))?;
        let label = path.display().to_string();
        let (header, _): (DocsHeader, _) = container::read(&DOCS_FILE, &bytes, &label)?;
        let docs = DocIndex::new(&header.model_id, header.dim).read_export(&bytes, &label)?;
        let (mut ids, mut results, mut texts, mut vectors) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for d in &docs {
            for (n, (p, v)) in d.passages.iter().zip(&d.vectors).enumerate() {
                ids.push(format!("{}#{n}", d.id));
                results.push(d.id.clone());
                texts.push(p.embed_text());
                vectors.push(v.clone());
            }
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let meta = Self::meta(header.model_id, format!("documents:{name}"), "passage".into(), header.dim, ids.len(), shards);
        Ok(Self { meta, langs: vec![None; ids.len()], ids, results, texts, vectors })
    }
}

fn export_pg(a: PgExportArgs) -> Result<()> {
    let Passages { meta, ids, results, texts, langs, vectors } = match (&a.index, &a.docs) {
        (Some(path), None) => Passages::from_index(path, a.shards.len())?,
        (None, Some(path)) => Passages::from_docs(path, a.shards.len())?,
        _ => bail!("give --index FILE.mbix or --docs FILE.mbdocs"),
    };
    if meta.rows == 0 {
        bail!("nothing to export: the input holds no passages");
    }
    let table = a.table.clone().unwrap_or_else(|| pg::default_table_name(&meta.source));
    let rows: Vec<Row> = (0..ids.len())
        .map(|i| Row {
            passage_id: &ids[i],
            result_id: &results[i],
            text: Cow::Borrowed(&texts[i]),
            language: langs[i].as_deref(),
            vector: &vectors[i],
        })
        .collect();
    let opts = ExportOptions { table: &table, shards: &a.shards, m: a.m, ef_construction: a.ef_construction, replace: a.replace };
    let where_ = if a.shards.is_empty() {
        pg::redact(&a.url)
    } else {
        format!("{} (coordinator) over {} shards", pg::redact(&a.url), a.shards.len())
    };
    eprintln!("exporting {} passages ({}, model {}) to collection {table} in {where_}", rows.len(), meta.source, meta.model_id);
    let pb = super::bar(rows.len(), "rows");
    let report = pg::export(&a.url, &meta, &rows, &opts, |done, _| pb.set_position(done as u64))?;
    pb.finish_and_clear();
    eprintln!(
        "collection {table}: {} rows ({} already there, {} loaded in {:.1} s), HNSW index in {:.1} s",
        rows.len(),
        report.already_there,
        report.loaded,
        report.load_secs,
        report.index_secs
    );
    Ok(())
}
