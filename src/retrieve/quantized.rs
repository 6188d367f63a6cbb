//! The page's vector index: the f32 HNSW index's own graph (same neighbours, same entry point) over
//! int8 vectors with one f32 scale each (`q = round(x / s)`, `s = max|x| / 127`: `dim + 4` bytes
//! instead of `4·dim`; the cosine error is ~1e-3).
//!
//! The graph is transcoded, not rebuilt, from instant-distance's serialised layout (checked by a
//! round-trip test; the crate is pinned to the version whose layout this reads), with the unused
//! neighbour slots dropped.
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use instant_distance::HnswMap;
use serde::{Deserialize, Serialize};

use super::index::{Index, Vector};
use crate::{format_err, Result};

pub const QUANTIZATION: &str = "int8 + f32 scale per vector";
/// instant-distance's neighbour slots per node on layer 0 (2·M) and above (M), M = 32 in 0.6.
const ZERO_SLOTS: usize = 64;
const UPPER_SLOTS: usize = 32;
const INVALID: u32 = u32::MAX;

/// An int8 vector with its scale; distance is 1 − (approximate) cosine.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QVector {
    pub scale: f32,
    pub q: Vec<i8>,
}

impl QVector {
    pub fn quantize(v: &[f32]) -> Self {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        QVector { scale, q: v.iter().map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8).collect() }
    }

    pub fn dot(&self, o: &QVector) -> f32 {
        let s: i32 = self.q.iter().zip(&o.q).map(|(&a, &b)| a as i32 * b as i32).sum();
        s as f32 * self.scale * o.scale
    }

    pub fn to_f32(&self) -> Vec<f32> {
        self.q.iter().map(|&x| x as f32 * self.scale).collect()
    }
}

/// The HNSW graph without its points: neighbour lists (unused slots dropped), values (point → passage).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CompactGraph {
    ef_search: u64,
    zero: Vec<Vec<u32>>,
    layers: Vec<Vec<Vec<u32>>>,
    values: Vec<u32>,
}

impl CompactGraph {
    /// Check that searching the graph cannot index out of bounds (instant-distance trusts its input):
    /// one layer-0 node and one value per point, neighbours on layer 0 among the points, each upper
    /// layer non-empty, no larger than the one below and its neighbours among its own nodes (its
    /// nodes are the first points), values among the `passages`.
    pub fn check(&self, points: usize, passages: usize) -> Result<()> {
        if self.zero.len() != points || self.values.len() != points {
            return Err(format_err!("HNSW graph: {points} points but {} nodes and {} values", self.zero.len(), self.values.len()));
        }
        let bad_list = |list: &[u32], slots: usize, nodes: usize| list.len() > slots || list.iter().any(|&x| x as usize >= nodes);
        if let Some(i) = self.zero.iter().position(|z| bad_list(z, ZERO_SLOTS, points)) {
            return Err(format_err!("HNSW graph: layer-0 node {i} has a neighbour out of range"));
        }
        let mut below = points;
        for (l, layer) in self.layers.iter().enumerate() {
            if layer.is_empty() || layer.len() > below {
                return Err(format_err!("HNSW graph: layer {} has {} nodes, the layer below {below}", l + 1, layer.len()));
            }
            if let Some(i) = layer.iter().position(|node| bad_list(node, UPPER_SLOTS, layer.len())) {
                return Err(format_err!("HNSW graph: node {i} of layer {} has a neighbour out of range", l + 1));
            }
            below = layer.len();
        }
        if let Some(v) = self.values.iter().find(|&&v| v as usize >= passages) {
            return Err(format_err!("HNSW graph: value {v} out of range ({passages} passages)"));
        }
        Ok(())
    }
}

// ---- instant-distance's serialised layout (bincode 1, fixint): HnswMap { hnsw: Hnsw { ef_search: usize,
// points: Vec<P>, zero: Vec<[u32; 64]>, layers: Vec<Vec<[u32; 32]>> }, values: Vec<V> }.

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self
            .b
            .get(self.p..self.p + n)
            .ok_or_else(|| format_err!("HNSW graph: unexpected end of the serialised graph at byte {}", self.p))?;
        self.p += n;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn len(&mut self, what: &str) -> Result<usize> {
        let n = self.u64()?;
        if n as usize > self.b.len() {
            return Err(format_err!("HNSW graph: implausible {what} count {n}"));
        }
        Ok(n as usize)
    }
}

