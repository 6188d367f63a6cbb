//! MedBridge: private, multilingual clinical search.
//!
//! The data flows text → encode → retrieve (index, BM25, fusion, rerank) → evaluate; modules follow
//! it. The CLI (`src/cli`, binary `src/main.rs`) and the wasm API (`src/web`) are thin shells over
//! this library.

pub mod catalog;
pub mod corpus;
pub mod documents;
pub mod encode;
pub mod error;
pub mod eval;
#[cfg(feature = "webgpu")]
pub mod gpu;
pub mod io;
pub mod model;
pub mod retrieve;
pub mod text;
// The CLI's end-to-end search (the page runs the same `Retriever` through `catalog::asset`).
#[cfg(not(target_arch = "wasm32"))]
pub mod pipeline;
pub mod synth;
// Training runs natively (CPU or CUDA); the page never trains.
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
#[cfg(all(target_arch = "wasm32", feature = "wasm"))]
pub mod web;

pub use error::{Error, Result};
