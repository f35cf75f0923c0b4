//! A read-only FAT12/16/32 reader for hostile images.
//!
//! It replaces the `fatfs` crate for evidence: that crate trusts what it
//! reads. A directory whose deleted entries loop makes its iterator spin
//! inside `next()`, a subdirectory pointing back at its parent makes a walk
//! endless, and a file's size field is believed however its cluster chain
//! runs (a 1 MiB image could yield 1 GiB). None of that can be fixed from
//! outside the crate, and it writes (a dirty flag) where evidence must not
//! change, so bootaudit reads FAT itself, in one small module.
//!
//! What holds for any input:
//! - every cluster belongs to at most one file or directory: a cluster
//!   reached twice (a loop in a chain, a directory pointing at its parent,
//!   two files sharing clusters) is an error naming the cluster and the
//!   entry, so every walk ends;
//! - a file's size must fit the volume and its chain must hold it; nothing
//!   read exceeds the volume's size or the caller's byte budget;
//! - a directory has at most 65,536 entries (the FAT limit), deleted ones
//!   included;
//! - the image is only read, never written.

use std::io::{self, Read, Seek, SeekFrom};

/// A FAT directory holds at most this many 32-byte entries.
pub const MAX_DIR_ENTRIES: usize = 65_536;

/// Why a FAT volume could not be read; each names where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FatError {
    /// The boot sector's parameters are impossible.
    #[error("byte offset {offset}: boot sector: {why}")]
    BootSector {
        /// Byte offset of the field in the image.
        offset: u64,
        /// What is wrong.
        why: String,
    },
    /// A cluster chain or a directory is malformed.
    #[error("{entry}: cluster {cluster}: {why}")]
    Chain {
        /// The file or directory (path from the root).
        entry: String,
        /// The cluster concerned.
        cluster: u32,
        /// What is wrong.
        why: String,
    },
    /// A directory entry is malformed.
    #[error("{dir}: entry {index}: {why}")]
    Entry {
        /// The directory.
        dir: String,
        /// The entry's index in it.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// More bytes than the budget allows.
    #[error(
        "{entry}: reading it would pass the {budget}-byte limit on what is read from this image"
    )]
    Budget {
        /// The file.
        entry: String,
        /// The bytes that were left.
        budget: u64,
    },
    /// The image could not be read.
    #[error("byte offset {offset}: {cause}")]
    Io {
        /// Byte offset of the read.
        offset: u64,
        /// The error, as text (io::Error is not Clone).
        cause: String,
    },
}

/// One entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The long name when the entry has a valid one, else the 8.3 name.
    pub name: String,
    /// A subdirectory.
    pub is_dir: bool,
    /// First cluster (0 for an empty file).
    pub cluster: u32,
    /// Size in bytes (files only).
    pub size: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fat12,
    Fat16,
    Fat32,
}

/// An open FAT volume in an image.
pub struct Volume<R> {
    r: R,
    /// Byte offset of the volume in the image.
    base: u64,
    cluster_size: u64,
    /// Byte offset (in the volume) of cluster 2.
    data_at: u64,
    /// Clusters 2..cluster_end are valid.
    cluster_end: u32,
    kind: Kind,
    fat: Vec<u8>,
    root: Root,
    /// One bit per cluster: already part of a file or directory.
    claimed: Vec<u64>,
}

enum Root {
    /// FAT12/16: a fixed region of `entries` entries at byte `at`.
    Fixed { at: u64, entries: usize },
    /// FAT32: a cluster chain.
    Chain(u32),
}

/// Fields of the fixed-size sectors and entries read below (the one byte
/// reader's point reads); a field past a short slice reads as 0, never a
/// panic.
fn u16_at(b: &[u8], o: usize) -> u16 {
    crate::le::u16_at(b, o).unwrap_or(0)
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    crate::le::u32_at(b, o).unwrap_or(0)
}

