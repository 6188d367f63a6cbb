//! `medbridge export pg`: an index or a documents file into a PostgreSQL + pgvector collection.
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Subcommand};

use medbridge::documents::file::{DocsHeader, FILE as DOCS_FILE};
use medbridge::documents::DocIndex;
use medbridge::io::container;
use medbridge::retrieve::index::Index;
use medbridge::retrieve::pg::{self, ExportOptions, Passages};

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
    /// The model (--model) in the Hugging Face layout, for running the same weights in other engines
    /// (`scripts/bench-peers.sh`): model.safetensors (dequantised to f32), config.json (BertModel),
    /// sentence-transformers' pooling and normalisation modules, and our tokenizer
    /// (`scripts/peers/hf_tokenizer.py` writes Hugging Face's tokenizer.json from it).
    Hf(HfExportArgs),
}

#[derive(Args)]
pub struct HfExportArgs {
    /// The directory to write (replaced whole).
    #[arg(long)]
    out: PathBuf,
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

pub fn run(args: ExportArgs, model_dir: &Path) -> Result<()> {
    match args.target {
        ExportTarget::Pg(a) => export_pg(a),
        ExportTarget::Hf(a) => {
            let model = medbridge::model::ModelDir::open(model_dir)?;
            let n = medbridge::model::hf::export(&model, &a.out)?;
            eprintln!("{n} tensors of {} written to {} (Hugging Face layout, f32)", model.info.model_id, a.out.display());
            Ok(())
        }
    }
}

/// The passages of a documents file exported from the page.
fn documents_file(path: &Path) -> Result<Passages> {
    let bytes = std::fs::read(path).map_err(|e| medbridge::Error::io(path, e))?;
    let label = path.display().to_string();
    let (header, _): (DocsHeader, _) = container::read(&DOCS_FILE, &bytes, &label)?;
    let docs = DocIndex::new(&header.model_id, header.dim).read_export(&bytes, &label)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let passages = docs.iter().flat_map(|d| {
        let rows = d.passages.iter().zip(&d.vectors).enumerate();
        rows.map(|(n, (p, v))| (format!("{}#{n}", d.id), d.id.clone(), p.embed_text(), v.clone()))
    });
    Ok(Passages::from_passages(&header.model_id, header.dim, format!("documents:{name}"), passages))
}

fn export_pg(a: PgExportArgs) -> Result<()> {
    let passages = match (&a.index, &a.docs) {
        (Some(path), None) => Passages::from_index(&Index::load(path, None)?),
        (None, Some(path)) => documents_file(path)?,
        _ => bail!("give --index FILE.mbix or --docs FILE.mbdocs"),
    };
    let meta = &passages.meta;
    if meta.rows == 0 {
        bail!("nothing to export: the input holds no passages");
    }
    let table = a.table.clone().unwrap_or_else(|| pg::default_table_name(&meta.source));
    let rows = passages.rows();
    let opts = ExportOptions { table: &table, shards: &a.shards, m: a.m, ef_construction: a.ef_construction, replace: a.replace };
    let where_ = if a.shards.is_empty() {
        pg::redact(&a.url)
    } else {
        format!("{} (coordinator) over {} shards", pg::redact(&a.url), a.shards.len())
    };
    eprintln!("exporting {} passages ({}, model {}) to collection {table} in {where_}", rows.len(), meta.source, meta.model_id);
    let pb = super::bar(rows.len(), "rows");
    let report = pg::export(&a.url, meta, &rows, &opts, |done, _| pb.set_position(done as u64))?;
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
