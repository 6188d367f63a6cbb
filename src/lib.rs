//! MedBridge: private, multilingual clinical search.
//!
//! The data flows tokenize → encode → index → rerank → evaluate; modules follow it.
//! The CLI (`src/main.rs`) and the wasm API are thin shells over this library.

pub mod error;
pub mod model;
pub mod tokenize;
pub mod encode;
pub mod corpus;
pub mod index;
pub mod catalog;
pub mod bm25;
pub mod eval;
#[cfg(feature = "webgpu")] pub mod gpu;
pub mod search;
pub mod rerank;
pub mod bundle;
pub mod catalog_asset;
pub mod docs;
pub mod synth;
pub mod train;
#[cfg(all(target_arch = "wasm32", feature = "wasm"))]
pub mod web;

pub use error::{Error, Result};