impl<R: Read + Seek> Volume<R> {
    /// Opens the FAT volume of `len` bytes at byte `base` of `r`, checking
    /// its boot sector against the volume's size and reading its first FAT
    /// (at most the volume's size).
    pub fn open(mut r: R, base: u64, len: u64) -> Result<Self, FatError> {
        let mut bs = [0u8; 512];
        read_exact_at(&mut r, base, &mut bs)?;
        let bad = |off: u64, why: String| FatError::BootSector {
            offset: base + off,
            why,
        };
        let bps = u16_at(&bs, 11) as u64;
        if !(512..=4096).contains(&bps) || !bps.is_power_of_two() {
            return Err(bad(11, format!("{bps} bytes per sector")));
        }
        let spc = bs[13] as u64;
        if spc == 0 || !spc.is_power_of_two() {
            return Err(bad(13, format!("{spc} sectors per cluster")));
        }
        let reserved = u16_at(&bs, 14) as u64;
        if reserved == 0 {
            return Err(bad(14, "no reserved sectors".into()));
        }
        let nfats = bs[16] as u64;
        if nfats == 0 {
            return Err(bad(16, "no FAT".into()));
        }
        let root_entries = u16_at(&bs, 17) as u64;
        let total16 = u16_at(&bs, 19) as u64;
        let fat16_size = u16_at(&bs, 22) as u64;
        let total32 = u32_at(&bs, 32) as u64;
        let fat_size = if fat16_size != 0 {
            fat16_size
        } else {
            u32_at(&bs, 36) as u64
        };
        if fat_size == 0 {
            return Err(bad(22, "a FAT of 0 sectors".into()));
        }
        let total = if total16 != 0 { total16 } else { total32 };
        let total_bytes = total.saturating_mul(bps);
        if total == 0 || total_bytes > len {
            return Err(bad(
                19,
                format!("{total} sectors of {bps} bytes do not fit the {len}-byte volume"),
            ));
        }
        let root_bytes = root_entries * 32;
        let root_sectors = root_bytes.div_ceil(bps);
        let meta = reserved + nfats * fat_size + root_sectors;
        if meta >= total {
            return Err(bad(
                14,
                format!("reserved, FAT and root sectors ({meta}) fill the {total}-sector volume"),
            ));
        }
        let clusters = (total - meta) / spc;
        let kind = if clusters < 4085 {
            Kind::Fat12
        } else if clusters < 65525 {
            Kind::Fat16
        } else {
            Kind::Fat32
        };
        if (kind == Kind::Fat32) != (root_entries == 0) {
            return Err(bad(
                17,
                format!("{clusters} clusters (so {kind:?}) with {root_entries} root entries"),
            ));
        }
        let cluster_end = u32::try_from(clusters + 2)
            .ok()
            .filter(|&c| c < 0x0fff_fff7)
            .ok_or_else(|| bad(13, format!("{clusters} clusters")))?;
        // Only as much of the FAT as the clusters need is read.
        let need = match kind {
            Kind::Fat12 => (cluster_end as u64 * 3).div_ceil(2),
            Kind::Fat16 => cluster_end as u64 * 2,
            Kind::Fat32 => cluster_end as u64 * 4,
        };
        if need > fat_size * bps {
            return Err(bad(
                22,
                format!(
                    "a FAT of {} bytes cannot map {clusters} clusters",
                    fat_size * bps
                ),
            ));
        }
        // One byte more than FAT12's last entry needs, so that reading it as a
        // u16 stays in the buffer.
        let need = (need + 1).min(fat_size * bps);
        let mut fat = vec![0u8; need as usize];
        read_exact_at(&mut r, base + reserved * bps, &mut fat)?;
        let root = if kind == Kind::Fat32 {
            Root::Chain(u32_at(&bs, 44))
        } else {
            Root::Fixed {
                at: (reserved + nfats * fat_size) * bps,
                entries: root_entries as usize,
            }
        };
        Ok(Volume {
            r,
            base,
            cluster_size: spc * bps,
            data_at: meta * bps,
            cluster_end,
            kind,
            fat,
            root,
            claimed: vec![0u64; (cluster_end as usize).div_ceil(64)],
        })
    }

    /// The FAT's entry for cluster `c` (`c` in range).
    fn next(&self, c: u32) -> u32 {
        let c = c as usize;
        match self.kind {
            Kind::Fat12 => {
                let o = c + c / 2;
                let v = u16_at(&self.fat, o) as u32;
                if c % 2 == 0 {
                    v & 0xfff
                } else {
                    v >> 4
                }
            }
            Kind::Fat16 => u16_at(&self.fat, c * 2) as u32,
            Kind::Fat32 => u32_at(&self.fat, c * 4) & 0x0fff_ffff,
        }
    }

    fn is_end(&self, v: u32) -> bool {
        match self.kind {
            Kind::Fat12 => v >= 0xff8,
            Kind::Fat16 => v >= 0xfff8,
            Kind::Fat32 => v >= 0x0fff_fff8,
        }
    }

