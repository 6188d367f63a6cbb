//! The `.mbdocs` file: the user's documents exported, imported and persisted as one self-checking
//! container ([`crate::io::container`], magic `MBDX`) with a [`DocsHeader`] and a bincode payload.
use serde::{Deserialize, Serialize};

use super::{DocIndex, Document};
use crate::io::container::{self, FileKind};
use crate::{format_err, Error, Result};

pub const FORMAT_VERSION: u32 = 1;
/// The `.mbdocs` file (see [`crate::io::container`]).
pub const FILE: FileKind = FileKind { magic: b"MBDX", version: FORMAT_VERSION, name: "documents file", fix: "add the documents again" };

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocsHeader {
    pub format_version: u32,
    pub model_id: String,
    pub dim: usize,
    pub documents: usize,
    pub passages: usize,
}

impl DocIndex {
    /// The documents `ids` (all when empty) as one `.mbdocs` file: the crate's container
    /// ([`crate::io::container`], magic `MBDX`) with a [`DocsHeader`] and a bincode payload.
    pub fn export(&self, ids: &[String]) -> Result<Vec<u8>> {
        let docs: Vec<&Document> = self.documents().iter().filter(|d| ids.is_empty() || ids.contains(&d.id)).collect();
        let header = DocsHeader {
            format_version: FORMAT_VERSION,
            model_id: self.model_id.clone(),
            dim: self.dim,
            documents: docs.len(),
            passages: docs.iter().map(|d| d.passages.len()).sum(),
        };
        let payload = bincode::serialize(&docs).map_err(|e| format_err!("documents payload: {e}"))?;
        container::write(&FILE, &header, &payload)
    }

    /// Read an exported file (checks magic, version, checksum, model and dimension); `label` names it in errors.
    pub fn read_export(&self, bytes: &[u8], label: &str) -> Result<Vec<Document>> {
        let (header, payload): (DocsHeader, _) = container::read(&FILE, bytes, label)?;
        let loaded = format!("{} ({} dimensions)", self.model_id, self.dim);
        let built = format!("{} ({} dimensions)", header.model_id, header.dim);
        Error::check_model(label, &built, Some(&loaded), "add the documents again")?;
        let docs: Vec<Document> = bincode::deserialize(payload).map_err(|e| Error::damaged(label, format!("payload: {e}"), FILE.fix))?;
        if docs.len() != header.documents {
            return Err(Error::damaged(label, format!("holds {} documents, its header says {}", docs.len(), header.documents), FILE.fix));
        }
        Ok(docs)
    }
}