fn slots(r: &mut Reader, n: usize) -> Result<Vec<u32>> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(r.u32()?);
    }
    // Used slots come first; keep only those (and check that they do).
    let used = v.iter().position(|&x| x == INVALID).unwrap_or(n);
    if v[used..].iter().any(|&x| x != INVALID) {
        return Err(format_err!("HNSW graph: a neighbour list has a gap (unexpected instant-distance layout)"));
    }
    v.truncate(used);
    Ok(v)
}

/// Check an `.mbix` payload (bincode of ids, texts and an `HnswMap<Vector, u32>`) before it is
/// deserialised, in place and without copying its vectors: the same rules as [`CompactGraph::check`]
/// (a neighbour list ends at its first unused slot, as instant-distance reads it), every point of
/// `dim` dimensions, one point per id, nothing after the graph.
pub(crate) fn check_index_payload(payload: &[u8], dim: usize) -> Result<()> {
    let mut r = Reader { b: payload, p: 0 };
    let mut ids = 0;
    for what in ["id", "text"] {
        let n = r.len(what)?;
        for _ in 0..n {
            let l = r.len("string byte")?;
            r.take(l)?;
        }
        if what == "id" {
            ids = n;
        }
    }
    r.u64()?; // ef_search
    let n = r.len("point")?;
    if n != ids {
        return Err(format_err!("HNSW graph: {n} points for {ids} ids"));
    }
    for i in 0..n {
        let d = r.len("dimension")?;
        if d != dim {
            return Err(format_err!("HNSW graph: point {i} has {d} dimensions, not {dim}"));
        }
        r.take(d * 4)?;
    }
    fn nodes(r: &mut Reader, count: usize, slots: usize, bound: usize, what: &str) -> Result<()> {
        for i in 0..count {
            let mut open = true;
            for _ in 0..slots {
                let x = r.u32()?;
                open &= x != INVALID;
                if open && x as usize >= bound {
                    return Err(format_err!("HNSW graph: {what} node {i} has a neighbour out of range ({x} of {bound})"));
                }
            }
        }
        Ok(())
    }
    if r.len("layer-0 node")? != n {
        return Err(format_err!("HNSW graph: layer 0 does not have one node per point"));
    }
    nodes(&mut r, n, ZERO_SLOTS, n, "layer-0")?;
    let mut below = n;
    for l in 0..r.len("layer")? {
        let m = r.len("node")?;
        if m == 0 || m > below {
            return Err(format_err!("HNSW graph: layer {} has {m} nodes, the layer below {below}", l + 1));
        }
        nodes(&mut r, m, UPPER_SLOTS, m, &format!("layer-{}", l + 1))?;
        below = m;
    }
    if r.len("value")? != n {
        return Err(format_err!("HNSW graph: not one value per point"));
    }
    for _ in 0..n {
        let v = r.u32()?;
        if v as usize >= ids {
            return Err(format_err!("HNSW graph: value {v} out of range ({ids} passages)"));
        }
    }
    if r.p != payload.len() {
        return Err(format_err!("{} bytes after the HNSW graph", payload.len() - r.p));
    }
    Ok(())
}

