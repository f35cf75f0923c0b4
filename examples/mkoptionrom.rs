//! `cargo run --example mkoptionrom -- DRIVER.efi OUT.rom VENDOR DEVICE`:
//! wraps a UEFI driver in a PCI expansion ROM for QEMU's `romfile=` (the
//! builder the diff scenarios use, tests/common/optionrom.rs). Vendor and
//! device are hex, e.g. `1b36 0005` for QEMU's pci-testdev.

#[path = "../tests/common/optionrom.rs"]
mod optionrom;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [efi, out, vendor, device] = a.as_slice() else {
        eprintln!("usage: mkoptionrom DRIVER.efi OUT.rom VENDOR DEVICE (hex)");
        std::process::exit(2);
    };
    let hex = |s: &str| {
        u16::from_str_radix(s, 16).unwrap_or_else(|_| {
            eprintln!("mkoptionrom: {s} is not a 16-bit hex number");
            std::process::exit(2)
        })
    };
    let efi_bytes = std::fs::read(efi).unwrap_or_else(|e| {
        eprintln!("mkoptionrom: {efi}: {e}");
        std::process::exit(2)
    });
    let rom = optionrom::build(&efi_bytes, hex(vendor), hex(device));
    if let Err(e) = std::fs::write(out, rom) {
        eprintln!("mkoptionrom: {out}: {e}");
        std::process::exit(2);
    }
}
