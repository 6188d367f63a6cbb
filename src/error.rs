//! One error type for the library: every variant names what went wrong and where.
//!
//! Callers branch on the variant (or, in JavaScript, on [`Error::code`], a stable string): a model
//! mismatch, a damaged file, an unsupported format version and a missing piece each have their own,
//! carrying the command or step that fixes them. The rest are messages for people.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// Malformed input at a line of a file (JSONL, TSV, CSV …).
    #[error("{path}:{line}: {msg}")]
    Parse { path: PathBuf, line: usize, msg: String },
    /// Not one of our files at all (wrong magic, too short).
    #[error("{what}: not a MedBridge {kind} (bad magic or too short)")]
    NotOurFile { what: String, kind: &'static str },
    /// One of our files, in a format version this build does not read.
    #[error("{what}: format version {found} is not supported (this build reads version {supported}); {fix}")]
    UnsupportedVersion { what: String, found: u32, supported: u32, fix: String },
    /// A file whose checksum, length or structure is wrong.
    #[error("{what}: the file is damaged ({why}); {fix}")]
    Damaged { what: String, why: String, fix: String },
    /// Vectors, parts or assets made with other weights than the loaded model's.
    #[error("{what} was built with model {built_with:?}, but the loaded model is {loaded:?}; {fix}")]
    ModelMismatch { what: String, built_with: String, loaded: String, fix: String },
    /// A piece (model, catalogue, reranker …) that is not there, and the command that provides it.
    #[error("{what}: {fix}")]
    Missing { what: String, fix: String },
    #[error("model not found in {dir}: {why}. Run `medbridge import-model` to fetch and convert it")]
    MissingModel { dir: PathBuf, why: String },
    /// Anything else that is wrong with the input or a file's content, as a message.
    #[error("{0}")]
    Format(String),
    #[error("{0}")]
    Invalid(String),
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// The GPU failed at run time (device lost, out of memory, a failed readback): the same work
    /// can be redone on the CPU path.
    #[error("WebGPU: {0}")]
    Gpu(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
    pub fn parse(path: impl Into<PathBuf>, line: usize, msg: impl Into<String>) -> Self {
        Error::Parse { path: path.into(), line, msg: msg.into() }
    }
    pub fn damaged(what: impl Into<String>, why: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Damaged { what: what.into(), why: why.into(), fix: fix.into() }
    }
    pub fn missing(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Error::Missing { what: what.into(), fix: fix.into() }
    }

    /// Refuse `built_with` unless it is the `loaded` model (when one is given).
    pub fn check_model(what: &str, built_with: &str, loaded: Option<&str>, fix: &str) -> Result<()> {
        match loaded {
            Some(m) if m != built_with => {
                Err(Error::ModelMismatch { what: what.into(), built_with: built_with.into(), loaded: m.into(), fix: fix.into() })
            }
            _ => Ok(()),
        }
    }

    /// The same error with `what` prefixed by a location (e.g. a file's path), keeping its variant.
    pub fn at(self, location: &str) -> Self {
        let at = |what: String| if what.is_empty() { location.to_string() } else { format!("{location} ({what})") };
        match self {
            Error::NotOurFile { what, kind } => Error::NotOurFile { what: at(what), kind },
            Error::UnsupportedVersion { what, found, supported, fix } => {
                Error::UnsupportedVersion { what: at(what), found, supported, fix }
            }
            Error::Damaged { what, why, fix } => Error::Damaged { what: at(what), why, fix },
            Error::ModelMismatch { what, built_with, loaded, fix } => Error::ModelMismatch { what: at(what), built_with, loaded, fix },
            Error::Missing { what, fix } => Error::Missing { what: at(what), fix },
            Error::Format(m) => Error::Format(format!("{location}: {m}")),
            Error::Invalid(m) => Error::Invalid(format!("{location}: {m}")),
            other => other,
        }
    }

    /// A stable, machine-readable name of the variant (what the page's JavaScript switches on).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Parse { .. } => "parse",
            Error::NotOurFile { .. } => "not-medbridge-file",
            Error::UnsupportedVersion { .. } => "unsupported-version",
            Error::Damaged { .. } => "damaged-file",
            Error::ModelMismatch { .. } => "model-mismatch",
            Error::Missing { .. } | Error::MissingModel { .. } => "missing-piece",
            Error::Format(_) | Error::Invalid(_) => "invalid-input",
            Error::Candle(_) => "tensor",
            Error::Tokenizer(_) => "tokenizer",
            Error::Gpu(_) => "gpu",
        }
    }
}

/// Shorthand for `Error::Format(format!(..))`.
#[macro_export]
macro_rules! format_err {
    ($($t:tt)*) => { $crate::Error::Format(format!($($t)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_errors_keep_their_variant_and_code() {
        let e = Error::damaged("", "checksum mismatch", "rebuild it").at("x.mbix");
        assert_eq!(e.code(), "damaged-file");
        assert_eq!(e.to_string(), "x.mbix: the file is damaged (checksum mismatch); rebuild it");
        let e = Error::check_model("index", "a", Some("b"), "rebuild the index with this model").unwrap_err().at("x.mbix");
        assert!(matches!(e, Error::ModelMismatch { .. }));
        assert_eq!(e.code(), "model-mismatch");
        assert!(e.to_string().starts_with("x.mbix (index) was built with model \"a\""), "{e}");
        assert!(Error::check_model("index", "a", Some("a"), "").is_ok() && Error::check_model("index", "a", None, "").is_ok());
    }
}