/// Split a serialised `HnswMap<Vector, u32>` into its points (f32) and its structure.
fn decompose(graph: &HnswMap<Vector, u32>) -> Result<(Vec<Vec<f32>>, CompactGraph)> {
    let bytes = bincode::serialize(graph).map_err(|e| format_err!("HNSW graph: {e}"))?;
    let mut r = Reader { b: &bytes, p: 0 };
    let ef_search = r.u64()?;
    let n = r.len("point")?;
    let mut points = Vec::with_capacity(n);
    for _ in 0..n {
        let d = r.len("dimension")?;
        let raw = r.take(d * 4)?;
        points.push(raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect());
    }
    let nz = r.len("layer-0 node")?;
    let zero = (0..nz).map(|_| slots(&mut r, ZERO_SLOTS)).collect::<Result<Vec<_>>>()?;
    let nl = r.len("layer")?;
    let mut layers = Vec::with_capacity(nl);
    for _ in 0..nl {
        let m = r.len("node")?;
        layers.push((0..m).map(|_| slots(&mut r, UPPER_SLOTS)).collect::<Result<Vec<_>>>()?);
    }
    let nv = r.len("value")?;
    let values = (0..nv).map(|_| r.u32()).collect::<Result<Vec<_>>>()?;
    if r.p != bytes.len() || nz != n || nv != n {
        return Err(format_err!(
            "HNSW graph: unexpected serialised layout ({n} points, {nz} nodes, {nv} values, {} of {} bytes read)",
            r.p,
            bytes.len()
        ));
    }
    Ok((points, CompactGraph { ef_search, zero, layers, values }))
}

/// Rebuild an `HnswMap<P, u32>` from its structure and points (inverse of [`decompose`]; tests the
/// transcoding).
#[cfg(test)]
fn compose<P: Serialize + for<'de> Deserialize<'de>>(g: &CompactGraph, points: &[P]) -> Result<HnswMap<P, u32>> {
    let n = points.len();
    g.check(n, u32::MAX as usize)?;
    let mut out = Vec::new();
    out.extend_from_slice(&g.ef_search.to_le_bytes());
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for p in points {
        bincode::serialize_into(&mut out, p).map_err(|e| format_err!("HNSW graph: {e}"))?;
    }
    let put_slots = |out: &mut Vec<u8>, list: &[u32], total: usize| -> Result<()> {
        for i in 0..total {
            out.extend_from_slice(&list.get(i).copied().unwrap_or(INVALID).to_le_bytes());
        }
        Ok(())
    };
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for z in &g.zero {
        put_slots(&mut out, z, ZERO_SLOTS)?;
    }
    out.extend_from_slice(&(g.layers.len() as u64).to_le_bytes());
    for layer in &g.layers {
        out.extend_from_slice(&(layer.len() as u64).to_le_bytes());
        for node in layer {
            put_slots(&mut out, node, UPPER_SLOTS)?;
        }
    }
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for v in &g.values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    bincode::deserialize(&out).map_err(|e| format_err!("HNSW graph: {e}"))
}

/// An index's vectors quantised and its graph without points, as stored in a file.
pub struct Quantized {
    pub graph: CompactGraph,
    /// Per graph point: its scale, and `dim` int8 values in `vectors`.
    pub scales: Vec<f32>,
    pub vectors: Vec<i8>,
}

impl Quantized {
    pub fn from_index(index: &Index) -> Result<Self> {
        let (points, graph) = decompose(index.graph())?;
        let mut scales = Vec::with_capacity(points.len());
        let mut vectors = Vec::with_capacity(points.len() * index.meta.dim);
        for p in &points {
            let q = QVector::quantize(p);
            scales.push(q.scale);
            vectors.extend_from_slice(&q.q);
        }
        Ok(Quantized { graph, scales, vectors })
    }
}

/// The searchable int8 graph: point → passage values as in the f32 index. Searched by hand rather than
/// by instant-distance (same algorithm: greedy descent through the upper layers, then a beam of `ef`
/// candidates on layer 0, the same tie-breaking) because instant-distance keeps each point in its own
/// heap allocation and each node's neighbours in fixed 64-slot arrays: here points and neighbour lists
/// are contiguous, so a search reads 4× fewer bytes per point than the f32 graph and chases no pointers.
pub struct QuantizedIndex {
    dim: usize,
    ef_search: usize,
    /// Layer 0 and then each upper layer: the neighbours of node `i` are `links[offsets[i]..offsets[i + 1]]`.
    layers: Vec<(Vec<u32>, Vec<u32>)>,
    values: Vec<u32>,
    scales: Vec<f32>,
    vectors: Vec<i8>,
}