    /// Follows the chain from `start`, claiming each cluster, for at most
    /// `limit` clusters (`None`: to its end). Errors on a cluster out of
    /// range, a free or bad cluster in the chain, or one already claimed.
    fn chain(&mut self, start: u32, limit: Option<u64>, entry: &str) -> Result<Vec<u32>, FatError> {
        let mut out = Vec::new();
        let mut c = start;
        loop {
            if c < 2 || c >= self.cluster_end {
                return Err(FatError::Chain {
                    entry: entry.into(),
                    cluster: c,
                    why: format!(
                        "outside the volume's clusters (2 to {})",
                        self.cluster_end - 1
                    ),
                });
            }
            let (w, bit) = (c as usize / 64, 1u64 << (c % 64));
            if self.claimed[w] & bit != 0 {
                return Err(FatError::Chain {
                    entry: entry.into(),
                    cluster: c,
                    why: "reached a second time (a loop, a directory pointing back, or clusters shared with another entry)".into(),
                });
            }
            self.claimed[w] |= bit;
            out.push(c);
            if limit.is_some_and(|l| out.len() as u64 >= l) {
                return Ok(out);
            }
            let n = self.next(c);
            if self.is_end(n) {
                return Ok(out);
            }
            if n == 0 || n == 1 || (n >= self.cluster_end && !self.is_end(n)) {
                return Err(FatError::Chain {
                    entry: entry.into(),
                    cluster: c,
                    why: format!("the FAT says the next cluster is {n:#x}, which is not in use"),
                });
            }
            c = n;
        }
    }

    /// The bytes of the clusters of `chain`, in order.
    fn read_chain(&mut self, chain: &[u32]) -> Result<Vec<u8>, FatError> {
        let cs = self.cluster_size as usize;
        let mut out = vec![0u8; chain.len() * cs];
        for (&c, buf) in chain.iter().zip(out.chunks_exact_mut(cs)) {
            let at = self.base + self.data_at + (c as u64 - 2) * self.cluster_size;
            read_exact_at(&mut self.r, at, buf)?;
        }
        Ok(out)
    }

    /// The root directory's entries.
    pub fn root(&mut self) -> Result<Vec<DirEntry>, FatError> {
        match self.root {
            Root::Fixed { at, entries } => {
                let mut raw = vec![0u8; entries * 32];
                let base = self.base;
                read_exact_at(&mut self.r, base + at, &mut raw)?;
                parse_dir(&raw, "/")
            }
            Root::Chain(c) => self.dir_at(c, "/"),
        }
    }

    /// The entries of the directory whose first cluster is `cluster`;
    /// `path` names it in errors.
    pub fn dir_at(&mut self, cluster: u32, path: &str) -> Result<Vec<DirEntry>, FatError> {
        let max_clusters = (MAX_DIR_ENTRIES as u64 * 32).div_ceil(self.cluster_size);
        let chain = self.chain(cluster, Some(max_clusters + 1), path)?;
        if chain.len() as u64 > max_clusters {
            return Err(FatError::Chain {
                entry: path.into(),
                cluster,
                why: format!(
                    "a directory of {} clusters: more than {MAX_DIR_ENTRIES} entries",
                    chain.len()
                ),
            });
        }
        parse_dir(&self.read_chain(&chain)?, path)
    }

    /// Reads a file's bytes, if they are at most `budget`; `path` names it
    /// in errors.
    pub fn read_file(
        &mut self,
        e: &DirEntry,
        path: &str,
        budget: u64,
    ) -> Result<Vec<u8>, FatError> {
        let size = e.size as u64;
        if size > budget {
            return Err(FatError::Budget {
                entry: path.into(),
                budget,
            });
        }
        if size == 0 {
            return Ok(Vec::new());
        }
        let clusters = size.div_ceil(self.cluster_size);
        if clusters > (self.cluster_end - 2) as u64 {
            return Err(FatError::Chain {
                entry: path.into(),
                cluster: e.cluster,
                why: format!("a size of {size} bytes does not fit the volume"),
            });
        }
        let chain = self.chain(e.cluster, Some(clusters), path)?;
        if (chain.len() as u64) < clusters {
            return Err(FatError::Chain {
                entry: path.into(),
                cluster: *chain.last().unwrap_or(&e.cluster),
                why: format!(
                    "the chain ends after {} clusters; the size ({size} bytes) needs {clusters}",
                    chain.len()
                ),
            });
        }
        let mut out = self.read_chain(&chain)?;
        out.truncate(size as usize);
        Ok(out)
    }
}

