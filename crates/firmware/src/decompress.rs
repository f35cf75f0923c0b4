//! The decompressors of firmware sections, each bounded by a [`Budget`]:
//! LZMA (EDK II's `LzmaCompress` format: 5 property bytes, the 64-bit
//! uncompressed size, then the stream), LZMA with EDK II's x86 branch
//! filter (LZMA-F86), and the EFI and Tiano algorithms of the PI
//! specification's standard compression.
//!
//! Why these crates: Microsoft's `patina_ffs` and `patina` need a nightly
//! compiler (`feature(allocator_api)`), and this project builds on stable.
//! The EFI/Tiano decoder is `mu_uefi_decompress`, the same code patina now
//! carries, published for stable. LZMA is liblzma (the xz project's C
//! library, built from source by `liblzma-sys`): a pure-Rust decoder
//! measured 2.4 times slower on OVMF's 13 MiB DXE volume, which alone would
//! miss the speed goal against UEFIExtract.
//!
//! A compressed section comes from a machine that may be compromised: its
//! header's size is checked against the budget before anything is
//! allocated, the output can never grow past that size, and the LZMA
//! dictionary is clamped to the output's size (no back-reference can reach
//! further than what was written), so a header asking for a 4 GiB
//! dictionary costs nothing.

use super::FirmwareError;

/// How much a whole image may decompress to, and at what ratio: the caps
/// every decompression of one image draws from.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Bytes still allowed, over every decompression of the image.
    pub remaining: u64,
    /// The largest output per compressed byte one section may claim (plus
    /// [`RATIO_FLOOR`]).
    pub ratio: u64,
}

/// Small sections may always decompress to this much, whatever the ratio.
pub const RATIO_FLOOR: u64 = 1 << 20;

/// The cap on everything one image decompresses to.
pub const MAX_TOTAL_OUTPUT: u64 = 256 << 20;

/// The largest output-to-input ratio of one section. Firmware volumes
/// compress well (free space is all 0xFF): OVMF's DXE volume is 9:1, and a
/// nearly empty volume may be far more, hence the generous cap.
pub const MAX_RATIO: u64 = 2048;

impl Budget {
    /// The budget of an image of `input_len` bytes: at most
    /// [`MAX_TOTAL_OUTPUT`], and at most six times the image plus 32 MiB,
    /// so that peak memory stays within the project's bound of eight times
    /// the input plus 64 MiB.
    pub fn for_input(input_len: usize) -> Budget {
        let by_input = (input_len as u64)
            .saturating_mul(6)
            .saturating_add(32 << 20);
        Budget {
            remaining: by_input.min(MAX_TOTAL_OUTPUT),
            ratio: MAX_RATIO,
        }
    }

    /// Takes `want` bytes for a section of `compressed` bytes, or says why
    /// it may not have them.
    fn take(
        &mut self,
        want: u64,
        compressed: usize,
        at: u64,
        structure: &'static str,
    ) -> Result<(), FirmwareError> {
        let by_ratio = (compressed as u64)
            .saturating_mul(self.ratio)
            .saturating_add(RATIO_FLOOR);
        if want > by_ratio {
            return Err(FirmwareError::at(
                at,
                structure,
                format!(
                    "claims {want} bytes from {compressed}, past the 1:{} ratio cap",
                    self.ratio
                ),
            ));
        }
        if want > self.remaining {
            return Err(FirmwareError::at(
                at,
                structure,
                format!(
                    "claims {want} bytes; the image's decompression budget has {} left",
                    self.remaining
                ),
            ));
        }
        self.remaining -= want;
        Ok(())
    }
}

/// The LZMA header of EDK II's format: 5 property bytes and a 64-bit size.
const LZMA_HEADER: usize = 13;

