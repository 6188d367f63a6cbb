//! One error type for the library: every variant names what went wrong and where.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {msg}")]
    Parse { path: PathBuf, line: usize, msg: String },
    #[error("{0}")]
    Format(String),
    #[error("model not found in {dir}: {why}. Run `medbridge import-model` to fetch and convert it")]
    MissingModel { dir: PathBuf, why: String },
    #[error("{0}")]
    Invalid(String),
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        Error::Parse { path: path.into(), line, msg: msg.into() }
    }
}

/// Shorthand for `Error::Format(format!(..))`.
#[macro_export]
macro_rules! format_err {
    ($($t:tt)*) => { $crate::Error::Format(format!($($t)*)) };
}
