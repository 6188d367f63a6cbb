//! `medbridge export-web`: the model bundle + ICD-10 search asset for the page (served by `medbridge serve`).
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use medbridge::catalog::asset::{self, ASSET_FILE};
use medbridge::catalog::Catalog;
use medbridge::model::bundle::{
    self, BodyFormat, Manifest, WebReranker, BUNDLE_CONFIG, BUNDLE_RERANKER, BUNDLE_TOKENIZER, BUNDLE_WEIGHTS, MANIFEST_FILE,
};
use medbridge::model::{ModelDir, RawTensor};
use medbridge::retrieve::index::Index;

/// What goes into a web bundle (shared by `export-web` and `export-site`).
#[derive(Args)]
pub struct BundleArgs {
    /// Body weights: q8_0 (default) or q4_0 (smaller download).
    #[arg(long, default_value = "q8_0")]
    body: String,
    /// An ICD-10 index (`medbridge index --icd10 …`) to ship as the page's catalogue search asset.
    #[arg(long)]
    index: Option<PathBuf>,
    /// The catalogue the index was built from (default models/icd10/catalog.jsonl).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Ship this cross-encoder reranker (`medbridge train cross`'s parts, e.g. models/trained/cross):
    /// only its trained top layers and head, which run on the model's own lower layers in the page.
    #[arg(long)]
    reranker: Option<PathBuf>,
    /// The reranker's base model directory (default: --model if the reranker was trained on it, else
    /// models/e5-small); the model's layers below the reranker's trained ones must be that base's.
    #[arg(long, requires = "reranker")]
    reranker_base: Option<PathBuf>,
}

