//! What is known to be bad: the LOLDrivers list the user supplies
//! (`--loldrivers`, its `drivers.csv`), and bootaudit's own curated list
//! of tools and drivers that can write the firmware from a running OS.
//!
//! A record is matched by hash where it carries one (Sysmon gives SHA-1,
//! MD5, SHA-256); by file name only where it carries none (System 7045,
//! Security 4697, a journal line), and such a match says so. A record that
//! carries hashes none of which match is another build of the file: its
//! name alone does not match it to a LOLDrivers entry. The curated list is
//! of names (its sources publish no hashes), so it matches by name always.

use super::{Event, Match, TimelineError};
use std::collections::HashMap;
use std::path::Path;

/// The LOLDrivers file is at most this large (the full list is about
/// 1.2 MB in 2026).
pub const MAX_LIST_BYTES: u64 = 64 << 20;

/// At most this many entries.
pub const MAX_ENTRIES: usize = 200_000;

/// One LOLDrivers entry.
#[derive(Clone, Debug)]
pub struct LolEntry {
    /// Its `Id` (a UUID).
    pub id: String,
    /// Its `Category` (`vulnerable driver`, `malicious`).
    pub category: String,
    /// Its file names (`Tags`), lower case.
    pub names: Vec<String>,
}

/// The LOLDrivers list, indexed by hash and by file name.
#[derive(Clone, Debug, Default)]
pub struct LolDrivers {
    /// The file it was read from.
    pub file: String,
    /// The entries.
    pub entries: Vec<LolEntry>,
    by_hash: HashMap<String, (usize, &'static str)>,
    by_name: HashMap<String, usize>,
}

impl LolDrivers {
    /// The entry a hash (any case) names, and which kind of hash it is.
    pub fn by_hash(&self, hex: &str) -> Option<(&LolEntry, &'static str)> {
        let (i, by) = self.by_hash.get(&hex.to_ascii_lowercase())?;
        Some((&self.entries[*i], *by))
    }

