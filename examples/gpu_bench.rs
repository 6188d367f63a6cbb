//! GPU (WebGPU/wgpu) vs CPU (candle) encoder timing on the real model, in one run.
//!
//! `WGPU_BACKEND=vulkan cargo run --features webgpu --example gpu_bench [-- MODEL_DIR]`
//! On Mesa lavapipe (a CPU rasteriser) this mostly checks plumbing; on a real GPU it measures.
#[cfg(feature = "webgpu")]
fn main() -> medbridge::Result<()> {
    use std::time::{Duration, Instant};

    use medbridge::encode::{Encoder, Kind};
    use medbridge::gpu::{GpuContext, GpuEncoder, GpuOptions, WeightFormat};
    use medbridge::model::ModelDir;

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }
    fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
        f(); // warm-up
        median(
            (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                })
                .collect(),
        )
    }

    let dir = std::env::args().nth(1).map(std::path::PathBuf::from).unwrap_or_else(medbridge::model::default_dir);
    let cpu = Encoder::load(&dir)?;
    let md = ModelDir::open(&dir)?;
    let tensors = md.raw_tensors()?;
    let ctx = pollster::block_on(GpuContext::request())?
        .ok_or_else(|| medbridge::format_err!("no wgpu adapter (install mesa-vulkan-drivers, try WGPU_BACKEND=vulkan)"))?;
    println!("adapter: {} ({:?}, {:?})", ctx.adapter.name, ctx.adapter.backend, ctx.adapter.device_type);
    let pad = cpu.tokenizer.pad_id();

    let query = cpu.tokenize("dolor de cabeza intenso con fiebre", Kind::Query)?.ids;
    let texts = [
        "Diabetes mellitus tipo 2 con nefropatía diabética",
        "Type 2 diabetes mellitus with diabetic chronic kidney disease",
        "Infarto agudo do miocárdio",
        "Fracture of shaft of right femur, initial encounter",
        "Insuffisance cardiaque congestive",
        "Polmonite batterica, non specificata",
        "Essential (primary) hypertension",
        "Trastorno depresivo mayor, episodio único",
    ];
    let docs: Vec<Vec<u32>> =
        (0..32).map(|i| cpu.tokenize(texts[i % texts.len()], Kind::Passage).map(|t| t.ids)).collect::<Result<_, _>>()?;
    let batch: Vec<&[u32]> = docs.iter().map(|d| d.as_slice()).collect();
    let ntok: usize = docs.iter().map(|d| d.len()).sum();
    let maxlen = docs.iter().map(|d| d.len()).max().unwrap_or(0);
    println!("single query: {} tokens; batch: 32 texts, {ntok} tokens (padded to {maxlen})", query.len());

    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let cpu_single = time(runs, || cpu.embed_ids(&[&query]).unwrap());
    let cpu_batch = time(runs, || cpu.embed_ids(&batch).unwrap());
    println!(
        "{:<14} single {:>9.1} ms   batch-32 {:>9.1} ms  ({:>7.1} texts/s)",
        "candle CPU",
        ms(cpu_single),
        ms(cpu_batch),
        32.0 / cpu_batch.as_secs_f64()
    );
    for fmt in [WeightFormat::Q8_0, WeightFormat::Q4_0] {
        let t = Instant::now();
        let gpu =
            pollster::block_on(GpuEncoder::new(ctx.device.clone(), ctx.queue.clone(), &md.info.config, &tensors, GpuOptions::new(fmt)))?;
        let build = t.elapsed();
        let single = time(runs, || pollster::block_on(gpu.embed_ids(&[&query], pad)).unwrap());
        let b = time(runs, || pollster::block_on(gpu.embed_ids(&batch, pad)).unwrap());
        println!(
            "{:<14} single {:>9.1} ms   batch-32 {:>9.1} ms  ({:>7.1} texts/s)   build {:.0} ms   GPU/CPU time ratio: single {:.2}, batch {:.2}",
            format!("wgpu {fmt:?}"),
            ms(single),
            ms(b),
            32.0 / b.as_secs_f64(),
            ms(build),
            single.as_secs_f64() / cpu_single.as_secs_f64(),
            b.as_secs_f64() / cpu_batch.as_secs_f64()
        );
    }
    Ok(())
}

#[cfg(feature = "webgpu")]
fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(not(feature = "webgpu"))]
fn main() {
    eprintln!("gpu_bench needs `--features webgpu`");
}