/// Decompresses an EDK II LZMA section body (`at` is its offset, for
/// errors).
pub fn lzma(src: &[u8], budget: &mut Budget, at: u64) -> Result<Vec<u8>, FirmwareError> {
    let err = |m: String| FirmwareError::at(at, "LZMA section", m);
    if src.len() < LZMA_HEADER {
        return Err(err(format!(
            "{} bytes, shorter than the 13-byte header",
            src.len()
        )));
    }
    let size = u64::from_le_bytes(src[5..13].try_into().unwrap_or_default());
    if size == u64::MAX {
        return Err(err("the header gives no uncompressed size".into()));
    }
    budget.take(size, src.len(), at, "LZMA section")?;
    let size = usize::try_from(size).map_err(|_| err("uncompressed size too large".into()))?;
    // Clamp the dictionary to the output: no match can reach further back
    // than the bytes already written, so decoding is unchanged.
    let mut header = [0u8; LZMA_HEADER];
    header.copy_from_slice(&src[..LZMA_HEADER]);
    let dict = u32::from_le_bytes(header[1..5].try_into().unwrap_or_default());
    let clamp = u32::try_from(size.max(4096)).unwrap_or(u32::MAX);
    if dict > clamp {
        header[1..5].copy_from_slice(&clamp.to_le_bytes());
    }
    let mut stream = liblzma::stream::Stream::new_lzma_decoder(64 << 20)
        .map_err(|e| err(format!("decoder: {e}")))?;
    let mut out = Vec::with_capacity(size);
    let feed = |s: &mut liblzma::stream::Stream, input: &[u8], out: &mut Vec<u8>| {
        s.process_vec(input, out, liblzma::stream::Action::Run)
    };
    feed(&mut stream, &header, &mut out).map_err(|e| err(format!("header: {e}")))?;
    let body = &src[LZMA_HEADER..];
    let mut consumed = 0usize;
    // process_vec writes into the spare capacity only: the output can never
    // pass `size`. Loop until the output is full or the input ends.
    while out.len() < size {
        let before_in = stream.total_in();
        let before_out = out.len();
        let status = stream
            .process_vec(&body[consumed..], &mut out, liblzma::stream::Action::Finish)
            .map_err(|e| err(format!("at stream byte {consumed}: {e}")))?;
        consumed += (stream.total_in() - before_in) as usize;
        if status == liblzma::stream::Status::StreamEnd {
            break;
        }
        if out.len() == before_out && stream.total_in() == before_in {
            break;
        }
    }
    if out.len() != size {
        return Err(err(format!(
            "the stream ends after {} of the {size} bytes its header gives",
            out.len()
        )));
    }
    Ok(out)
}

/// Decompresses an LZMA-F86 section: LZMA, then EDK II's x86 branch
/// converter (the LZMA SDK's BCJ) undone.
pub fn lzma_f86(src: &[u8], budget: &mut Budget, at: u64) -> Result<Vec<u8>, FirmwareError> {
    let mut out = lzma(src, budget, at)?;
    x86_decode(&mut out);
    Ok(out)
}

/// Undoes the x86 BCJ filter in place (the LZMA SDK's `x86_Convert` with
/// `encoding = 0`, from position 0, as EDK II's `LzmaArchDecompress` calls
/// it): relative CALL/JMP targets were made absolute to compress better.
pub fn x86_decode(data: &mut [u8]) {
    fn ms_byte(b: u8) -> bool {
        b.wrapping_add(1) & 0xfe == 0
    }
    if data.len() < 5 {
        return;
    }
    let limit = data.len() - 4;
    let ip: u32 = 5;
    let mut pos = 0usize;
    let mut mask: u32 = 0;
    loop {
        let mut p = pos;
        while p < limit && data[p] & 0xfe != 0xe8 {
            p += 1;
        }
        let d = p - pos;
        pos = p;
        if p >= limit {
            return;
        }
        if d > 2 {
            mask = 0;
        } else {
            mask >>= d as u32;
            if mask != 0 && (mask > 4 || mask == 3 || ms_byte(data[p + (mask as usize >> 1) + 1])) {
                mask = (mask >> 1) | 4;
                pos += 1;
                continue;
            }
        }
        if ms_byte(data[p + 4]) {
            let mut v = u32::from_le_bytes([data[p + 1], data[p + 2], data[p + 3], data[p + 4]]);
            let cur = ip.wrapping_add(pos as u32);
            pos += 5;
            v = v.wrapping_sub(cur);
            if mask != 0 {
                let sh = (mask & 6) << 2;
                if ms_byte((v >> sh) as u8) {
                    v ^= (0x100u32 << sh).wrapping_sub(1);
                    v = v.wrapping_sub(cur);
                }
                mask = 0;
            }
            data[p + 1] = v as u8;
            data[p + 2] = (v >> 8) as u8;
            data[p + 3] = (v >> 16) as u8;
            data[p + 4] = 0u8.wrapping_sub(((v >> 24) & 1) as u8);
        } else {
            mask = (mask >> 1) | 4;
            pos += 1;
        }
    }
}

/// Which algorithm an EFI_STANDARD_COMPRESSION section used: the PI
/// specification's EFI algorithm, or Tiano (a larger window, the same
/// format otherwise). The section does not say; decoders try both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Standard {
    /// The EFI algorithm (UEFI specification, "Compression Algorithm").
    Efi,
    /// The Tiano algorithm.
    Tiano,
}