fn read_exact_at<R: Read + Seek>(r: &mut R, at: u64, buf: &mut [u8]) -> Result<(), FatError> {
    r.seek(SeekFrom::Start(at))
        .and_then(|_| r.read_exact(buf))
        .map_err(|e: io::Error| FatError::Io {
            offset: at,
            cause: if e.kind() == io::ErrorKind::UnexpectedEof {
                format!("{} bytes run past the end of the image", buf.len())
            } else {
                e.to_string()
            },
        })
}

/// The checksum of an 8.3 name that its long-name entries carry.
fn short_checksum(name: &[u8]) -> u8 {
    name.iter()
        .fold(0u8, |s, &b| s.rotate_right(1).wrapping_add(b))
}

fn short_name(e: &[u8]) -> String {
    let lower_base = e[12] & 0x08 != 0;
    let lower_ext = e[12] & 0x10 != 0;
    let part = |b: &[u8], lower: bool| -> String {
        let t: Vec<u8> = b
            .iter()
            .copied()
            .take_while(|&c| c != b' ')
            .map(|c| if lower { c.to_ascii_lowercase() } else { c })
            .collect();
        // Code-page bytes above 0x7f are not decoded; shown as U+FFFD.
        String::from_utf8_lossy(&t).into_owned()
    };
    let mut base = e[..8].to_vec();
    if base[0] == 0x05 {
        base[0] = 0xe5;
    }
    let (b, x) = (part(&base, lower_base), part(&e[8..11], lower_ext));
    if x.is_empty() {
        b
    } else {
        format!("{b}.{x}")
    }
}

/// Parses raw directory entries (32 bytes each) up to the end marker.
fn parse_dir(raw: &[u8], path: &str) -> Result<Vec<DirEntry>, FatError> {
    let mut out = Vec::new();
    // Long-name parts collected for the next short entry: (checksum,
    // expected next sequence number, UCS-2 units in order).
    let mut lfn: Option<(u8, u8, Vec<u16>)> = None;
    for (index, e) in raw.chunks_exact(32).take(MAX_DIR_ENTRIES).enumerate() {
        if e[0] == 0 {
            break;
        }
        if e[0] == 0xe5 {
            lfn = None;
            continue;
        }
        let attr = e[11];
        if attr & 0x3f == 0x0f {
            let seq = e[0] & 0x1f;
            let units = (1..11)
                .step_by(2)
                .chain((14..26).step_by(2))
                .chain((28..32).step_by(2))
                .map(|o| u16_at(e, o));
            if e[0] & 0x40 != 0 {
                if seq == 0 || seq > 20 {
                    lfn = None;
                    continue;
                }
                lfn = Some((e[13], seq, units.collect()));
            } else if let Some((ck, expect, parts)) = &mut lfn {
                if seq + 1 == *expect && seq > 0 && e[13] == *ck {
                    // Parts come last first: prepend this one.
                    let mut v: Vec<u16> = units.collect();
                    v.extend_from_slice(parts);
                    *parts = v;
                    *expect = seq;
                } else {
                    lfn = None;
                }
            }
            continue;
        }
        let long = lfn.take().and_then(|(ck, expect, units)| {
            (expect == 1 && ck == short_checksum(&e[..11])).then(|| {
                let end = units
                    .iter()
                    .position(|&u| u == 0 || u == 0xffff)
                    .unwrap_or(units.len());
                String::from_utf16_lossy(&units[..end])
            })
        });
        if attr & 0x08 != 0 {
            continue; // the volume label
        }
        let name = long.unwrap_or_else(|| short_name(e));
        if name.is_empty() || name.contains('/') || name.contains('\0') {
            return Err(FatError::Entry {
                dir: path.into(),
                index,
                why: format!("name {name:?} is not a file name"),
            });
        }
        let hi = u16_at(e, 20) as u32;
        let cluster = (hi << 16) | u16_at(e, 26) as u32;
        out.push(DirEntry {
            name,
            is_dir: attr & 0x10 != 0,
            cluster,
            size: u32_at(e, 28),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_name_checksum_matches_the_spec_example() {
        // "FILENAMEEXT": the checksum algorithm of the FAT specification,
        // worked by hand: rotate right, add the next byte, over 11 bytes.
        let mut s: u8 = 0;
        for &b in b"README  TXT" {
            s = ((s & 1) << 7).wrapping_add(s >> 1).wrapping_add(b);
        }
        assert_eq!(short_checksum(b"README  TXT"), s);
    }

    #[test]
    fn a_garbage_boot_sector_is_an_error_with_its_offset() {
        let img = vec![0u8; 4096];
        let e = Volume::open(std::io::Cursor::new(img), 0, 4096)
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("byte offset 11:"), "{e}");
    }
}
