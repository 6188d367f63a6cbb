//! Text before it is encoded: languages and tokenization (XLM-R Unigram).
pub mod lang;
pub mod tokenize;
#[cfg(feature = "cli")]
pub mod wordfreq;

pub use lang::Lang;
