//! The six languages MedBridge serves.
use serde::{Deserialize, Serialize};

use crate::{format_err, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Lang {
    En,
    Es,
    Fr,
    Pt,
    It,
    Ca,
}

impl Lang {
    pub const ALL: [Lang; 6] = [Lang::En, Lang::Es, Lang::Fr, Lang::Pt, Lang::It, Lang::Ca];

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::Pt => "pt",
            Lang::It => "it",
            Lang::Ca => "ca",
        }
    }

    /// Languages tried, in order, when a code has no description in this one.
    pub fn fallbacks(self) -> &'static [&'static str] {
        match self {
            Lang::Ca => &["es", "fr", "it", "pt", "en"],
            Lang::Es => &["en", "fr", "pt", "it"],
            Lang::Pt => &["es", "en", "fr", "it"],
            Lang::It => &["en", "fr", "es", "pt"],
            Lang::Fr => &["en", "es", "it", "pt"],
            Lang::En => &["en", "es", "fr", "pt", "it"],
        }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Lang {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        Lang::ALL.into_iter().find(|l| l.as_str() == s).ok_or_else(|| format_err!("unknown language {s:?}: use en, es, fr, pt, it or ca"))
    }
}
