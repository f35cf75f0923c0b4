//! The flattened Device Tree (DTB) an Arm firmware hands the OS through
//! the configuration table (EFI_DTB_TABLE), read into a summary of its
//! nodes: each node's path, first `compatible` string, and a digest of its
//! properties, so that two boots' trees can be compared node by node, as
//! ACPI tables are compared table by table. An implant can edit the tree
//! as it edits ACPI.
//!
//! The format is the Devicetree Specification's (v0.4, chapter 5): a
//! 40-byte big-endian header, then a structure block of 4-byte-aligned
//! tokens (BEGIN_NODE name, PROP len nameoff value, END_NODE, NOP, END)
//! whose property names are offsets into a strings block. Every offset and
//! length is checked against the blob before it is followed; nesting, node
//! and property counts are capped. Errors name the byte offset and field.
//!
//! This crate does not hash: [`summary`] takes the digest function.

use crate::DeviceTreeNode;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// The header's magic, big-endian.
pub const MAGIC: u32 = 0xd00d_feed;
/// The largest tree read (QEMU's `virt` hands over 1 MiB, mostly padding).
pub const MAX_SIZE: usize = 8 << 20;
/// The most nodes a tree may have.
pub const MAX_NODES: usize = 8192;
/// The most properties one node may have.
pub const MAX_PROPS: usize = 4096;
/// The deepest nesting followed.
pub const MAX_DEPTH: usize = 64;
/// The header's size (version 17).
pub const HEADER: usize = 40;

const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;

/// Why a blob is not a Device Tree bootaudit reads: the byte offset and
/// the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdtError {
    /// The byte offset in the blob.
    pub offset: usize,
    /// What is wrong there.
    pub what: String,
}

impl core::fmt::Display for FdtError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "device tree, byte {}: {}", self.offset, self.what)
    }
}

fn err(offset: usize, what: impl Into<String>) -> FdtError {
    FdtError {
        offset,
        what: what.into(),
    }
}

fn be32(b: &[u8], at: usize, field: &str) -> Result<u32, FdtError> {
    crate::bytes::u32_be_at(b, at).ok_or_else(|| err(at, format!("{field}: past the end")))
}

/// The header's fields that locate the blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// The blob's size, as the header states it.
    pub total_size: u32,
    /// Where the structure block starts.
    pub off_struct: u32,
    /// Where the strings block starts.
    pub off_strings: u32,
    /// The format version.
    pub version: u32,
    /// The strings block's size.
    pub size_strings: u32,
    /// The structure block's size.
    pub size_struct: u32,
}

/// Reads the 40-byte header: magic, sizes and offsets, each block inside
/// the stated size. `bytes` may be just the header (to learn how much to
/// read) or the whole blob.
pub fn header(bytes: &[u8]) -> Result<Header, FdtError> {
    if be32(bytes, 0, "magic")? != MAGIC {
        return Err(err(0, "magic: not 0xd00dfeed"));
    }
    let h = Header {
        total_size: be32(bytes, 4, "totalsize")?,
        off_struct: be32(bytes, 8, "off_dt_struct")?,
        off_strings: be32(bytes, 12, "off_dt_strings")?,
        version: be32(bytes, 20, "version")?,
        size_strings: be32(bytes, 32, "size_dt_strings")?,
        size_struct: be32(bytes, 36, "size_dt_struct")?,
    };
    let total = h.total_size as usize;
    if !(HEADER..=MAX_SIZE).contains(&total) {
        return Err(err(4, format!("totalsize: {total} bytes")));
    }
    if h.version < 17 {
        return Err(err(20, format!("version: {} (17 is read)", h.version)));
    }
    let inside = |off: u32, size: u32| (off as u64) + (size as u64) <= total as u64;
    if (h.off_struct as usize) < HEADER || !inside(h.off_struct, h.size_struct) {
        return Err(err(8, "off_dt_struct/size_dt_struct: outside the blob"));
    }
    if (h.off_strings as usize) < HEADER || !inside(h.off_strings, h.size_strings) {
        return Err(err(12, "off_dt_strings/size_dt_strings: outside the blob"));
    }
    Ok(h)
}

