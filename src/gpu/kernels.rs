//! Compiled compute pipelines (built once) and helpers to bind and dispatch them.
use wgpu::util::DeviceExt;

use super::pack::WeightFormat;

const GELU_COMMON: &str = include_str!("../../shaders/gelu_common.wgsl");
const MATMUL: &str = include_str!("../../shaders/matmul_q.wgsl");
const LAYERNORM: &str = include_str!("../../shaders/layernorm.wgsl");
const ATTENTION: &str = include_str!("../../shaders/attention.wgsl");
const GATHER: &str = include_str!("../../shaders/gather.wgsl");
const POOL: &str = include_str!("../../shaders/pool.wgsl");
const GELU: &str = include_str!("../../shaders/gelu.wgsl");

/// Largest workgroup count per dispatch dimension (WebGPU default limit).
pub const MAX_GROUPS: u32 = 65535;

#[derive(Clone, Copy)]
pub(crate) enum B {
    /// uniform
    U,
    /// read-only storage
    R,
    /// read-write storage
    W,
}

pub(crate) struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    label: &'static str,
}

impl Kernel {
    fn new(device: &wgpu::Device, label: &'static str, src: &str, binds: &[B]) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(src.into()) });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = binds
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: match b {
                    B::U => wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Uniform, has_dynamic_offset: false, min_binding_size: None },
                    B::R => wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only: true }, has_dynamic_offset: false, min_binding_size: None },
                    B::W => wgpu::BindingType::Buffer { ty: wgpu::BufferBindingType::Storage { read_only: false }, has_dynamic_offset: false, min_binding_size: None },
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries: &entries });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor { label: Some(label), bind_group_layouts: &[Some(&layout)], immediate_size: 0 });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: Some(&pl),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        Self { pipeline, layout, label }
    }

    pub(crate) fn bind(&self, device: &wgpu::Device, bufs: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> =
            bufs.iter().enumerate().map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() }).collect();
        device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(self.label), layout: &self.layout, entries: &entries })
    }

    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub(crate) fn label(&self) -> &'static str {
        self.label
    }

    pub(crate) fn dispatch(&self, pass: &mut wgpu::ComputePass<'_>, bg: &wgpu::BindGroup, groups: (u32, u32, u32)) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, bg, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    }
}

/// A 1-D count of workgroups as a 2-D grid within the per-dimension limit (shaders linearise it).
pub(crate) fn grid(n: u32) -> (u32, u32, u32) {
    if n <= MAX_GROUPS {
        (n.max(1), 1, 1)
    } else {
        (MAX_GROUPS, n.div_ceil(MAX_GROUPS), 1)
    }
}

pub(crate) struct Kernels {
    pub matmul: Kernel,
    pub matmul_gelu: Kernel,
    pub matmul_res: Kernel,
    pub layernorm: Kernel,
    pub attention: Kernel,
    pub gather: Kernel,
    pub pool: Kernel,
    pub gelu: Kernel,
    pub body: WeightFormat,
    pub table: WeightFormat,  // word-table format (see GpuEncoder::table_format)
    pub head_dim: u32,
}

impl Kernels {
    pub fn new(device: &wgpu::Device, body: WeightFormat, table: WeightFormat, head_dim: u32) -> Self {
        let mm = |act: u32, res: u32| {
            format!("const QFMT: u32 = {}u;\nconst ACT: u32 = {act}u;\nconst RESID: u32 = {res}u;\n{GELU_COMMON}\n{MATMUL}", body.qfmt())
        };
        let mm_b = [B::U, B::R, B::R, B::R, B::R, B::W];
        Self {
            matmul: Kernel::new(device, "matmul", &mm(0, 0), &mm_b),
            matmul_gelu: Kernel::new(device, "matmul_gelu", &mm(1, 0), &mm_b),
            matmul_res: Kernel::new(device, "matmul_residual", &mm(0, 1), &mm_b),
            layernorm: Kernel::new(device, "layernorm", LAYERNORM, &[B::U, B::R, B::R, B::R, B::W]),
            attention: Kernel::new(device, "attention", &format!("const HD: u32 = {head_dim}u;\n{ATTENTION}"), &[B::U, B::R, B::R, B::W]),
            gather: Kernel::new(
                device,
                "gather",
                &format!("const QFMT: u32 = {}u;\n{GATHER}", table.qfmt()),
                &[B::U, B::R, B::R, B::R, B::R, B::R, B::R, B::W],
            ),
            pool: Kernel::new(device, "pool", POOL, &[B::U, B::R, B::R, B::W]),
            gelu: Kernel::new(device, "gelu", &format!("{GELU_COMMON}\n{GELU}"), &[B::U, B::W]),
            body,
            table,
            head_dim,
        }
    }
}

pub(crate) fn uniform(device: &wgpu::Device, words: &[u32]) -> wgpu::Buffer {
    let mut w = words.to_vec();
    w.resize(words.len().div_ceil(4).max(1) * 4, 0);
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some("params"), contents: bytemuck::cast_slice(&w), usage: wgpu::BufferUsages::UNIFORM })
}

pub(crate) fn storage<T: bytemuck::Pod>(device: &wgpu::Device, label: &str, data: &[T]) -> wgpu::Buffer {
    let bytes: &[u8] = bytemuck::cast_slice(data);
    if bytes.is_empty() {
        return empty(device, label, 16);
    }
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents: bytes, usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC })
}

pub(crate) fn empty(device: &wgpu::Device, label: &str, bytes: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(16).div_ceil(4) * 4,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Copy `len` f32 from `src` into a staging buffer and await it (map_async through a channel; natively
/// the device is polled until done, in the browser the event loop drives the callback).
pub(crate) async fn read_back(device: &wgpu::Device, queue: &wgpu::Queue, mut encoder: wgpu::CommandEncoder, src: &wgpu::Buffer, len: usize) -> crate::Result<Vec<f32>> {
    let bytes = (len * 4) as u64;
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("staging"),
        size: bytes.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    if bytes > 0 {
        encoder.copy_buffer_to_buffer(src, 0, &staging, 0, bytes);
    }
    queue.submit(Some(encoder.finish()));
    let (tx, rx) = futures_channel::oneshot::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| crate::format_err!("GPU poll failed: {e}"))?;
    rx.await
        .map_err(|_| crate::format_err!("GPU readback was cancelled"))?
        .map_err(|e| crate::format_err!("GPU readback failed: {e}"))?;
    let out = {
        let data = staging.slice(..).get_mapped_range().map_err(|e| crate::format_err!("GPU readback failed: {e:?}"))?;
        bytemuck::cast_slice::<u8, f32>(&data)[..len].to_vec()
    };
    staging.unmap();
    Ok(out)
}
