//! References: what a known-good firmware image will measure and load,
//! kept in a reference store (a directory of JSON files, one per image).
//!
//! A reference is made from the vendor's image, which the judged machine
//! cannot write. It holds every volume's digests (SHA-1, SHA-256, SHA-384:
//! what EDK II logs as EV_EFI_PLATFORM_FIRMWARE_BLOB when it measures a
//! volume) and every file (volume, GUID, body hashes, SizeOfImage). Where a
//! measurement depends on the boot it says so rather than guess: a volume
//! of PEI modules that sits in a compressed section is decompressed into
//! RAM and run in place there, so its modules write their globals into the
//! very bytes that are measured after them (OVMF's PEI volume measures
//! 471281a7… in the image and 4c251b0c… in fixtures/ovmf-swtpm's boot; a
//! RAM change alone changes it, as the diff scenarios show).

use super::Inventory;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format tag of a reference file.
pub const FORMAT: &str = "bootaudit-reference/1";
/// The largest reference file read.
pub const MAX_REFERENCE_FILE: u64 = 64 << 20;
/// The most references a store may hold.
pub const MAX_REFERENCES: usize = 1000;
/// The most bytes a store's references may hold in all.
pub const MAX_STORE: u64 = 256 << 20;

/// Whether a volume's measurement can be predicted from the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measurement {
    /// Its bytes are measured as stored: the digests are what a log shows.
    Predicted,
    /// Its bytes change before they are measured (why says how).
    BootDependent {
        /// Why.
        why: String,
    },
}

/// One volume of a reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefVolume {
    /// Its name GUID (or file system GUID when it has no name).
    pub name: String,
    /// FFSv2, FFSv3, NVRAM, unknown.
    pub format: String,
    /// Its size: the length of a firmware-blob event that measures it.
    pub size: u64,
    /// Inside a compressed section.
    pub compressed: bool,
    /// Digests of its bytes, by bank (`sha1`, `sha256`, `sha384`).
    pub digests: std::collections::BTreeMap<String, String>,
    /// Whether a boot's measurement of it can be predicted.
    pub measurement: Measurement,
}

/// One FFS file of a reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefFile {
    /// The name of the volume holding it.
    pub volume: String,
    /// Its GUID.
    pub guid: String,
    /// Its type's name.
    pub type_name: String,
    /// Its UI name.
    pub ui_name: Option<String>,
    /// SHA-256 of the file.
    pub sha256: String,
    /// SHA-256 of its PE32/TE body.
    pub body_sha256: Option<String>,
    /// Authenticode SHA-256 of a PE32 body.
    pub authenticode_sha256: Option<String>,
    /// A PE32 body's SizeOfImage.
    pub size_of_image: Option<u32>,
    /// Its dependency expression.
    pub depex: Option<String>,
}

/// A reference: one vendor image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// [`FORMAT`].
    pub format: String,
    /// The vendor, as the person who added it named it.
    pub vendor: String,
    /// The version, as the person who added it named it.
    pub version: String,
    /// SHA-256 of the image.
    pub image_sha256: String,
    /// The image's size.
    pub image_size: u64,
    /// Every volume.
    pub volumes: Vec<RefVolume>,
    /// Every file but pad files.
    pub files: Vec<RefFile>,
    /// What a boot of this image measures that cannot be predicted here.
    pub unpredictable: Vec<String>,
    /// The image's structural problems, when it was accepted with them
    /// (`reference add --accept-problems`): a known-good that is known to
    /// be odd says so.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Reference {
    /// `vendor version` for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.vendor, self.version)
    }
}

/// Why a reference store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// A file or directory cannot be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A signature could not be made, or does not verify.
    #[error("{path}: {why}")]
    Signature {
        /// The reference.
        path: PathBuf,
        /// Why.
        why: crate::signing::SignError,
    },
    /// A file is not a reference.
    #[error("{path}: not a bootaudit reference: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// Makes the reference of an image read with