/// Decompresses an EFI or Tiano stream (8-byte header: compressed and
/// original sizes). Tries `first`, then the other algorithm.
// The crate is marked deprecated in favour of `patina`, which needs a
// nightly compiler (see the module's note); the code is the same.
#[allow(deprecated)]
pub fn efi_standard(
    src: &[u8],
    first: Standard,
    budget: &mut Budget,
    at: u64,
) -> Result<(Vec<u8>, Standard), FirmwareError> {
    let err = |m: String| FirmwareError::at(at, "EFI-compressed section", m);
    if src.len() < 8 {
        return Err(err(format!(
            "{} bytes, shorter than the 8-byte header",
            src.len()
        )));
    }
    let compressed = u32::from_le_bytes(src[0..4].try_into().unwrap_or_default()) as usize;
    let size = u32::from_le_bytes(src[4..8].try_into().unwrap_or_default()) as u64;
    if compressed > src.len() - 8 {
        return Err(err(format!(
            "the header gives {compressed} compressed bytes, {} are there",
            src.len() - 8
        )));
    }
    budget.take(size, src.len(), at, "EFI-compressed section")?;
    let mut out = vec![0u8; size as usize];
    let other = match first {
        Standard::Efi => Standard::Tiano,
        Standard::Tiano => Standard::Efi,
    };
    for algo in [first, other] {
        let a = match algo {
            Standard::Efi => uefi_decompress::DecompressionAlgorithm::UefiDecompress,
            Standard::Tiano => uefi_decompress::DecompressionAlgorithm::TianoDecompress,
        };
        // The decoder is third-party code reading hostile bits: a panic it
        // did not foresee is a malformed section, not a crash.
        let ok = crate::guard::quietly(|| {
            uefi_decompress::decompress_into_with_algo(&src[..compressed + 8], &mut out, a).is_ok()
        });
        if ok == Some(true) {
            return Ok((out, algo));
        }
    }
    Err(err(
        "neither the EFI nor the Tiano algorithm decodes it".into()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x86-like bytes: CALL and JMP opcodes with targets, and noise.
    fn code(n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        let mut x: u32 = 0x1234_5678;
        while v.len() < n {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match x % 5 {
                0 => v.extend_from_slice(&[0xe8, x as u8, (x >> 8) as u8, 0, 0]),
                1 => v.extend_from_slice(&[0xe9, (x >> 3) as u8, 0xff, 0xff, 0xff]),
                2 => v.push(0xe8),
                _ => v.push(x as u8),
            }
        }
        v.truncate(n);
        v
    }

    /// liblzma's own x86 filter is the oracle: a raw [x86, LZMA2] encoding
    /// decoded with LZMA2 alone leaves the filtered bytes, which our decoder
    /// must turn back into the original.
    #[test]
    fn x86_decode_undoes_liblzma_x86_filter() {
        use liblzma::stream::{Action, Filters, LzmaOptions, Stream};
        for n in [0usize, 4, 5, 6, 17, 4096, 100_003] {
            let data = code(n);
            let opts = LzmaOptions::new_preset(1).unwrap();
            let mut f = Filters::new();
            f.x86().lzma2(&opts);
            let mut enc = Stream::new_raw_encoder(&f).unwrap();
            let mut packed = Vec::with_capacity(n * 2 + 1024);
            enc.process_vec(&data, &mut packed, Action::Finish).unwrap();
            let mut g = Filters::new();
            g.lzma2(&opts);
            let mut dec = Stream::new_raw_decoder(&g).unwrap();
            let mut filtered = Vec::with_capacity(n + 64);
            dec.process_vec(&packed, &mut filtered, Action::Finish)
                .unwrap();
            assert_eq!(filtered.len(), n);
            if n > 1000 {
                assert_ne!(filtered, data, "the filter changed nothing: no test");
            }
            x86_decode(&mut filtered);
            assert_eq!(filtered, data, "{n} bytes");
        }
    }

    #[test]
    fn lzma_refuses_sizes_past_the_budget_before_allocating() {
        let mut hdr = vec![0x5d, 0, 0, 0x40, 0];
        hdr.extend_from_slice(&(1u64 << 40).to_le_bytes());
        hdr.extend_from_slice(&[0; 32]);
        let mut b = Budget::for_input(hdr.len());
        let e = lzma(&hdr, &mut b, 0x1234).unwrap_err().to_string();
        assert!(e.contains("0x1234") && e.contains("ratio"), "{e}");
    }
}
