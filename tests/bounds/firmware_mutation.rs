//! Thousands of mutated firmware images through the whole reader (volume
//! scan, files, sections, LZMA, EFI and Tiano decompression, depex, PE
//! bodies) and the JSON of the inventory: no panic, and no allocation
//! beyond a fixed multiple of the input (the decompression budget plus
//! the inventory). One image is OVMF's real SEC volume; the other is built
//! here with every encapsulation the reader opens, compressed by liblzma
//! and by EDK II's own EFI/Tiano compressor (uefi_firmware, in the venv).
//! The allocator counts every byte; this file holds a single test.

use crate::common;

use common::fwbuild;

/// The built image, and how many of its bytes are not free space.
fn built(sec_pe: &[u8]) -> (Vec<u8>, usize) {
    let g = |n: u8| {
        let mut b = fwbuild::guid("5eed0000-0000-4000-8000-000000000000");
        b[15] = n;
        b
    };
    let mut depex = vec![0x02];
    depex.extend_from_slice(&g(0xaa));
    depex.extend_from_slice(&[0x06, 0x03, 0x05, 0x08]);
    let small_pe = &sec_pe[..sec_pe.len().min(2048)];
    let inner_fv = fwbuild::volume(
        g(1),
        &[fwbuild::driver_file(g(2), small_pe, "Inner", Some(&depex))],
        0x1000,
    );
    let lz = fwbuild::lzma_section(&fwbuild::sections(&[
        fwbuild::section(fwbuild::RAW, b"raw"),
        fwbuild::section(fwbuild::FV_IMAGE, &inner_fv),
    ]));
    let packed = fwbuild::sections(&[
        fwbuild::section(fwbuild::PE32, small_pe),
        fwbuild::ui("Packed"),
    ]);
    let mut efi = (packed.len() as u32).to_le_bytes().to_vec();
    efi.push(1);
    efi.extend_from_slice(&fwbuild::edk2_compress("Efi", &packed));
    let mut tiano = fwbuild::guid("a31280ad-481e-41b6-95e8-127f4c984779").to_vec();
    tiano.extend_from_slice(&24u16.to_le_bytes());
    tiano.extend_from_slice(&1u16.to_le_bytes());
    tiano.extend_from_slice(&fwbuild::edk2_compress("Tiano", &packed));
    let body = fwbuild::ui("Guarded");
    let mut crc = fwbuild::guid("fc1bcdb0-7d31-49aa-936a-a4600d9dd083").to_vec();
    crc.extend_from_slice(&28u16.to_le_bytes());
    crc.extend_from_slice(&2u16.to_le_bytes());
    crc.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    crc.extend_from_slice(&body);
    let files = [
        fwbuild::driver_file(g(3), sec_pe, "Outer", Some(&depex)),
        fwbuild::ffs(g(4), fwbuild::FV_IMAGE_FILE, &lz),
        fwbuild::ffs(g(5), fwbuild::DRIVER, &fwbuild::section(0x01, &efi)),
        fwbuild::ffs(g(6), fwbuild::DRIVER, &fwbuild::section(0x02, &tiano)),
        fwbuild::ffs(g(7), 0x02, &fwbuild::section(0x02, &crc)),
    ];
    let used: usize = 0x60 + files.iter().map(|f| (f.len() + 7) & !7).sum::<usize>();
    let size = (used + 0x1ff) & !0xff;
    (fwbuild::volume(g(0), &files, size), used)
}

fn mutate(rng: &mut common::Rng, src: &[u8], used: usize) -> Vec<u8> {
    let mut v = src.to_vec();
    for _ in 0..1 + rng.next() % 3 {
        if v.is_empty() {
            break;
        }
        let at = (rng.next() as usize) % used.min(v.len()).max(1);
        match rng.next() % 6 {
            0 => v[at] ^= 1 << (rng.next() % 8),
            1 => v[at] = [0, 0xff, 0x7f, 0x80, 1, 0x17, 0x02][(rng.next() % 7) as usize],
            2 => {
                let at = at & !3;
                if at + 4 <= v.len() {
                    let len = v.len() as u32;
                    let x = [0, u32::MAX, len, len + 1, 0x00ff_ffff, 24][(rng.next() % 6) as usize];
                    v[at..at + 4].copy_from_slice(&x.to_le_bytes());
                }
            }
            3 => v.truncate(at),
            4 => {
                let n = (rng.next() as usize % 64).min(v.len() - at);
                let chunk = v[at..at + n].to_vec();
                v.splice(at..at, chunk);
            }
            _ => {
                let n = (rng.next() as usize % 64).min(v.len() - at);
                v.drain(at..at + n);
            }
        }
    }
    v
}

#[test]
fn thousands_of_mutated_images_never_panic_nor_over_allocate() {
    let _serial = common::counting::serial();
    let ovmf = std::fs::read("/usr/share/OVMF/OVMF_CODE_4M.fd")
        .expect("/usr/share/OVMF/OVMF_CODE_4M.fd (Debian package ovmf, installed by .ci/run)");
    let inv = bootaudit::firmware::read(&ovmf).unwrap();
    let secfv = inv
        .volumes
        .iter()
        .find(|v| v.offset.is_some() && v.index > 0)
        .unwrap();
    let at = secfv.offset.unwrap() as usize;
    let sec_image = ovmf[at..at + secfv.size as usize].to_vec();
    let pe = fwbuild::ovmf_sec_core_pe();
    let (image, used) = built(&pe);
    // The built image reads whole before it is mutated: every part counts.
    let clean = bootaudit::firmware::read(&image).unwrap();
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!(
        clean.files.len(),
        6,
        "{:#?}",
        clean.files.iter().map(|f| &f.path).collect::<Vec<_>>()
    );
    assert_eq!(clean.files.iter().filter(|f| f.body.is_some()).count(), 4);
    let sec_used = sec_image.len() - inv.volumes[secfv.index].free_space as usize;
    let mut rng = common::Rng(0xf1a5_4bad_c0de_0012);
    let (mut read, mut refused, mut with_problems) = (0, 0, 0);
    for (src, used, rounds) in [(&image, used, 2500), (&sec_image, sec_used, 800)] {
        for _ in 0..rounds {
            let m = mutate(&mut rng, src, used);
            let base = common::counting::start();
            match bootaudit::firmware::read(&m) {
                Ok(inv) => {
                    let json = serde_json::to_string(&inv).unwrap();
                    read += 1;
                    if !inv.problems.is_empty() {
                        with_problems += 1;
                    }
                    drop(json);
                }
                Err(e) => {
                    let _ = e.to_string();
                    refused += 1;
                }
            }
            let peak = common::counting::peak_since(base);
            let bound = 8 * m.len() + (64 << 20);
            assert!(peak <= bound, "peak {peak} for a {}-byte image", m.len());
            // Stricter than the project's bound: what the inventory itself
            // holds beyond the decompression budget.
            assert!(
                peak <= 40 * m.len() + (4 << 20),
                "peak {peak} for a {}-byte image",
                m.len()
            );
        }
    }
    assert!(
        read > 2000 && with_problems > 1000 && refused > 5,
        "read {read}, with problems {with_problems}, refused {refused}"
    );
}