/// [`super::read_with_all_banks`].
pub fn build(inv: &Inventory, vendor: &str, version: &str) -> Reference {
    let mut unpredictable = Vec::new();
    let by_volume = inv.files_by_volume();
    let volumes = inv
        .volumes
        .iter()
        .map(|v| {
            let mut digests = v.other_digests.clone().unwrap_or_default();
            digests.insert("sha256".into(), v.sha256.clone());
            let peims = by_volume[v.index]
                .iter()
                .filter(|f| matches!(f.file_type, 0x04 | 0x06 | 0x08))
                .count();
            let measurement = if v.compressed && peims > 0 {
                let why = format!(
                    "volume {} holds {peims} PEI modules and is decompressed into RAM, where they run in place and write their data before it is measured",
                    inv.volume_label(v.index)
                );
                unpredictable.push(why.clone());
                Measurement::BootDependent { why }
            } else {
                Measurement::Predicted
            };
            RefVolume {
                name: inv.volume_label(v.index),
                format: v.format.into(),
                size: v.size,
                compressed: v.compressed,
                digests,
                measurement,
            }
        })
        .collect();
    unpredictable.push(
        "EV_S_CRTM_VERSION: the version string comes from the firmware's PCD database, not read here".into(),
    );
    let files = inv
        .files
        .iter()
        .filter(|f| f.file_type != 0xf0)
        .map(|f| RefFile {
            volume: inv.volume_label(f.volume),
            guid: f.guid.to_string(),
            type_name: f.type_name.into(),
            ui_name: f.ui_name.clone(),
            sha256: f.sha256.clone(),
            body_sha256: f.body.as_ref().map(|b| b.sha256.clone()),
            authenticode_sha256: f.body.as_ref().and_then(|b| b.authenticode_sha256.clone()),
            size_of_image: f.body.as_ref().and_then(|b| b.size_of_image),
            depex: f.depex.as_ref().map(|d| d.depex.expression.clone()),
        })
        .collect();
    Reference {
        format: FORMAT.into(),
        vendor: vendor.into(),
        version: version.into(),
        image_sha256: inv.sha256.clone(),
        image_size: inv.size,
        volumes,
        files,
        unpredictable,
        problems: inv
            .problems
            .iter()
            .map(|p| {
                format!(
                    "{} at {:#x}{}: {}: {}",
                    p.location,
                    p.offset,
                    if p.in_image { " (image)" } else { "" },
                    p.structure,
                    p.message
                )
            })
            .chain(
                (inv.problems_dropped > 0)
                    .then(|| format!("and {} more problems, not listed", inv.problems_dropped)),
            )
            .collect(),
    }
}

/// The file name a reference is stored under: vendor, version and the
/// image's hash, with anything but `[A-Za-z0-9._-]` replaced.
pub fn file_name(r: &Reference) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .take(64)
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{}-{}-{}.json",
        clean(&r.vendor),
        clean(&r.version),
        r.image_sha256.get(..12).unwrap_or_default()
    )
}

