//! Compiled compute pipelines (built once) and helpers to bind and dispatch them.
use wgpu::util::DeviceExt;

use super::pack::WeightFormat;

const MATMUL: &str = include_str!("../../shaders/matmul_q.wgsl");
const LAYERNORM: &str = include_str!("../../shaders/layernorm.wgsl");
const ATTENTION: &str = include_str!("../../shaders/attention.wgsl");
const GATHER: &str = include_str!("../../shaders/gather.wgsl");
const POOL: &str = include_str!("../../shaders/pool.wgsl");
const GELU: &str = include_str!("../../shaders/gelu.wgsl");

/// Code shared between shaders, pulled in by an `//#include "common/…"` line (see [`source`]).
const COMMON: &[(&str, &str)] = &[
    ("common/gelu.wgsl", include_str!("../../shaders/common/gelu.wgsl")),
    ("common/qblock.wgsl", include_str!("../../shaders/common/qblock.wgsl")),
    ("common/reduce.wgsl", include_str!("../../shaders/common/reduce.wgsl")),
];

/// The name in an `//#include "name"` line, if `line` is one.
fn include_of(line: &str) -> Option<&str> {
    line.trim().strip_prefix("//#include")?.trim().strip_prefix('"')?.strip_suffix('"')
}

/// The one way a shader's source is put together: `const NAME: u32 = Nu;` for each host-set constant
/// (QFMT, ACT, ...), then `main` with each `//#include` line replaced by that file of [`COMMON`]
/// (one level: common files include nothing). WGSL declarations are order-independent, so common
/// code may use the including shader's constants. Unknown names panic (the sources are built in;
/// a unit test resolves every include).
fn source(main: &str, consts: &[(&str, u32)]) -> String {
    let mut out: String = consts.iter().map(|(name, v)| format!("const {name}: u32 = {v}u;\n")).collect();
    for line in main.lines() {
        match include_of(line) {
            Some(name) => {
                let (_, src) =
                    COMMON.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("shader include {name:?} is not in kernels::COMMON"));
                out.push_str(src);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

// Uniform parameters, one struct per kernel, laid out exactly as the shader's `struct Params`
// (4-byte scalars, explicit padding to the 16-byte multiple uniform buffers need; a unit test
// compares them with the WGSL).

/// matmul_q.wgsl (all three variants).
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub scale_off: u32,
}

/// layernorm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct LayerNormParams {
    pub rows: u32,
    pub h: u32,
    pub eps: f32,
    pub _a: u32,
}

/// attention.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct AttentionParams {
    pub batch: u32,
    pub seq: u32,
    pub h: u32,
    pub scale: f32,
}

/// gather.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GatherParams {
    pub tokens: u32,
    pub seq: u32,
    pub h: u32,
    pub rows_per_chunk: u32,
    pub scale_off: u32,
    pub type_off: u32,
    pub _a: u32,
    pub _b: u32,
}

/// pool.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct PoolParams {
    pub batch: u32,
    pub seq: u32,
    pub h: u32,
    pub _a: u32,
}

/// gelu.wgsl.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GeluParams {
    pub n: u32,
    pub _a: u32,
    pub _b: u32,
    pub _c: u32,
}

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

#[derive(Clone)]
pub(crate) struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    label: &'static str,
}

impl Kernel {
    fn new(device: &wgpu::Device, label: &'static str, src: &str, binds: &[B]) -> Self {
        let module =
            device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(src.into()) });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = binds
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: match b {
                    B::U => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    B::R => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: true },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    B::W => wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Storage { read_only: false },
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries: &entries });
        let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
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

#[derive(Clone)]
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
    pub table: WeightFormat, // word-table format (see GpuEncoder::table_format)
    pub head_dim: u32,
}

/// Bindings of the matmul variants: params, x, w, bias, residual, y.
const MM_B: &[B] = &[B::U, B::R, B::R, B::R, B::R, B::W];

/// Every pipeline as (label, full source, bindings), in [`Kernels`] field order: what
/// `Kernels::new` compiles and the unit tests validate.
fn shaders(body: WeightFormat, table: WeightFormat, head_dim: u32) -> [(&'static str, String, &'static [B]); 8] {
    let mm = |act: u32, res: u32| source(MATMUL, &[("QFMT", body.qfmt()), ("ACT", act), ("RESID", res)]);
    [
        ("matmul", mm(0, 0), MM_B),
        ("matmul_gelu", mm(1, 0), MM_B),
        ("matmul_residual", mm(0, 1), MM_B),
        ("layernorm", source(LAYERNORM, &[]), &[B::U, B::R, B::R, B::R, B::W]),
        ("attention", source(ATTENTION, &[("HD", head_dim)]), &[B::U, B::R, B::R, B::W]),
        ("gather", source(GATHER, &[("QFMT", table.qfmt())]), &[B::U, B::R, B::R, B::R, B::R, B::R, B::R, B::W]),
        ("pool", source(POOL, &[]), &[B::U, B::R, B::R, B::W]),
        ("gelu", source(GELU, &[]), &[B::U, B::W]),
    ]
}