/// One node as read: its full path and its properties (name, value),
/// borrowing the blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node<'a> {
    /// `/`, `/memory@40000000`, `/soc/uart@9000000`.
    pub path: String,
    /// Its properties, in the order the blob holds them.
    pub props: Vec<(&'a str, &'a [u8])>,
}

impl Node<'_> {
    /// The first string of its `compatible` property, if any.
    pub fn compatible(&self) -> Option<String> {
        let v = self.props.iter().find(|(n, _)| *n == "compatible")?.1;
        let first = v.split(|&b| b == 0).next()?;
        (!first.is_empty()).then(|| printable(first))
    }
}

/// Bytes as text: printable ASCII kept, anything else as `.`.
fn printable(b: &[u8]) -> String {
    b.iter()
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '.'
            }
        })
        .collect()
}

/// A NUL-terminated string at `at` in `b`, at most `limit` bytes long.
fn cstr<'a>(b: &'a [u8], at: usize, limit: usize, field: &str) -> Result<&'a str, FdtError> {
    let rest = b
        .get(at..)
        .ok_or_else(|| err(at, format!("{field}: past the end")))?;
    let rest = &rest[..rest.len().min(limit)];
    let n = rest
        .iter()
        .position(|&c| c == 0)
        .ok_or_else(|| err(at, format!("{field}: no terminating NUL")))?;
    core::str::from_utf8(&rest[..n]).map_err(|_| err(at, format!("{field}: not UTF-8")))
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Reads every node of a whole blob (its header says how long it is; the
/// blob may be longer). Linear in the structure block's size.
pub fn parse(blob: &[u8]) -> Result<Vec<Node<'_>>, FdtError> {
    let h = header(blob)?;
    let total = h.total_size as usize;
    if blob.len() < total {
        return Err(err(
            blob.len(),
            format!("totalsize: {total} bytes, the blob has {}", blob.len()),
        ));
    }
    let blob = &blob[..total];
    let start = h.off_struct as usize;
    let end = start + h.size_struct as usize;
    let strings = &blob[h.off_strings as usize..h.off_strings as usize + h.size_strings as usize];
    let mut nodes: Vec<Node> = Vec::new();
    // The open nodes: indexes into `nodes`.
    let mut open: Vec<usize> = Vec::new();
    let mut at = start;
    loop {
        if at + 4 > end {
            return Err(err(at, "structure block: ends before FDT_END"));
        }
        let token = be32(blob, at, "token")?;
        let tok_at = at;
        at += 4;
        match token {
            BEGIN_NODE => {
                if open.len() >= MAX_DEPTH {
                    return Err(err(tok_at, format!("nesting deeper than {MAX_DEPTH}")));
                }
                if nodes.len() >= MAX_NODES {
                    return Err(err(tok_at, format!("more than {MAX_NODES} nodes")));
                }
                let name = cstr(blob, at, end - at, "node name")?;
                at = align4(at + name.len() + 1);
                let path = match open.last() {
                    None if name.is_empty() => "/".to_string(),
                    None => return Err(err(tok_at, "the root node has a name")),
                    Some(&p) if nodes[p].path == "/" => format!("/{}", printable(name.as_bytes())),
                    Some(&p) => format!("{}/{}", nodes[p].path, printable(name.as_bytes())),
                };
                if open.is_empty() && !nodes.is_empty() {
                    return Err(err(tok_at, "a second root node"));
                }
                open.push(nodes.len());
                nodes.push(Node {
                    path,
                    props: Vec::new(),
                });
            }
            END_NODE => {
                if open.pop().is_none() {
                    return Err(err(tok_at, "FDT_END_NODE with no node open"));
                }
            }
            PROP => {
                let len = be32(blob, at, "property length")? as usize;
                let nameoff = be32(blob, at + 4, "property nameoff")? as usize;
                let value_at = at + 8;
                if value_at.checked_add(len).is_none_or(|e| e > end) {
                    return Err(err(at, format!("property length {len}: past the block")));
                }
                let name = cstr(strings, nameoff, strings.len(), "property name")
                    .map_err(|e| err(at + 4, e.what))?;
                let &node = open
                    .last()
                    .ok_or_else(|| err(tok_at, "a property outside any node"))?;
                if nodes[node].props.len() >= MAX_PROPS {
                    return Err(err(tok_at, format!("more than {MAX_PROPS} properties")));
                }
                nodes[node]
                    .props
                    .push((name, &blob[value_at..value_at + len]));
                at = align4(value_at + len);
            }
            NOP => {}
            END => {
                if !open.is_empty() {
                    return Err(err(tok_at, "FDT_END with nodes still open"));
                }
                if nodes.is_empty() {
                    return Err(err(tok_at, "no root node"));
                }
                return Ok(nodes);
            }
            other => return Err(err(tok_at, format!("token {other:#x}: unknown"))),
        }
    }
}

