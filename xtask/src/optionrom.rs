//! Builds a PCI expansion ROM that carries one uncompressed EFI driver, as
//! the PCI Firmware Specification 3.0 (PCI data structure) and the UEFI
//! specification (EFI PCI expansion ROM header, section "PCI Option ROMs")
//! lay it out, so that QEMU can expose it through `romfile=` and OVMF's PCI
//! bus driver loads the driver from it.

/// The ROM for `efi` (a PE image of subsystem 11 or 12), for the PCI
/// device `vendor:device`. Its length is a multiple of 512 bytes and all
/// its bytes sum to zero (the legacy checksum, which UEFI does not need).
pub fn build(efi: &[u8], vendor: u16, device: u16) -> Vec<u8> {
    const PCIR_AT: usize = 0x1c;
    const PCIR_LEN: usize = 0x1c;
    const IMAGE_AT: usize = 0x40;
    assert!(efi.len() > 0x40 && &efi[..2] == b"MZ", "not a PE image");
    let pe = u32::from_le_bytes(efi[0x3c..0x40].try_into().unwrap()) as usize;
    let machine = u16::from_le_bytes(efi[pe + 4..pe + 6].try_into().unwrap());
    let subsystem = u16::from_le_bytes(efi[pe + 24 + 68..pe + 24 + 70].try_into().unwrap());
    assert!(
        subsystem == 11 || subsystem == 12,
        "an option ROM's EFI image must be a boot-service or runtime driver, not subsystem {subsystem}"
    );
    let blocks = (IMAGE_AT + efi.len()).div_ceil(512);
    assert!(blocks <= 0xffff, "image too large for one ROM image");
    let mut rom = vec![0u8; blocks * 512];
    // EFI PCI expansion ROM header.
    rom[0..2].copy_from_slice(&0xaa55u16.to_le_bytes());
    rom[2..4].copy_from_slice(&(blocks as u16).to_le_bytes()); // InitializationSize
    rom[4..8].copy_from_slice(&0x0ef1u32.to_le_bytes()); // EfiSignature
    rom[8..10].copy_from_slice(&subsystem.to_le_bytes());
    rom[10..12].copy_from_slice(&machine.to_le_bytes());
    rom[12..14].copy_from_slice(&0u16.to_le_bytes()); // not compressed
    rom[22..24].copy_from_slice(&(IMAGE_AT as u16).to_le_bytes());
    rom[24..26].copy_from_slice(&(PCIR_AT as u16).to_le_bytes());
    // PCI data structure, revision 3.
    let p = &mut rom[PCIR_AT..PCIR_AT + PCIR_LEN];
    p[0..4].copy_from_slice(b"PCIR");
    p[4..6].copy_from_slice(&vendor.to_le_bytes());
    p[6..8].copy_from_slice(&device.to_le_bytes());
    p[10..12].copy_from_slice(&(PCIR_LEN as u16).to_le_bytes());
    p[12] = 3; // revision
    p[13..16].copy_from_slice(&[0, 0, 0xff]); // class: unassigned
    p[16..18].copy_from_slice(&(blocks as u16).to_le_bytes()); // ImageLength
    p[20] = 3; // code type: EFI image
    p[21] = 0x80; // the last image
    rom[IMAGE_AT..IMAGE_AT + efi.len()].copy_from_slice(efi);
    let sum = rom.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let last = rom.len() - 1;
    rom[last] = rom[last].wrapping_sub(sum);
    rom
}
