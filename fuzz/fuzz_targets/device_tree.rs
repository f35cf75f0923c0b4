//! Fuzz target for the Device Tree reader the collector and the host share
//! (`bootaudit_snapshot::fdt`): header, structure block and strings block
//! of a flattened tree, the node summary the snapshot records, and the
//! `reg` ranges the collector finds the code flash by.
//!
//! Raw bytes almost never start with the magic and a consistent header, so
//! when the input is long enough the header is rewritten to point its
//! blocks into the input (the first byte splits the rest between the
//! structure and strings blocks) and the sizes vary from there.
#![no_main]

use bootaudit::snapshot::fdt;
use libfuzzer_sys::fuzz_target;

fn run(b: &[u8]) {
    if let Ok(nodes) = fdt::parse(b) {
        assert!(!nodes.is_empty() && nodes[0].path == "/");
        assert!(nodes.len() <= fdt::MAX_NODES);
        let s = fdt::summary(b, |d| d.len().to_string()).expect("parsed once, summarised");
        assert_eq!(s.len(), nodes.len());
        if let Ok(r) = fdt::compatible_regs(b, "cfi-flash") {
            assert!(r.len() <= fdt::MAX_REGS);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(data);
    if data.len() < fdt::HEADER + 8 {
        return;
    }
    let body = data.len() - fdt::HEADER;
    let split = (usize::from(data[0]) * body / 255).min(body);
    let mut b = data.to_vec();
    let fields = [
        fdt::MAGIC,
        b.len() as u32,
        fdt::HEADER as u32,
        (fdt::HEADER + split) as u32,
        0,
        17,
        16,
        0,
        (body - split) as u32,
        split as u32,
    ];
    for (i, v) in fields.iter().enumerate() {
        b[i * 4..i * 4 + 4].copy_from_slice(&v.to_be_bytes());
    }
    run(&b);
});