/// At most this many `reg` ranges are read of all matching nodes.
pub const MAX_REGS: usize = 64;

/// The `reg` ranges (address, size) of every node whose `compatible` list
/// holds `compatible`, in blob order, read with the cell counts its parent
/// states (`#address-cells`, `#size-cells`; 2 and 1 where the parent
/// states none, as the Devicetree Specification says). Counts other than 1
/// or 2 cells, and a `reg` that is not whole entries, are errors naming
/// the node.
pub fn compatible_regs(blob: &[u8], compatible: &str) -> Result<Vec<(u64, u64)>, FdtError> {
    let nodes = parse(blob)?;
    // Where a value sits in the blob, for errors.
    let at = |v: &[u8]| (v.as_ptr() as usize).saturating_sub(blob.as_ptr() as usize);
    let by_path: alloc::collections::BTreeMap<&str, &Node> =
        nodes.iter().map(|n| (n.path.as_str(), n)).collect();
    fn prop<'b>(n: &Node<'b>, name: &str) -> Option<&'b [u8]> {
        n.props.iter().find(|(p, _)| *p == name).map(|(_, v)| *v)
    }
    let cells = |n: &Node, name: &str, default: u32| -> Result<u32, FdtError> {
        match prop(n, name) {
            None => Ok(default),
            Some(v) if v.len() == 4 => Ok(u32::from_be_bytes([v[0], v[1], v[2], v[3]])),
            Some(v) => Err(err(at(v), format!("{}: {name} is not one cell", n.path))),
        }
    };
    let number = |b: &[u8]| {
        b.chunks(4).fold(0u64, |a, c| {
            (a << 32) | u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        })
    };
    let mut out = Vec::new();
    for n in &nodes {
        let Some(list) = prop(n, "compatible") else {
            continue;
        };
        if !list.split(|&b| b == 0).any(|c| c == compatible.as_bytes()) {
            continue;
        }
        let Some(reg) = prop(n, "reg") else {
            continue;
        };
        let parent_path = match n.path.rfind('/') {
            Some(0) => "/",
            Some(i) => &n.path[..i],
            None => continue,
        };
        let Some(parent) = by_path.get(parent_path) else {
            continue;
        };
        let (ac, sc) = (
            cells(parent, "#address-cells", 2)?,
            cells(parent, "#size-cells", 1)?,
        );
        if !(1..=2).contains(&ac) || !(1..=2).contains(&sc) {
            return Err(err(
                at(reg),
                format!(
                    "{}: reg with {ac} address and {sc} size cells: not read",
                    n.path
                ),
            ));
        }
        let entry = 4 * (ac + sc) as usize;
        if reg.is_empty() || reg.len() % entry != 0 {
            return Err(err(
                at(reg),
                format!(
                    "{}: reg of {} bytes is not whole {entry}-byte entries",
                    n.path,
                    reg.len()
                ),
            ));
        }
        for e in reg.chunks(entry) {
            if out.len() >= MAX_REGS {
                return Err(err(
                    at(e),
                    format!("more than {MAX_REGS} {compatible} ranges"),
                ));
            }
            let (a, s) = e.split_at(4 * ac as usize);
            out.push((number(a), number(s)));
        }
    }
    Ok(out)
}

/// Properties of `/chosen` whose values are fresh random numbers at every
/// boot by design (seeds for the OS's random generator and its kernel
/// address randomisation): left out of the node's digest, or two boots of
/// one machine would never agree. They are still counted.
pub const PER_BOOT: &[&str] = &["rng-seed", "kaslr-seed"];