#[derive(Args)]
pub struct ExportWebArgs {
    /// Output directory (the page loads it from ./assets/: use www/assets).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    bundle: BundleArgs,
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
    let known = [MANIFEST_FILE, BUNDLE_WEIGHTS, BUNDLE_TOKENIZER, BUNDLE_CONFIG, ASSET_FILE, BUNDLE_RERANKER];
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

/// A bundle's inputs, checked, and its catalogue asset built (a wrong index is refused) before anything
/// is written, so bad arguments leave an existing bundle as it was.
struct PreparedBundle {
    body: BodyFormat,
    asset: Option<(PathBuf, (Vec<u8>, asset::AssetMeta))>,
    reranker: Option<(WebReranker, Vec<RawTensor>)>,
}

fn prepare_bundle(model_dir: &Path, args: &BundleArgs) -> Result<PreparedBundle> {
    let body: BodyFormat = args.body.parse()?;
    if let Some(p) = &args.index {
        if !p.is_file() {
            bail!("{} does not exist: build it with `medbridge index --icd10 --lang es --out {}`", p.display(), p.display());
        }
    }
    let catalog_path = args.catalog.clone().unwrap_or_else(|| PathBuf::from(super::DEFAULT_CATALOG));
    if args.index.is_some() && !catalog_path.is_file() {
        bail!("{} does not exist: build the catalogue with `medbridge catalog`", catalog_path.display());
    }
    let asset = match &args.index {
        Some(index_path) => {
            let model_id = medbridge::model::ModelDir::open(model_dir)?.info.model_id;
            let idx = Index::load(index_path, Some(&model_id))?;
            let cat = Catalog::load_jsonl(&catalog_path)?;
            let built = asset::build(&idx, &cat).with_context(|| format!("{} + {}", index_path.display(), catalog_path.display()))?;
            Some((index_path.clone(), built))
        }
        None => None,
    };
    let reranker = match &args.reranker {
        Some(cross) => {
            if !cross.join(medbridge::model::parts::PARTS_MANIFEST).is_file() {
                bail!(
                    "--reranker {}: no trained reranker there ({} is missing): {}",
                    cross.display(),
                    medbridge::model::parts::PARTS_MANIFEST,
                    medbridge::retrieve::rerank::TRAIN_HINT
                );
            }
            let model = ModelDir::open(model_dir)?;
            let base = match &args.reranker_base {
                Some(b) => b.clone(),
                None => {
                    let trained_on = medbridge::model::parts::read_manifest(cross)?.base_model_id;
                    if model.info.model_id == trained_on {
                        model_dir.to_path_buf()
                    } else {
                        medbridge::model::default_dir()
                    }
                }
            };
            Some(
                medbridge::retrieve::rerank::web_parts(&model, &base, cross, body)
                    .with_context(|| format!("--reranker {}", cross.display()))?,
            )
        }
        None => None,
    };
    Ok(PreparedBundle { body, asset, reranker })
}

/// Write the bundle's files and manifest into `dir`.
fn write_bundle(model_dir: &Path, prepared: &PreparedBundle, dir: &Path) -> medbridge::Result<Manifest> {
    let mut manifest = bundle::export_web(model_dir, dir, prepared.body)?;
    if prepared.asset.is_none() && prepared.reranker.is_none() {
        return Ok(manifest);
    }
    if let Some((_, (bytes, _))) = &prepared.asset {
        manifest.files.push(bundle::write_entry(dir, ASSET_FILE, bytes)?);
    }
    if let Some((entry, tensors)) = &prepared.reranker {
        manifest.files.push(bundle::write_reranker(dir, entry, tensors)?);
        manifest.reranker = Some(entry.clone());
    }
    manifest.version = bundle::version_of(&manifest.files);
    bundle::write_entry(dir, MANIFEST_FILE, &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"))?;
    Ok(manifest)
}

fn print_bundle(prepared: &PreparedBundle, manifest: &Manifest, dir: &Path) {
    if let Some((index_path, (bytes, meta))) = &prepared.asset {
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
    eprintln!("web bundle {} in {} (version {}):", manifest.model_id, dir.display(), manifest.version);
    if let Some(r) = &manifest.reranker {
        eprintln!("  reranker {} (its layers {} and up + head in {}; the rest shared with the model)", r.model_id, r.first_layer, r.file);
    }
    for f in &manifest.files {
        eprintln!("  {:<16} {:>10}  sha256 {}", f.name, human(f.bytes), &f.sha256[..16]);
    }
    eprintln!("  total            {:>10}", human(manifest.total_bytes()));
}

pub fn export_web(model_dir: &Path, args: ExportWebArgs) -> Result<()> {
    let prepared = prepare_bundle(model_dir, &args.bundle)?;
    refuse_foreign_files(&args.out)?;
    // The bundle is written into a sibling `.NAME.partial` directory that then replaces --out whole
    // (medbridge::io::write_dir_atomic): a kill leaves the previous bundle, never new weights under
    // an old manifest; a stale catalogue asset goes with the old directory.
    let manifest = medbridge::io::write_dir_atomic(&args.out, |tmp| write_bundle(model_dir, &prepared, tmp))?;
    print_bundle(&prepared, &manifest, &args.out);
    Ok(())
}

/// The page's files `export-site` copies from `--www` (UI, engine worker, styles), and the engine's.
const PAGE_FILES: [&str; 6] = ["index.html", "app.js", "package/index.js", "worker.js", "style.css", "favicon.svg"];
const ENGINE_FILES: [&str; 2] = ["pkg/medbridge.js", "pkg/medbridge_bg.wasm"];
/// Marks a directory `export-site` wrote (so a rerun may replace it) and lists what it holds.
const SITE_MARKER: &str = "medbridge-site.json";
/// The folder of the site that holds the bundle (the page loads `./assets/`).
const SITE_ASSETS: &str = "assets";

#[derive(Args)]
pub struct ExportSiteArgs {
    /// Output directory: the whole static site (page, engine, model assets), replaced whole.
    #[arg(long)]
    out: PathBuf,
    /// Where the page's files are, with the wasm engine built into DIR/pkg (`bash scripts/build-wasm.sh`).
    #[arg(long, default_value = "www")]
    www: PathBuf,
    /// Copy this bundle (`medbridge export-web --out DIR`, every file checked against its manifest) instead
    /// of exporting the model again.
    #[arg(long, conflicts_with_all = ["index", "catalog"])]
    assets: Option<PathBuf>,
    /// The URL path the site is published under, for the paths in `_headers` (the page itself works
    /// under any path: all its URLs are relative).
    #[arg(long, default_value = "/")]
    base: String,
    #[command(flatten)]
    bundle: BundleArgs,
}

#[derive(serde::Serialize)]
struct SiteFile {
    name: String,
    bytes: u64,
}

/// The `_headers` file static hosts such as Netlify and Cloudflare Pages read: the same headers as
/// `medbridge serve`. Hosts that ignore it still get the CSP from the page's `<meta>` tag.
fn headers_file(base: &str) -> String {
    format!(
        "# Response headers for static hosts that read this file (Netlify, Cloudflare Pages), written by\n\
         # `medbridge export-site`: the same as `medbridge serve`. Hosts that ignore it still get the page's\n\
         # Content-Security-Policy from its <meta> tag (which cannot set frame-ancestors).\n\
         {base}*\n  Content-Security-Policy: {}\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: no-referrer\n  \
         Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Resource-Policy: same-origin\n",
        super::serve::CSP
    )
}

/// Copy an export-web bundle, checking each file against its manifest (a damaged bundle is refused).
fn copy_bundle(from: &Path, to: &Path) -> medbridge::Result<Manifest> {
    let (manifest, manifest_bytes, files) = bundle::read_dir(from)?;
    std::fs::create_dir_all(to).map_err(|e| medbridge::Error::io(to, e))?;
    for entry in &manifest.files {
        bundle::write_entry(to, &entry.name, &files[&entry.name])?;
    }
    bundle::write_entry(to, MANIFEST_FILE, &manifest_bytes)?;
    Ok(manifest)
}

fn copy_file(from: &Path, to: &Path) -> medbridge::Result<u64> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| medbridge::Error::io(dir, e))?;
    }
    std::fs::copy(from, to).map_err(|e| medbridge::Error::io(from, e))
}

