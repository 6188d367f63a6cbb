//! `medbridge export-web`: the model bundle + ICD-10 search asset for the page (served by `medbridge serve`).
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use medbridge::catalog::asset::{self, ASSET_FILE};
use medbridge::catalog::Catalog;
use medbridge::model::bundle::{self, BodyFormat, BUNDLE_CONFIG, BUNDLE_TOKENIZER, BUNDLE_WEIGHTS, MANIFEST_FILE};
use medbridge::retrieve::index::Index;

#[derive(Args)]
pub struct ExportWebArgs {
    /// Output directory (the page loads it from ./assets/: use www/assets).
    #[arg(long)]
    out: PathBuf,
    /// Body weights: q8_0 (default) or q4_0 (smaller download).
    #[arg(long, default_value = "q8_0")]
    body: String,
    /// An ICD-10 index (`medbridge index --icd10 …`) to ship as the page's catalogue search asset.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The catalogue the index was built from (default models/icd10/catalog.jsonl).
    #[arg(long)]
    catalog: Option<PathBuf>,
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// --out is replaced as a whole: refuse a directory holding anything but a bundle's files (e.g.
/// `www` itself instead of `www/assets`).
fn refuse_foreign_files(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("{} is not a directory: give a directory for the bundle (e.g. www/assets)", out.display());
    }
    let known = [MANIFEST_FILE, BUNDLE_WEIGHTS, BUNDLE_TOKENIZER, BUNDLE_CONFIG, ASSET_FILE];
    let mut foreign: Vec<String> = std::fs::read_dir(out)
        .with_context(|| out.display().to_string())?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !known.contains(&n.as_str()))
        .collect();
    if !foreign.is_empty() {
        foreign.sort();
        bail!(
            "{} holds files that are not part of a web bundle ({}): the bundle replaces the directory whole, so give an empty or bundle-only one (e.g. www/assets)",
            out.display(),
            foreign.join(", ")
        );
    }
    Ok(())
}

pub fn export_web(model_dir: &Path, args: ExportWebArgs) -> Result<()> {
    let body: BodyFormat = args.body.parse()?;
    // Check the inputs before the (slow) model export.
    let index = match &args.index {
        Some(p) => {
            if !p.is_file() {
                bail!("{} does not exist: build it with `medbridge index --icd10 --lang es --out {}`", p.display(), p.display());
            }
            Some(p)
        }
        None => None,
    };
    let catalog_path = args.catalog.clone().unwrap_or_else(|| PathBuf::from(super::DEFAULT_CATALOG));
    if index.is_some() && !catalog_path.is_file() {
        bail!("{} does not exist: build the catalogue with `medbridge catalog`", catalog_path.display());
    }
    // The catalogue asset is built (and a wrong index refused) before anything is written, so a
    // bad --index leaves an existing bundle as it was.
    let asset = match index {
        Some(index_path) => {
            let model_id = medbridge::model::ModelDir::open(model_dir)?.info.model_id;
            let idx = Index::load(index_path, Some(&model_id))?;
            let cat = Catalog::load_jsonl(&catalog_path)?;
            let built = asset::build(&idx, &cat).with_context(|| format!("{} + {}", index_path.display(), catalog_path.display()))?;
            Some((index_path, built))
        }
        None => None,
    };
    refuse_foreign_files(&args.out)?;
    // The bundle is written into a sibling `.NAME.partial` directory that then replaces --out whole
    // (medbridge::io::write_dir_atomic): a kill leaves the previous bundle, never new weights under
    // an old manifest; a stale catalogue asset goes with the old directory.
    let manifest = medbridge::io::write_dir_atomic(&args.out, |tmp| {
        let mut manifest = bundle::export_web(model_dir, tmp, body)?;
        if let Some((_, (bytes, _))) = &asset {
            manifest.files.retain(|f| f.name != ASSET_FILE);
            manifest.files.push(bundle::write_entry(tmp, ASSET_FILE, bytes)?);
            manifest.version = bundle::version_of(&manifest.files);
            bundle::write_entry(tmp, MANIFEST_FILE, &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"))?;
        }
        Ok(manifest)
    })?;
    if let Some((index_path, (bytes, meta))) = &asset {
        let index_bytes = std::fs::metadata(index_path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "catalogue asset {ASSET_FILE}: {} passages, {} codes ({} rows with ancestors) of {}; vectors {} as int8 vs {} as f32 ({:.0} % smaller); file {} (the .mbix index: {})",
            meta.passages,
            meta.codes,
            meta.entries,
            meta.source,
            human(meta.int8_vector_bytes),
            human(meta.f32_vector_bytes),
            100.0 * (1.0 - meta.int8_vector_bytes as f64 / meta.f32_vector_bytes as f64),
            human(bytes.len() as u64),
            human(index_bytes),
        );
    }
    eprintln!("web bundle {} in {} (version {}):", manifest.model_id, args.out.display(), manifest.version);
    for f in &manifest.files {
        eprintln!("  {:<16} {:>10}  sha256 {}", f.name, human(f.bytes), &f.sha256[..16]);
    }
    eprintln!("  total            {:>10}", human(manifest.total_bytes()));
    Ok(())
}
