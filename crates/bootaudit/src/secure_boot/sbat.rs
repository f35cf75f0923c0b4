//! SBAT (shim's Secure Boot Advanced Targeting): the revocation level a
//! machine enforces, in the SbatLevel variable shim measures into PCR7
//! (EV_EFI_VARIABLE_AUTHORITY), against the levels a shim binary carries
//! in its `.sbatlevel` section (shim 15.7 and later: a version, then the
//! offsets of the "previous" and "latest" levels, each a NUL-terminated
//! CSV). A level is a CSV of `component,generation` lines; the `sbat`
//! line's third field dates it. A component whose generation is below a
//! newer level's still boots the binaries that level revokes.

use serde::Serialize;
use std::collections::BTreeMap;

/// The most lines read from one level.
pub const MAX_LINES: usize = 1024;

/// One SBAT level.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Level {
    /// The `sbat` line's datestamp (`2023012900`), when it has one.
    pub date: Option<String>,
    /// Every component's generation.
    pub components: BTreeMap<String, u32>,
}

/// Parses a level's CSV (lenient: lines that are not `name,number` are
/// passed over).
pub fn parse_level(text: &[u8]) -> Level {
    let text = String::from_utf8_lossy(text);
    let mut l = Level::default();
    for line in text.lines().take(MAX_LINES) {
        let mut f = line.trim().split(',');
        let (Some(name), Some(generation)) = (f.next(), f.next()) else {
            continue;
        };
        let Ok(generation) = generation.trim().parse::<u32>() else {
            continue;
        };
        if name == "sbat" {
            l.date = f.next().map(|d| d.trim().to_string());
        }
        l.components.insert(name.to_string(), generation);
    }
    l
}

/// The previous and latest levels of a shim binary, from its `.sbatlevel`
/// section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShimLevels {
    /// The level shim applies by default.
    pub previous: Level,
    /// The newest level it knows.
    pub latest: Level,
}

/// Reads a shim binary's `.sbatlevel` section; `Err` says why not (not a
/// PE image, no such section, offsets outside it).
pub fn shim_levels(pe: &[u8]) -> Result<ShimLevels, String> {
    let p = goblin::pe::PE::parse(pe).map_err(|e| format!("not a PE image: {e}"))?;
    let s = p
        .sections
        .iter()
        .find(|s| {
            s.real_name.as_deref() == Some(".sbatlevel") || s.name().ok() == Some(".sbatlevel")
        })
        .ok_or("no .sbatlevel section (a shim before 15.7)")?;
    let start = s.pointer_to_raw_data as usize;
    let len = (s.size_of_raw_data.min(s.virtual_size.max(1))) as usize;
    let d = pe
        .get(start..start.saturating_add(len))
        .ok_or(".sbatlevel runs past the file")?;
    let u32_at = |o: usize| -> Result<usize, String> {
        Ok(u32::from_le_bytes(
            d.get(o..o + 4)
                .ok_or(".sbatlevel is shorter than its header")?
                .try_into()
                .unwrap_or([0; 4]),
        ) as usize)
    };
    let level_at = |o: usize| -> Result<Level, String> {
        let from = 4usize.saturating_add(o);
        let rest = d
            .get(from..)
            .ok_or(format!(".sbatlevel offset {o} is outside it"))?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        Ok(parse_level(&rest[..end]))
    };
    if u32_at(0)? != 0 {
        return Err(format!(".sbatlevel version {} is not 0", u32_at(0)?));
    }
    Ok(ShimLevels {
        previous: level_at(u32_at(4)?)?,
        latest: level_at(u32_at(8)?)?,
    })
}

/// What `have` lacks of `want`: each component `want` sets to a higher
/// generation than `have` does (`grub below 5`).
pub fn behind(have: &Level, want: &Level) -> Vec<String> {
    want.components
        .iter()
        .filter(|(name, g)| have.components.get(*name).is_none_or(|h| h < g))
        .map(|(name, g)| format!("{name} below {g}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_compare_by_component() {
        let old = parse_level(b"sbat,1,2021030218\n");
        assert_eq!(old.date.as_deref(), Some("2021030218"));
        let new = parse_level(b"sbat,1,2023012900\nshim,2\ngrub,3\ngarbage\n,\n");
        assert_eq!(new.components.len(), 3);
        assert_eq!(behind(&old, &new), ["grub below 3", "shim below 2"]);
        assert!(behind(&new, &old).is_empty());
    }
}