/// Every file under `dir` (relative paths, `/`-separated, sorted) with its size.
fn list_files(dir: &Path, prefix: &str, out: &mut Vec<SiteFile>) -> medbridge::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(|e| medbridge::Error::io(dir, e))?.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        let path = e.path();
        if path.is_dir() {
            list_files(&path, &format!("{name}/"), out)?;
        } else {
            out.push(SiteFile { bytes: path.metadata().map_err(|err| medbridge::Error::io(&path, err))?.len(), name });
        }
    }
    Ok(())
}

/// `medbridge export-site`: the page, its engine and its assets as one folder any static file server can
/// host, under any path, and stay private: every URL is relative and same-origin, the CSP is in the page.
pub fn export_site(model_dir: &Path, args: ExportSiteArgs) -> Result<()> {
    let base = &args.base;
    if !base.starts_with('/') || !base.ends_with('/') || base.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("--base must be a URL path starting and ending with / and without spaces, e.g. /demo/medbridge/ (got {base:?})");
    }
    for name in PAGE_FILES {
        if !args.www.join(name).is_file() {
            bail!("{} is missing: --www must be the page's folder (default www)", args.www.join(name).display());
        }
    }
    for name in ENGINE_FILES {
        if !args.www.join(name).is_file() {
            bail!("{} is missing: build the wasm engine first (`bash scripts/build-wasm.sh`)", args.www.join(name).display());
        }
    }
    let prepared = match &args.assets {
        Some(dir) => {
            if !dir.join(MANIFEST_FILE).is_file() {
                bail!("{} has no {MANIFEST_FILE}: give a folder written by `medbridge export-web --out`", dir.display());
            }
            None
        }
        None => Some(prepare_bundle(model_dir, &args.bundle)?),
    };
    if args.out.exists() {
        let empty = args.out.read_dir().with_context(|| args.out.display().to_string())?.next().is_none();
        if !empty && !args.out.join(SITE_MARKER).is_file() {
            bail!(
                "{} is not empty and was not written by `medbridge export-site`: the site replaces the folder whole, so give an empty or new one",
                args.out.display()
            );
        }
    }
    let (manifest, files) = medbridge::io::write_dir_atomic(&args.out, |tmp| {
        for name in PAGE_FILES.iter().chain(&ENGINE_FILES) {
            copy_file(&args.www.join(name), &tmp.join(name))?;
        }
        let assets = tmp.join(SITE_ASSETS);
        let manifest = match (&args.assets, &prepared) {
            (Some(dir), _) => copy_bundle(dir, &assets)?,
            (None, Some(p)) => {
                std::fs::create_dir_all(&assets).map_err(|e| medbridge::Error::io(&assets, e))?;
                write_bundle(model_dir, p, &assets)?
            }
            (None, None) => unreachable!("a bundle is either copied or prepared"),
        };
        std::fs::write(tmp.join("_headers"), headers_file(base)).map_err(|e| medbridge::Error::io(tmp.join("_headers"), e))?;
        let mut files = Vec::new();
        list_files(tmp, "", &mut files)?;
        let marker = serde_json::json!({
            "format": "medbridge-site/1",
            "bundle_version": manifest.version,
            "model_id": manifest.model_id,
            "base": base,
            "files": files,
        });
        let marker_bytes = serde_json::to_vec_pretty(&marker).expect("site listing serialises");
        std::fs::write(tmp.join(SITE_MARKER), &marker_bytes).map_err(|e| medbridge::Error::io(tmp.join(SITE_MARKER), e))?;
        files.push(SiteFile { name: SITE_MARKER.into(), bytes: marker_bytes.len() as u64 });
        Ok((manifest, files))
    })?;
    if let Some(p) = &prepared {
        print_bundle(p, &manifest, &args.out.join(SITE_ASSETS));
    }
    let total: u64 = files.iter().map(|f| f.bytes).sum();
    let engine: u64 = files.iter().filter(|f| f.name.starts_with("pkg/")).map(|f| f.bytes).sum();
    eprintln!(
        "static site in {}: {} files, {} ({} model assets, {} wasm engine, {} page); serve it from any static host under {base}",
        args.out.display(),
        files.len(),
        human(total),
        human(manifest.total_bytes()),
        human(engine),
        human(total - manifest.total_bytes() - engine),
    );
    Ok(())
}