/// Each node's summary for the snapshot: path, first compatible string,
/// and `digest` of its properties, fed as one byte string per property
/// (its name, a NUL, its length as 4 big-endian bytes, its value), so that
/// the digest does not depend on where the strings block keeps the names.
/// [`PER_BOOT`] properties of `/chosen` are left out of the digest.
pub fn summary(
    blob: &[u8],
    digest: impl Fn(&[u8]) -> String,
) -> Result<Vec<DeviceTreeNode>, FdtError> {
    let nodes = parse(blob)?;
    let mut out = Vec::with_capacity(nodes.len());
    let mut buf = Vec::new();
    for n in &nodes {
        buf.clear();
        for (name, value) in &n.props {
            if n.path == "/chosen" && PER_BOOT.contains(name) {
                continue;
            }
            buf.extend_from_slice(name.as_bytes());
            buf.push(0);
            buf.extend_from_slice(&(value.len() as u32).to_be_bytes());
            buf.extend_from_slice(value);
        }
        out.push(DeviceTreeNode {
            path: n.path.clone(),
            compatible: n.compatible(),
            properties: n.props.len() as u32,
            sha256: digest(&buf),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token of a tree built by [`build`].
    enum T<'a> {
        Begin(&'a str),
        Prop(&'a str, Vec<u8>),
        End,
    }

    /// A whole blob from tokens (property names in the strings block in
    /// order of first use).
    fn build(tokens: &[T]) -> Vec<u8> {
        let (mut s, mut strings) = (Vec::new(), Vec::<u8>::new());
        let tok = |s: &mut Vec<u8>, t: u32| s.extend_from_slice(&t.to_be_bytes());
        for t in tokens {
            match t {
                T::Begin(name) => {
                    tok(&mut s, BEGIN_NODE);
                    s.extend_from_slice(name.as_bytes());
                    s.push(0);
                    s.resize(align4(s.len()), 0);
                }
                T::Prop(name, v) => {
                    let off = strings.len();
                    strings.extend_from_slice(name.as_bytes());
                    strings.push(0);
                    tok(&mut s, PROP);
                    tok(&mut s, v.len() as u32);
                    tok(&mut s, off as u32);
                    s.extend_from_slice(v);
                    s.resize(align4(s.len()), 0);
                }
                T::End => tok(&mut s, END_NODE),
            }
        }
        tok(&mut s, END);
        let off_strings = HEADER + s.len();
        let total = off_strings + strings.len();
        let mut b = Vec::new();
        for v in [
            MAGIC,
            total as u32,
            HEADER as u32,
            off_strings as u32,
            0,
            17,
            16,
            0,
            strings.len() as u32,
            s.len() as u32,
        ] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&s);
        b.extend_from_slice(&strings);
        b
    }

    fn cells(v: &[u32]) -> Vec<u8> {
        v.iter().flat_map(|c| c.to_be_bytes()).collect()
    }

    /// A tree built by hand: / { compatible = "a\0b"; n@1 { x = <1>; }; }.
    pub fn small() -> Vec<u8> {
        build(&[
            T::Begin(""),
            T::Prop("compatible", b"a\0b\0".to_vec()),
            T::Begin("n@1"),
            T::Prop("x", cells(&[1])),
            T::End,
            T::End,
        ])
    }

    #[test]
    fn reg_ranges_are_read_with_the_parents_cell_counts() {
        // QEMU virt's flash: two 64 MiB banks, two cells each; and a
        // second flash under a bus of one cell each, listed second in its
        // compatible list.
        let b = build(&[
            T::Begin(""),
            T::Prop("#address-cells", cells(&[2])),
            T::Prop("#size-cells", cells(&[2])),
            T::Begin("flash@0"),
            T::Prop("compatible", b"cfi-flash\0".to_vec()),
            T::Prop(
                "reg",
                cells(&[0, 0, 0, 0x400_0000, 0, 0x400_0000, 0, 0x400_0000]),
            ),
            T::End,
            T::Begin("bus"),
            T::Prop("#address-cells", cells(&[1])),
            T::Prop("#size-cells", cells(&[1])),
            T::Begin("flash@ffc00000"),
            T::Prop("compatible", b"vendor,nor\0cfi-flash\0".to_vec()),
            T::Prop("reg", cells(&[0xffc0_0000, 0x40_0000])),
            T::End,
            T::Begin("uart@9000000"),
            T::Prop("compatible", b"arm,pl011\0".to_vec()),
            T::Prop("reg", cells(&[0x900_0000, 0x1000])),
            T::End,
            T::End,
            T::End,
        ]);
        assert_eq!(
            compatible_regs(&b, "cfi-flash").unwrap(),
            [
                (0, 0x400_0000),
                (0x400_0000, 0x400_0000),
                (0xffc0_0000, 0x40_0000)
            ]
        );
        assert!(compatible_regs(&b, "cfi").unwrap().is_empty());
        // A reg that is not whole entries is an error at its value.
        let bad = build(&[
            T::Begin(""),
            T::Begin("flash@0"),
            T::Prop("compatible", b"cfi-flash\0".to_vec()),
            T::Prop("reg", cells(&[0, 0, 0, 0x400_0000])),
            T::End,
            T::End,
        ]);
        // No #cells on the root: 2 and 1, so 16 bytes is not whole 12-byte
        // entries.
        let e = compatible_regs(&bad, "cfi-flash").unwrap_err();
        assert!(e.what.contains("not whole 12-byte entries"), "{e}");
        assert_eq!(&bad[e.offset..e.offset + 4], &[0, 0, 0, 0]);
        // Every cut and three flips at every byte of the good tree: an
        // error inside the blob or ranges, never a panic.
        let mut reached = 0;
        for cut in 0..b.len() {
            assert!(
                compatible_regs(&b[..cut], "cfi-flash").is_err(),
                "cut at {cut}"
            );
            reached += 1;
        }
        for i in 0..b.len() {
            for x in [0x01, 0x80, 0xff] {
                let mut m = b.clone();
                m[i] ^= x;
                if let Err(e) = compatible_regs(&m, "cfi-flash") {
                    assert!(e.offset <= m.len(), "{e}");
                }
                reached += 1;
            }
        }
        assert_eq!(reached, 4 * b.len());
    }

    #[test]
    fn a_small_tree_is_read_node_by_node() {
        let b = small();
        let n = parse(&b).unwrap();
        assert_eq!(n.len(), 2);
        assert_eq!(n[0].path, "/");
        assert_eq!(n[0].compatible().as_deref(), Some("a"));
        assert_eq!(n[1].path, "/n@1");
        assert_eq!(n[1].props, [("x", &[0u8, 0, 0, 1][..])]);
        let s = summary(&b, |d| format!("{}", d.len())).unwrap();
        // "x" NUL, length 4, value: 1 + 1 + 4 + 4 bytes.
        assert_eq!(s[1].sha256, "10");
        assert_eq!(s[1].properties, 1);
    }

    #[test]
    fn every_truncation_and_every_byte_flip_is_an_error_or_a_tree() {
        let b = small();
        let mut refused = 0;
        for cut in 0..b.len() {
            assert!(parse(&b[..cut]).is_err(), "cut at {cut}");
            refused += 1;
        }
        assert_eq!(refused, b.len());
        let mut reached = 0;
        for i in 0..b.len() {
            for x in [0x01, 0x80, 0xff] {
                let mut m = b.clone();
                m[i] ^= x;
                // Never a panic; an error names an offset inside the blob.
                if let Err(e) = parse(&m) {
                    assert!(e.offset <= m.len(), "{e}");
                }
                reached += 1;
            }
        }
        assert_eq!(reached, 3 * b.len());
    }

    #[test]
    fn nesting_and_counts_are_capped() {
        // MAX_DEPTH + 1 nested nodes: refused at the one too deep.
        let mut s = Vec::new();
        for _ in 0..=MAX_DEPTH {
            s.extend_from_slice(&BEGIN_NODE.to_be_bytes());
            s.extend_from_slice(&[0, 0, 0, 0]);
        }
        let mut b = Vec::new();
        let total = HEADER + s.len();
        for v in [
            MAGIC,
            total as u32,
            HEADER as u32,
            total as u32,
            0,
            17,
            16,
            0,
            0,
            s.len() as u32,
        ] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&s);
        let e = parse(&b).unwrap_err();
        assert!(
            e.what.contains("the root node has a name") || e.what.contains("nesting"),
            "{e}"
        );
    }
}
