//! Write the web model bundle: `cargo run --release --example export_web -- OUT_DIR [MODEL_DIR] [q8_0|q4_0]`.
use std::path::PathBuf;

fn main() -> medbridge::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "www/assets/model".into()));
    let model = args.next().map(PathBuf::from).unwrap_or_else(medbridge::model::default_dir);
    let body = args.next().map(|s| s.parse()).transpose()?.unwrap_or_default();
    let m = medbridge::bundle::export_web(&model, &out, body)?;
    println!("{}", serde_json::to_string_pretty(&m).unwrap());
    Ok(())
}