/// Writes a reference into the store `dir` (created when missing, never
/// through a symbolic link), atomically; with `sign_key`, its detached SSH
/// signature `FILE.sig` too (namespace
/// [`crate::signing::REFERENCE_NAMESPACE`]), made and written first, as a
/// baseline's is. Returns its path.
pub fn add(dir: &Path, r: &Reference, sign_key: Option<&Path>) -> Result<PathBuf, ReferenceError> {
    let io = |path: &Path, e: std::io::Error| ReferenceError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    match std::fs::symlink_metadata(dir) {
        Ok(_) => crate::fsutil::check_input_dir(dir).map_err(|e| io(dir, e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir(dir).map_err(|e| io(dir, e))?
        }
        Err(e) => return Err(io(dir, e)),
    }
    let path = dir.join(file_name(r));
    let mut bytes = serde_json::to_vec_pretty(r).map_err(|e| ReferenceError::Invalid {
        path: path.clone(),
        message: e.to_string(),
    })?;
    bytes.push(b'\n');
    let sig = crate::signing::sig_path(&path);
    match sign_key {
        Some(k) => {
            let armoured = crate::signing::sign_in(crate::signing::REFERENCE_NAMESPACE, k, &bytes)
                .map_err(|why| ReferenceError::Signature {
                    path: path.clone(),
                    why,
                })?;
            crate::fsutil::write_atomic(&sig, armoured.as_bytes()).map_err(|e| io(&sig, e))?;
        }
        None => {
            if std::fs::symlink_metadata(&sig).is_ok_and(|m| m.is_file()) {
                std::fs::remove_file(&sig).map_err(|e| io(&sig, e))?;
            }
        }
    }
    crate::fsutil::write_atomic(&path, &bytes).map_err(|e| io(&path, e))?;
    Ok(path)
}

/// Reads one reference file; with `allowed`, its signature (`FILE.sig`)
/// must verify against one of those signers.
pub fn read_file(
    path: &Path,
    allowed: Option<&[crate::signing::AllowedSigner]>,
) -> Result<Reference, ReferenceError> {
    let bytes =
        crate::fsutil::read_input(path, MAX_REFERENCE_FILE).map_err(|e| ReferenceError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if let Some(a) = allowed {
        crate::signing::verify_in(
            crate::signing::REFERENCE_NAMESPACE,
            &bytes,
            &crate::signing::sig_path(path),
            a,
        )
        .map_err(|why| ReferenceError::Signature {
            path: path.to_path_buf(),
            why,
        })?;
    }
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    let r: Reference =
        serde_path_to_error::deserialize(de).map_err(|e| ReferenceError::Invalid {
            path: path.to_path_buf(),
            message: format!("field {}: {}", e.path(), e.inner()),
        })?;
    if r.format != FORMAT {
        return Err(ReferenceError::Invalid {
            path: path.to_path_buf(),
            message: format!("field format: {:?}, expected {FORMAT:?}", r.format),
        });
    }
    Ok(r)
}

/// Reads every `*.json` reference of a store (a directory, not a symbolic
/// link to one), sorted by file name. A file that is not a reference, or
/// (with `allowed`) whose signature does not verify, is an error naming it:
/// a store is the user's known-good and must be whole. At most
/// [`MAX_REFERENCES`] files and [`MAX_STORE`] bytes in all.
pub fn load_dir(
    dir: &Path,
    allowed: Option<&[crate::signing::AllowedSigner]>,
) -> Result<Vec<(PathBuf, Reference)>, ReferenceError> {
    let io = |path: &Path, e: std::io::Error| ReferenceError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    crate::fsutil::check_input_dir(dir).map_err(|e| io(dir, e))?;
    let mut paths = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let e = e.map_err(|e| io(dir, e))?;
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            paths.push(p);
            if paths.len() > MAX_REFERENCES {
                return Err(ReferenceError::Invalid {
                    path: dir.to_path_buf(),
                    message: format!("more than {MAX_REFERENCES} references"),
                });
            }
        }
    }
    paths.sort();
    let mut out = Vec::new();
    let mut total = 0u64;
    for p in paths {
        total = total.saturating_add(std::fs::symlink_metadata(&p).map(|m| m.len()).unwrap_or(0));
        if total > MAX_STORE {
            return Err(ReferenceError::Invalid {
                path: dir.to_path_buf(),
                message: format!("the references hold more than {MAX_STORE} bytes in all"),
            });
        }
        let r = read_file(&p, allowed)?;
        out.push((p, r));
    }
    if out.is_empty() {
        return Err(ReferenceError::Invalid {
            path: dir.to_path_buf(),
            message: "the store holds no reference (*.json): nothing to judge against".into(),
        });
    }
    Ok(out)
}

/// One line of `bootaudit reference list`.
#[derive(Clone, Debug, Serialize)]
pub struct Listed {
    /// The reference's file.
    pub file: String,
    /// Vendor.
    pub vendor: String,
    /// Version.
    pub version: String,
    /// The image's SHA-256.
    pub image_sha256: String,
    /// Volumes.
    pub volumes: usize,
    /// Files.
    pub files: usize,
}

/// What `bootaudit reference list` shows of a store.
pub fn list(refs: &[(PathBuf, Reference)]) -> Vec<Listed> {
    refs.iter()
        .map(|(p, r)| Listed {
            file: p.display().to_string(),
            vendor: r.vendor.clone(),
            version: r.version.clone(),
            image_sha256: r.image_sha256.clone(),
            volumes: r.volumes.len(),
            files: r.files.len(),
        })
        .collect()
}