impl Kernels {
    pub fn new(device: &wgpu::Device, body: WeightFormat, table: WeightFormat, head_dim: u32) -> Self {
        let [matmul, matmul_gelu, matmul_res, layernorm, attention, gather, pool, gelu] =
            shaders(body, table, head_dim).map(|(label, src, binds)| Kernel::new(device, label, &src, binds));
        Self { matmul, matmul_gelu, matmul_res, layernorm, attention, gather, pool, gelu, body, table, head_dim }
    }
}

/// A uniform buffer holding one kernel's `*Params`.
pub(crate) fn uniform<P: bytemuck::Pod>(device: &wgpu::Device, params: &P) -> wgpu::Buffer {
    const {
        assert!(
            std::mem::size_of::<P>() > 0 && std::mem::size_of::<P>().is_multiple_of(16),
            "uniform params must be a non-empty multiple of 16 bytes"
        )
    };
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("params"),
        contents: bytemuck::bytes_of(params),
        usage: wgpu::BufferUsages::UNIFORM,
    })
}

pub(crate) fn storage<T: bytemuck::Pod>(device: &wgpu::Device, label: &str, data: &[T]) -> wgpu::Buffer {
    let bytes: &[u8] = bytemuck::cast_slice(data);
    if bytes.is_empty() {
        return empty(device, label, 16);
    }
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytes,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    })
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
pub(crate) async fn read_back(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    mut encoder: wgpu::CommandEncoder,
    src: &wgpu::Buffer,
    len: usize,
) -> crate::Result<Vec<f32>> {
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
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| crate::Error::Gpu(format!("GPU poll failed: {e}")))?;
    rx.await
        .map_err(|_| crate::Error::Gpu("GPU readback was cancelled".into()))?
        .map_err(|e| crate::Error::Gpu(format!("GPU readback failed: {e}")))?;
    let out = {
        let data = staging.slice(..).get_mapped_range().map_err(|e| crate::Error::Gpu(format!("GPU readback failed: {e:?}")))?;
        bytemuck::cast_slice::<u8, f32>(&data)[..len].to_vec()
    };
    staging.unmap();
    Ok(out)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use wgpu::naga;

    /// Every shader under shaders/ (not common/), as compiled in.
    const MAINS: &[(&str, &str)] = &[
        ("matmul_q.wgsl", MATMUL),
        ("layernorm.wgsl", LAYERNORM),
        ("attention.wgsl", ATTENTION),
        ("gather.wgsl", GATHER),
        ("pool.wgsl", POOL),
        ("gelu.wgsl", GELU),
    ];

    fn fn_names(src: &str) -> Vec<&str> {
        src.lines().filter_map(|l| l.trim().strip_prefix("fn ")).filter_map(|l| l.split('(').next()).map(str::trim).collect()
    }

    fn wgsl_files(dir: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut v: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".wgsl"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn includes_resolve_and_shared_code_lives_only_in_common_files() {
        // the tables cover every file on disk
        let mut mains: Vec<String> = MAINS.iter().map(|(n, _)| n.to_string()).collect();
        mains.sort();
        assert_eq!(wgsl_files("shaders"), mains, "shaders/*.wgsl and the test's MAINS table differ");
        let mut common: Vec<String> = COMMON.iter().map(|(n, _)| n.to_string()).collect();
        common.sort();
        assert_eq!(
            wgsl_files("shaders/common").iter().map(|n| format!("common/{n}")).collect::<Vec<_>>(),
            common,
            "shaders/common/*.wgsl and COMMON differ"
        );

        let mut used = std::collections::BTreeSet::new();
        for (name, src) in MAINS {
            for inc in src.lines().filter_map(include_of) {
                assert!(COMMON.iter().any(|(n, _)| *n == inc), "{name} includes {inc:?}, which is not in COMMON");
                used.insert(inc);
            }
            for l in src.lines().filter(|l| l.contains("#include")) {
                assert!(include_of(l).is_some(), "{name}: malformed include line {l:?}");
            }
        }
        let mut shared = std::collections::BTreeMap::new();
        for (cname, csrc) in COMMON {
            assert!(used.contains(cname), "{cname} is included by no shader");
            assert!(!csrc.contains("#include"), "{cname} includes another file (only one level is resolved)");
            for f in fn_names(csrc) {
                assert!(shared.insert(f, *cname).is_none(), "fn {f} is defined in two common files");
            }
        }
        assert!(shared.contains_key("reduce_sum") && shared.contains_key("gelu") && shared.contains_key("q_scale"));
        for (name, src) in MAINS {
            for f in fn_names(src) {
                assert!(!shared.contains_key(f), "{name} defines fn {f}, which {} already defines", shared[f]);
            }
        }
    }

    #[test]
    fn source_prefixes_constants_and_splices_includes() {
        let s = source("a\n//#include \"common/gelu.wgsl\"\nb", &[("QFMT", 4), ("ACT", 1)]);
        assert!(s.starts_with("const QFMT: u32 = 4u;\nconst ACT: u32 = 1u;\na\n"));
        assert!(s.contains(COMMON.iter().find(|(n, _)| *n == "common/gelu.wgsl").unwrap().1));
        assert!(s.ends_with("\nb\n") && !s.contains("#include"));
        assert_eq!(include_of("  //#include \"common/reduce.wgsl\"  "), Some("common/reduce.wgsl"));
        assert_eq!(include_of("// include \"x\""), None);
    }

    fn module(label: &str, src: &str) -> naga::Module {
        let m = naga::front::wgsl::parse_str(src).unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(src)));
        // unpack2x16float is core WGSL; naga gates it behind a capability (wgpu grants it where the device has it)
        let caps = naga::valid::Capabilities::default() | naga::valid::Capabilities::SHADER_FLOAT16_IN_FLOAT32;
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
            .validate(&m)
            .unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(src)));
        m
    }

    #[test]
    fn every_composed_shader_validates() {
        for body in [WeightFormat::Q8_0, WeightFormat::Q4_0] {
            for table in [WeightFormat::Q8_0, WeightFormat::Q4_0] {
                for hd in [32, 64] {
                    for (label, src, _) in shaders(body, table, hd) {
                        module(&format!("{label} ({body:?}, table {table:?}, head dim {hd})"), &src);
                    }
                }
            }
        }
    }

    trait Scalar {
        const KIND: naga::ScalarKind;
    }
    impl Scalar for u32 {
        const KIND: naga::ScalarKind = naga::ScalarKind::Uint;
    }
    impl Scalar for f32 {
        const KIND: naga::ScalarKind = naga::ScalarKind::Float;
    }
    fn kind<T: Scalar>(_: &T) -> naga::ScalarKind {
        T::KIND
    }

    /// (size, [(field, offset, scalar kind)]) of a Rust params struct.
    macro_rules! layout {
        ($t:ty: $($f:ident),+) => {{
            let z: $t = bytemuck::Zeroable::zeroed();
            (std::mem::size_of::<$t>(), vec![$((stringify!($f), std::mem::offset_of!($t, $f), kind(&z.$f))),+])
        }};
    }

    #[test]
    fn params_structs_match_the_wgsl_layout() {
        for (label, src, binds) in shaders(WeightFormat::Q8_0, WeightFormat::Q4_0, 32) {
            let (size, fields) = match label {
                "matmul" | "matmul_gelu" | "matmul_residual" => layout!(MatmulParams: m, n, k, scale_off),
                "layernorm" => layout!(LayerNormParams: rows, h, eps, _a),
                "attention" => layout!(AttentionParams: batch, seq, h, scale),
                "gather" => layout!(GatherParams: tokens, seq, h, rows_per_chunk, scale_off, type_off, _a, _b),
                "pool" => layout!(PoolParams: batch, seq, h, _a),
                "gelu" => layout!(GeluParams: n, _a, _b, _c),
                _ => panic!("no params struct for kernel {label}"),
            };
            assert!(matches!(binds[0], B::U), "{label}: binding 0 is the params uniform");
            let m = module(label, &src);
            let (_, ty) =
                m.types.iter().find(|(_, t)| t.name.as_deref() == Some("Params")).unwrap_or_else(|| panic!("{label} has no struct Params"));
            let naga::TypeInner::Struct { members, span } = &ty.inner else { panic!("{label}: Params is not a struct") };
            assert_eq!(*span as usize, size, "{label}: WGSL Params is {span} bytes, the Rust struct {size}");
            let wgsl: Vec<(&str, usize, naga::ScalarKind)> = members
                .iter()
                .map(|mb| {
                    let naga::TypeInner::Scalar(s) = m.types[mb.ty].inner else {
                        panic!("{label}: Params member {:?} is not a scalar", mb.name)
                    };
                    assert_eq!(s.width, 4, "{label}: Params member {:?}", mb.name);
                    (mb.name.as_deref().unwrap_or(""), mb.offset as usize, s.kind)
                })
                .collect();
            assert_eq!(wgsl, fields, "{label}: WGSL Params (left) and the Rust struct (right) differ");
            // and it is what binding 0 holds
            let p = m
                .global_variables
                .iter()
                .find(|(_, g)| g.binding.as_ref().is_some_and(|b| b.group == 0 && b.binding == 0))
                .map(|(_, g)| g)
                .unwrap();
            assert_eq!(p.space, naga::AddressSpace::Uniform, "{label}");
            assert_eq!(m.types[p.ty].name.as_deref(), Some("Params"), "{label}");
        }
    }
}
