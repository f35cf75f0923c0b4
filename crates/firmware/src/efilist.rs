//! CHIPSEC's `efilist.json`: the executable modules of an image as its
//! `tools.uefi.scan_image` writes and checks them, keyed by the SHA-256 of
//! each PE32/TE/PIC section's content, with its SHA-1, the file's GUID and
//! UI name, and the section type. `firmware IMAGE --format chipsec-efilist`
//! writes it, so that a CHIPSEC baseline can be made (and checked) with
//! bootaudit's reader.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// One module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// SHA-1 of the section's content.
    pub sha1: String,
    /// The file's GUID (upper case).
    pub guid: String,
    /// The file's UI name, empty when it has none.
    pub name: String,
    /// `S_PE32`, `S_TE` or `S_PIC`.
    #[serde(rename = "type")]
    pub ty: &'static str,
}

/// The list, in image order, keyed by SHA-256 (a body met twice is listed
/// once, as CHIPSEC's dictionary keeps it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Efilist(pub Vec<(String, Entry)>);

impl Serialize for Efilist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The efilist of an image.
pub fn efilist(image: &[u8]) -> Result<Efilist, super::FirmwareError> {
    use sha1::Digest;
    let mut sha1s: Vec<(usize, String)> = Vec::new();
    let inv = super::read_visiting(image, &mut |file, content| {
        sha1s.push((
            file,
            bootaudit_eventlog::hexser::encode(sha1::Sha1::digest(content)),
        ));
    })?;
    let mut out = Efilist::default();
    let mut seen = std::collections::BTreeSet::new();
    for (i, sha1) in sha1s {
        let Some(f) = inv.files.get(i) else { continue };
        let Some(b) = &f.body else { continue };
        if !seen.insert(b.sha256.clone()) {
            continue;
        }
        out.0.push((
            b.sha256.clone(),
            Entry {
                sha1,
                guid: f.guid.to_string(),
                name: f.ui_name.clone().unwrap_or_default(),
                ty: match b.kind {
                    "pe32" => "S_PE32",
                    "te" => "S_TE",
                    _ => "S_PIC",
                },
            },
        ));
    }
    Ok(out)
}