    /// The first entry a file name (lower case) names.
    pub fn by_name(&self, name: &str) -> Option<&LolEntry> {
        self.by_name.get(name).map(|i| &self.entries[*i])
    }
}

/// The columns of drivers.csv whose cells hold hashes (several, comma
/// separated), and the kind each is.
const HASH_COLUMNS: &[(&str, &str)] = &[
    ("KnownVulnerableSamples_SHA256", "sha256"),
    ("KnownVulnerableSamples_SHA1", "sha1"),
    ("KnownVulnerableSamples_MD5", "md5"),
    ("KnownVulnerableSamples_Authentihash_SHA256", "authentihash"),
    ("KnownVulnerableSamples_Authentihash_SHA1", "authentihash"),
    ("KnownVulnerableSamples_Authentihash_MD5", "authentihash"),
];

/// Reads LOLDrivers' `drivers.csv`.
pub fn read_loldrivers(path: &Path) -> Result<LolDrivers, TimelineError> {
    let file = path.display().to_string();
    let bytes = crate::fsutil::read_input(path, MAX_LIST_BYTES)
        .map_err(|e| TimelineError::file(&file, format!("cannot read: {e}")))?;
    parse_loldrivers(&bytes, &file)
}

/// Parses LOLDrivers' `drivers.csv` held in memory; `file` names it in
/// errors.
pub fn parse_loldrivers(bytes: &[u8], file: &str) -> Result<LolDrivers, TimelineError> {
    let mut r = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = r
        .headers()
        .map_err(|e| TimelineError::file(file, format!("not a CSV file: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(id_col), Some(cat_col), Some(tags_col)) = (col("Id"), col("Category"), col("Tags"))
    else {
        return Err(TimelineError::file(
            file,
            "not LOLDrivers' drivers.csv: no Id, Category and Tags columns",
        ));
    };
    let hash_cols: Vec<(usize, &'static str)> = HASH_COLUMNS
        .iter()
        .filter_map(|(n, k)| col(n).map(|i| (i, *k)))
        .collect();
    if hash_cols.is_empty() {
        return Err(TimelineError::file(
            file,
            "not LOLDrivers' drivers.csv: no KnownVulnerableSamples hash column",
        ));
    }
    let mut out = LolDrivers {
        file: file.to_string(),
        ..LolDrivers::default()
    };
    let mut rec = csv::StringRecord::new();
    loop {
        let at = r.position().byte();
        match r.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let at = e.position().map_or(at, |p| p.byte());
                return Err(TimelineError::at(file, at, format!("bad CSV record: {e}")));
            }
        }
        if out.entries.len() == MAX_ENTRIES {
            return Err(TimelineError::at(
                file,
                at,
                format!("more than {MAX_ENTRIES} entries"),
            ));
        }
        let i = out.entries.len();
        let names: Vec<String> = rec
            .get(tags_col)
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        for n in &names {
            out.by_name.entry(n.clone()).or_insert(i);
        }
        for (c, kind) in &hash_cols {
            for h in rec.get(*c).unwrap_or("").split(',') {
                let h = h.trim().to_ascii_lowercase();
                if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) {
                    out.by_hash.entry(h).or_insert((i, kind));
                }
            }
        }
        out.entries.push(LolEntry {
            id: rec.get(id_col).unwrap_or("").to_string(),
            category: rec.get(cat_col).unwrap_or("").to_string(),
            names,
        });
    }
    if out.entries.is_empty() {
        return Err(TimelineError::file(
            file,
            "no entries: an empty list matches nothing",
        ));
    }
    Ok(out)
}

/// A tool or driver that can write the firmware from a running OS.
#[derive(Clone, Copy, Debug)]
pub struct FlashTool {
    /// Its file name, lower case (`rwdrv.sys`, `flashrom`).
    pub name: &'static str,
    /// What it is.
    pub what: &'static str,
    /// Where that is published.
    pub source: &'static str,
}

/// bootaudit's curated list of flash-capable tools and drivers. Names
/// only: their publishers and the reports give no hashes that cover every
/// build. A name match is evidence to look at, never proof. fwupd's daemon
/// and `fwupdmgr` are left out (a timer runs `fwupdmgr refresh` daily on
/// most distributions, and the daemon runs on every boot); what fwupd
/// wrote is in its history database, read as such ([`super::fwupd`]).
/// `fwupdtool`, run by hand, is in.
pub const FLASH_TOOLS: &[FlashTool] = &[
    FlashTool {
        name: "rwdrv.sys",
        what: "RWEverything's driver: physical memory, I/O ports and the SPI controller from user mode; LoJax wrote the SPI flash through it",
        source: "ESET, \"LoJax: First UEFI rootkit found in the wild, courtesy of the Sednit group\", 2018; LOLDrivers b03798af, fbdd993b",
    },
    FlashTool {
        name: "rweverything.exe",
        what: "RWEverything, the program that loads RwDrv.sys",
        source: "ESET, LoJax, 2018 (the tool whose driver LoJax used)",
    },
    FlashTool {
        name: "hwrwdrv.sys",
        what: "a hardware read/write driver of the RWEverything family",
        source: "LOLDrivers 81211b5b, e4609b54",
    },
    FlashTool {
        name: "amifldrv64.sys",
        what: "AMI's flash driver for AFU (AMI Firmware Update), Windows",
        source: "LOLDrivers 34fa6ba4",
    },
    FlashTool {
        name: "amifldrv.sys",
        what: "AMI's flash driver for AFU (AMI Firmware Update), Windows",
        source: "LOLDrivers 34fa6ba4",
    },
    FlashTool {
        name: "afuwin.exe",
        what: "AMI Firmware Update for Windows",
        source: "AMI Aptio AFU user guide",
    },
    FlashTool {
        name: "afuwinx64.exe",
        what: "AMI Firmware Update for Windows (x64)",
        source: "AMI Aptio AFU user guide",
    },
    FlashTool {
        name: "afulnx_64",
        what: "AMI Firmware Update for Linux",
        source: "AMI Aptio AFU user guide",
    },
    FlashTool {
        name: "afulnx_32",
        what: "AMI Firmware Update for Linux (32-bit)",
        source: "AMI Aptio AFU user guide",
    },
    FlashTool {
        name: "asrdrv10.sys",
        what: "ASRock's driver (RGB and utility tools): physical memory and ports from user mode",
        source: "LOLDrivers 0258df5c",
    },
    FlashTool {
        name: "asrdrv101.sys",
        what: "ASRock's driver: physical memory and ports from user mode",
        source: "LOLDrivers 51c342f3",
    },
    FlashTool {
        name: "asrdrv102.sys",
        what: "ASRock's driver: physical memory and ports from user mode",
        source: "LOLDrivers 5af9abf0",
    },
    FlashTool {
        name: "asrdrv103.sys",
        what: "ASRock's driver: physical memory and ports from user mode",
        source: "LOLDrivers 32ccd436",
    },
    FlashTool {
        name: "asrdrv104.sys",
        what: "ASRock's driver: physical memory and ports from user mode",
        source: "LOLDrivers 9889da50",
    },
    FlashTool {
        name: "asrdrv106.sys",
        what: "ASRock's driver: physical memory and ports from user mode",
        source: "LOLDrivers 6a50e368",
    },
    FlashTool {
        name: "asrdrv107.sys",
        what: "ASRock's driver: physical memory and ports from user mode",
        source: "LOLDrivers 2d3178da",
    },
    FlashTool {
        name: "asrdrv.sys",
        what: "ASRock's driver: physical memory and ports from user mode",
        source: "LOLDrivers 213676bb",
    },
    FlashTool {
        name: "phlashnt.sys",
        what: "Phoenix's WinPhlash flash driver",
        source: "LOLDrivers be3e49ea",
    },
    FlashTool {
        name: "winphlash.exe",
        what: "Phoenix WinPhlash, the BIOS flash utility that loads PhlashNT.sys",
        source: "LOLDrivers be3e49ea (its driver)",
    },
    FlashTool {
        name: "winflash64.sys",
        what: "ASUS WinFlash's driver",
        source: "LOLDrivers 7b893f79, 902249eb",
    },
    FlashTool {
        name: "winflash.exe",
        what: "ASUS WinFlash, the BIOS update utility",
        source: "LOLDrivers 7b893f79 (its driver)",
    },
    FlashTool {
        name: "segwindrvx64.sys",
        what: "Insyde H2OFFT's driver (firmware flash tool)",
        source: "LOLDrivers a4aa80bc",
    },
    FlashTool {
        name: "h2offt-wx64.exe",
        what: "Insyde H2OFFT, the firmware flash tool for Windows",
        source: "LOLDrivers a4aa80bc (its driver)",
    },
    FlashTool {
        name: "iscflashx64.sys",
        what: "a BIOS flash driver",
        source: "LOLDrivers 97ed6c7b",
    },
    FlashTool {
        name: "bs_flash64.sys",
        what: "Biostar's BIOS flash driver",
        source: "LOLDrivers e299b0b6",
    },
    FlashTool {
        name: "fptw64.exe",
        what: "Intel Flash Programming Tool (FPT), Windows: reads and writes the SPI flash",
        source: "Intel CSME System Tools user guide",
    },
    FlashTool {
        name: "fptw.exe",
        what: "Intel Flash Programming Tool (FPT), Windows",
        source: "Intel CSME System Tools user guide",
    },
    FlashTool {
        name: "fpt",
        what: "Intel Flash Programming Tool (FPT), Linux or EFI shell",
        source: "Intel CSME System Tools user guide",
    },
    FlashTool {
        name: "flashrom",
        what: "flashrom: reads, writes and erases flash chips, the host's own SPI flash among them",
        source: "flashrom project, flashrom.org",
    },
    FlashTool {
        name: "flashrom.exe",
        what: "flashrom for Windows",
        source: "flashrom project, flashrom.org",
    },
    FlashTool {
        name: "chipsec.ko",
        what: "CHIPSEC's kernel module: physical memory, I/O ports, MSRs and the SPI controller",
        source: "CHIPSEC, github.com/chipsec/chipsec (drivers/linux)",
    },
    FlashTool {
        name: "chipsec",
        what: "CHIPSEC's kernel module or tool: can read and write the SPI flash (chipsec_util spi write)",
        source: "CHIPSEC, github.com/chipsec/chipsec",
    },
    FlashTool {
        name: "chipsec_hlpr.sys",
        what: "CHIPSEC's Windows driver",
        source: "CHIPSEC, github.com/chipsec/chipsec (drivers/windows)",
    },
    FlashTool {
        name: "chipsec_util",
        what: "CHIPSEC's utility (spi write, spi erase)",
        source: "CHIPSEC, github.com/chipsec/chipsec",
    },
    FlashTool {
        name: "chipsec_util.py",
        what: "CHIPSEC's utility (spi write, spi erase)",
        source: "CHIPSEC, github.com/chipsec/chipsec",
    },
    FlashTool {
        name: "chipsec_main.py",
        what: "CHIPSEC's main program",
        source: "CHIPSEC, github.com/chipsec/chipsec",
    },
    FlashTool {
        name: "nvflash.sys",
        what: "NVIDIA's flash driver (GPU firmware, an option ROM the platform firmware runs)",
        source: "LOLDrivers 2a6a38ca, d55a5955",
    },
    FlashTool {
        name: "fwupdtool",
        what: "fwupd's tool: writes device and system firmware (its history is in pending.db)",
        source: "fwupd project, fwupd.org",
    },
];

/// The curated entry of a file name (lower case), when there is one.
pub fn flash_tool(name: &str) -> Option<&'static FlashTool> {
    FLASH_TOOLS.iter().find(|t| t.name == name)
}

/// Matches an event's tool against both lists, and notes the matches.
pub fn classify(e: &mut Event, lol: Option<&LolDrivers>) {
    let Some(tool) = &e.tool else { return };
    let name = tool.file_name();
    let mut found = Vec::new();
    if let Some(t) = flash_tool(&name) {
        found.push(Match {
            list: "flash-tools",
            id: t.name.into(),
            by: "name",
            category: t.what.into(),
            flash_capable: true,
            source: t.source.into(),
        });
    }
    if let Some(l) = lol {
        let h = &tool.hashes;
        let hit = [&h.sha256, &h.sha1, &h.md5]
            .into_iter()
            .flatten()
            .find_map(|x| l.by_hash(x));
        let entry = match hit {
            Some((entry, by)) => Some((entry, by)),
            None if h.is_empty() => l.by_name(&name).map(|e| (e, "name")),
            None => None,
        };
        if let Some((entry, by)) = entry {
            found.push(Match {
                list: "loldrivers",
                id: entry.id.clone().into(),
                by,
                category: entry.category.clone().into(),
                flash_capable: false,
                source: l.file.clone().into(),
            });
        }
    }
    e.matches.extend(found);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_with_hashes_matches_by_hash_only() {
        let csv = b"Id,Category,Tags,KnownVulnerableSamples_SHA256\n\
            a1,vulnerable driver,\"Evil.sys, evil2.sys\",\"AA11,bb22\"\n";
        let l = parse_loldrivers(csv, "d.csv").unwrap();
        let mut e = Event::new(
            None,
            super::super::Place::default(),
            super::super::Kind::DriverLoad,
            String::new(),
        );
        e.tool = Some(Box::new(super::super::Tool::at("C:\\x\\EVIL.SYS")));
        classify(&mut e, Some(&l));
        assert_eq!(e.matches[0].by, "name");
        let mut e2 = e.clone();
        e2.matches.clear();
        e2.tool.as_mut().unwrap().hashes.sha256 = Some("cc33".into());
        classify(&mut e2, Some(&l));
        assert!(e2.matches.is_empty(), "another build's hash is no match");
        e2.tool.as_mut().unwrap().hashes.sha256 = Some("BB22".into());
        classify(&mut e2, Some(&l));
        assert_eq!(e2.matches[0].by, "sha256");
        assert_eq!(e2.matches[0].id, "a1");
    }

    #[test]
    fn a_list_without_its_columns_is_refused() {
        assert!(parse_loldrivers(b"a,b\n1,2\n", "x.csv").is_err());
        assert!(parse_loldrivers(b"", "x.csv").is_err());
        let e = parse_loldrivers(b"Id,Category,Tags,KnownVulnerableSamples_MD5\n", "x.csv")
            .unwrap_err();
        assert!(e.to_string().contains("no entries"), "{e}");
    }
}