fn flatten(lists: &[Vec<u32>]) -> (Vec<u32>, Vec<u32>) {
    let mut offsets = Vec::with_capacity(lists.len() + 1);
    offsets.push(0);
    let mut links = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    for list in lists {
        links.extend_from_slice(list);
        offsets.push(links.len() as u32);
    }
    (offsets, links)
}

/// A candidate: (distance, point), ordered by distance and then point, as in instant-distance.
#[derive(Clone, Copy, PartialEq)]
struct Candidate(f32, u32);

impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Which points a search has seen: a stamp per point, a new generation per search (kept per thread,
/// so a search allocates nothing).
#[derive(Default)]
struct Visited {
    stamps: Vec<u32>,
    generation: u32,
}

impl Visited {
    fn begin(&mut self, points: usize) {
        if self.stamps.len() < points {
            self.stamps.resize(points, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
    }

    fn seen(&self, point: u32) -> bool {
        self.stamps[point as usize] == self.generation
    }

    /// True the first time `point` is seen in this generation.
    fn insert(&mut self, point: u32) -> bool {
        let stamp = &mut self.stamps[point as usize];
        let new = *stamp != self.generation;
        *stamp = self.generation;
        new
    }
}

thread_local! {
    static VISITED: std::cell::RefCell<Visited> = std::cell::RefCell::new(Visited::default());
}

/// Σ a·b over int8 values, exactly.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 was just detected.
        return unsafe { dot_i8_avx2(a, b) };
    }
    dot_i8_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_portable(a, b)
}

#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

impl QuantizedIndex {
    /// Rebuild the graph of `passages` passages from its stored form; checks every count and value.
    pub fn new(q: &CompactGraph, scales: &[f32], vectors: &[i8], dim: usize, passages: usize) -> Result<Self> {
        let n = scales.len();
        if vectors.len() != n * dim || n != passages {
            return Err(format_err!("{n} scales and {} int8 values for {passages} passages of {dim} dimensions", vectors.len()));
        }
        Self::from_parts(q, scales.to_vec(), vectors.to_vec(), dim, passages)
    }

    fn from_parts(q: &CompactGraph, scales: Vec<f32>, vectors: Vec<i8>, dim: usize, passages: usize) -> Result<Self> {
        q.check(scales.len(), passages)?;
        let mut layers = vec![flatten(&q.zero)];
        layers.extend(q.layers.iter().map(|l| flatten(l)));
        Ok(Self { dim, ef_search: q.ef_search as usize, layers, values: q.values.clone(), scales, vectors })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// How many candidates a search keeps on layer 0 (the index's setting).
    pub fn ef_search(&self) -> usize {
        self.ef_search
    }

    /// The `n` passages nearest to `query` (quantised like the stored vectors): (passage, cosine).
    pub fn nearest(&self, query: &[f32], n: usize) -> Vec<(usize, f32)> {
        self.candidates(query, self.ef_search).into_iter().take(n).map(|(p, cos)| (self.values[p as usize] as usize, cos)).collect()
    }

    /// Start loading point `p`'s vector and scale into the cache (a hint; no-op off x86-64).
    #[inline(always)]
    fn prefetch(&self, p: u32) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let i = p as usize;
            let bytes = &self.vectors[i * self.dim..(i + 1) * self.dim];
            // SAFETY: prefetching is a hint that never faults; the addresses are inside the slices.
            unsafe {
                for line in (0..bytes.len()).step_by(64) {
                    _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().add(line));
                }
                _mm_prefetch::<_MM_HINT_T0>(self.scales.as_ptr().add(i) as *const i8);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = p;
    }

    /// The `ef` graph points nearest to `query` as the int8 vectors see them, nearest first: (point, cosine).
    pub fn candidates(&self, query: &[f32], ef: usize) -> Vec<(u32, f32)> {
        let n = self.values.len();
        if n == 0 || query.len() != self.dim {
            return vec![];
        }
        let q = QVector::quantize(query);
        let dim = self.dim;
        let distance = |p: u32| {
            let i = p as usize;
            1.0 - dot_i8(&q.q, &self.vectors[i * dim..(i + 1) * dim]) as f32 * q.scale * self.scales[i]
        };
        VISITED.with(|visited| {
            let visited = &mut *visited.borrow_mut();
            visited.begin(n);
            let push =
                |p: u32, ef: usize, visited: &mut Visited, nearest: &mut Vec<Candidate>, queue: &mut BinaryHeap<Reverse<Candidate>>| {
                    if !visited.insert(p) {
                        return;
                    }
                    let c = Candidate(distance(p), p);
                    let at = nearest.binary_search(&c).unwrap_or_else(|at| at);
                    if at < ef {
                        nearest.insert(at, c);
                        queue.push(Reverse(c));
                    }
                };
            let mut nearest: Vec<Candidate> = Vec::with_capacity(ef + 1);
            let mut queue = BinaryHeap::new();
            push(0, ef.max(1), visited, &mut nearest, &mut queue);
            for layer in (0..self.layers.len()).rev() {
                let ef = if layer == 0 { ef.max(1) } else { 1 };
                let (offsets, links) = &self.layers[layer];
                while let Some(Reverse(c)) = queue.pop() {
                    if nearest.last().is_some_and(|far| c.0 > far.0) {
                        break;
                    }
                    let i = c.1 as usize;
                    let neighbours = &links[offsets[i] as usize..offsets[i + 1] as usize];
                    // Ask for every unseen neighbour's vector before computing any distance: the
                    // search waits on memory, and the loads then overlap (measured 1.03 → see README).
                    for &p in neighbours {
                        if !visited.seen(p) {
                            self.prefetch(p);
                        }
                    }
                    for &p in neighbours {
                        push(p, ef, visited, &mut nearest, &mut queue);
                    }
                    nearest.truncate(ef);
                }
                if layer > 0 {
                    // Down one layer: the nearest so far are the entry points (as instant-distance's `cull`).
                    queue.clear();
                    queue.extend(nearest.iter().map(|&c| Reverse(c)));
                    visited.begin(n);
                    nearest.iter().for_each(|c| {
                        visited.insert(c.1);
                    });
                }
            }
            nearest.into_iter().map(|c| (c.1, 1.0 - c.0)).collect()
        })
    }
}

/// The native f32 index's fast search: its graph over int8 points finds `ef` candidates, which are
/// then ranked by their exact f32 cosine (contiguous copies of the f32 points, 4·dim bytes each).
pub struct Rescored {
    int8: QuantizedIndex,
    exact: Vec<f32>,
}

impl Rescored {
    pub fn from_index(index: &Index) -> Result<Self> {
        let (points, graph) = decompose(index.graph())?;
        let dim = index.meta.dim;
        let mut scales = Vec::with_capacity(points.len());
        let (mut vectors, mut exact) = (Vec::with_capacity(points.len() * dim), Vec::with_capacity(points.len() * dim));
        for p in &points {
            let q = QVector::quantize(p);
            scales.push(q.scale);
            vectors.extend_from_slice(&q.q);
            exact.extend_from_slice(p);
        }
        Ok(Self { int8: QuantizedIndex::from_parts(&graph, scales, vectors, dim, index.len())?, exact })
    }

    /// The `n` passages nearest to `query` (normalised, f32), best first: (passage, cosine).
    pub fn nearest(&self, query: &[f32], n: usize) -> Vec<(usize, f32)> {
        let dim = self.int8.dim;
        let mut scored: Vec<(usize, f32)> = self
            .int8
            .candidates(query, self.int8.ef_search.max(n))
            .into_iter()
            .map(|(p, _)| {
                let i = p as usize;
                (self.int8.values[i] as usize, crate::encode::dot(query, &self.exact[i * dim..(i + 1) * dim]))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(n);
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieve::index::IndexBuilder;
    use instant_distance::Search;
    use rand::{Rng, SeedableRng};

    #[test]
    fn graph_transcode_is_exact() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let vecs: Vec<Vec<f32>> = (0..400)
            .map(|_| {
                let v: Vec<f32> = (0..24).map(|_| rng.gen_range(-1.0..1.0)).collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / n).collect()
            })
            .collect();
        let ids = (0..400).map(|i| format!("d{i}")).collect();
        let idx = IndexBuilder::default().build("m", "test", "passage", ids, vec![String::new(); 400], vecs).unwrap();
        let (points, g) = decompose(idx.graph()).unwrap();
        let back: HnswMap<Vector, u32> = compose(&g, &points.into_iter().map(Vector).collect::<Vec<_>>()).unwrap();
        assert_eq!(bincode::serialize(&back).unwrap(), bincode::serialize(idx.graph()).unwrap());
        assert!(g.zero.iter().all(|z| !z.is_empty() && z.len() <= ZERO_SLOTS && !z.contains(&INVALID)));
    }

    #[test]
    fn flat_int8_search_with_rescoring_keeps_the_library_recall() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let unit = |rng: &mut rand::rngs::StdRng| {
            let v: Vec<f32> = (0..24).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let vecs: Vec<Vec<f32>> = (0..1500).map(|_| unit(&mut rng)).collect();
        let ids = (0..1500).map(|i| format!("d{i}")).collect();
        let mut idx = IndexBuilder::default().build("m", "test", "passage", ids, vec![String::new(); 1500], vecs.clone()).unwrap();
        idx.set_ef_search(24).unwrap();
        let fast = Rescored::from_index(&idx).unwrap();
        let queries: Vec<Vec<f32>> = (0..60).map(|_| unit(&mut rng)).collect();
        let (mut ours, mut library) = (0, 0);
        for q in &queries {
            let mut exact: Vec<(usize, f32)> = vecs.iter().enumerate().map(|(i, v)| (i, crate::encode::dot(q, v))).collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1));
            let truth: Vec<usize> = exact[..10].iter().map(|e| e.0).collect();
            let got = fast.nearest(q, 10);
            assert_eq!(got.len(), 10);
            assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "best first");
            for (p, cos) in &got {
                assert!((cos - crate::encode::dot(q, &vecs[*p])).abs() < 1e-6, "scores are exact cosines");
            }
            ours += got.iter().filter(|(p, _)| truth.contains(p)).count();
            let mut s = Search::default();
            library += idx.graph().search(&Vector(q.clone()), &mut s).take(10).filter(|it| truth.contains(&(*it.value as usize))).count();
            let c = fast.int8.candidates(q, 24);
            assert!(c.len() == 24 && c.windows(2).all(|w| w[0].1 >= w[1].1 && w[0].0 != w[1].0));
        }
        let (ours, library) = (ours as f64 / 600.0, library as f64 / 600.0);
        assert!(ours >= library - 0.02 && ours > 0.8, "recall@10: ours {ours}, instant-distance {library}");
        assert!(fast.int8.candidates(&[0.0; 3], 5).is_empty(), "a query of the wrong dimension finds nothing");
    }

    #[test]
    fn a_graph_pointing_outside_itself_is_refused() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let vecs: Vec<Vec<f32>> = (0..300).map(|_| (0..8).map(|_| rng.gen_range(-1.0..1.0)).collect()).collect();
        let ids = (0..300).map(|i| format!("d{i}")).collect();
        let idx = IndexBuilder::default().build("m", "test", "passage", ids, vec![String::new(); 300], vecs).unwrap();
        let (points, g) = decompose(idx.graph()).unwrap();
        assert!(!g.layers.is_empty(), "300 points make an upper layer");
        g.check(300, 300).unwrap();
        let mut bad = Vec::new();
        let mut x = g.clone();
        x.zero[7][0] = 300;
        bad.push(x);
        let mut x = g.clone();
        let top = x.layers.len() - 1;
        let len = x.layers[top].len() as u32;
        x.layers[top][0] = vec![len];
        bad.push(x);
        let mut x = g.clone();
        x.layers.push(vec![vec![]; 301]);
        bad.push(x);
        let mut x = g.clone();
        x.values[3] = 300;
        bad.push(x);
        for x in bad {
            let e = x.check(300, 300).unwrap_err().to_string();
            assert!(e.contains("out of range") || e.contains("nodes"), "{e}");
            let pts: Vec<Vector> = points.iter().cloned().map(Vector).collect();
            assert!(compose::<Vector>(&x, &pts).is_err() || x.values[3] == 300);
        }
    }
}
