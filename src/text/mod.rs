//! Text before it is encoded: languages and tokenization (XLM-R Unigram).
pub mod lang;
pub mod tokenize;

pub use lang::Lang;
