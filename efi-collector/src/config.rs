//! What to do after collecting: read from `\bootaudit\config` on the ESP
//! (`mode=shutdown` or `mode=return`), or from the load options, which win.
//! Deployment default: return to the firmware's boot manager, so the next
//! Boot#### entry runs.

use alloc::string::{String, ToString};
use uefi::fs::FileSystem;
use uefi::prelude::*;
use uefi::proto::loaded_image::LoadedImage;

/// After collecting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Return to the boot manager with EFI_ABORTED, so that the next boot
    /// option runs (on EFI_SUCCESS a boot manager stops at its menu).
    Return,
    /// Power off (labs and tests).
    Shutdown,
    /// Lab: ExitBootServices with the MapKey retry loop, record, reset.
    ExitBootServices,
    /// Load and start `Config::chain` from the same ESP.
    Chain,
}

/// The collector's configuration.
pub struct Config {
    /// What to do after collecting.
    pub mode: Mode,
    /// Lab: disturb the memory map on the first ExitBootServices attempt.
    pub disturb: bool,
    /// The loader to chain to (`chain=\EFI\debian\shimx64.efi`).
    pub chain: Option<String>,
    /// Load options for the chained loader: `chain-options=` and the rest
    /// of its line, spaces included (a kernel's command line has several
    /// words).
    pub chain_options: Option<String>,
    /// Tests only (`test-panic=1`): panic at once, to prove that a failing
    /// collector hands the boot back to the firmware.
    pub test_panic: bool,
    /// `flash-window=BYTES` (decimal or 0x hex, a multiple of 4 KiB, at
    /// most 32 MiB): the size of the BIOS flash decoded below 4 GiB, for a
    /// firmware whose memory map and GCD map do not describe it (variables
    /// kept in SMM). The operator names it; the collector reads nothing
    /// below 4 GiB it was not told of.
    pub flash_window: Option<u64>,
    /// `hash-budget-ms=N` (at most 600000): how long hashing firmware-file
    /// bodies may take, instead of the default; 0 lifts the time limit
    /// (the byte cap stays). For a responder with time, and for tests that
    /// must not depend on the machine's speed.
    pub hash_budget_ms: Option<u64>,
}

fn parse(text: &str, cfg: &mut Config) {
    for line in text.lines().take(64) {
        // `chain-options=` takes the rest of its line.
        let at = line.match_indices("chain-options=").find(|(i, _)| {
            line[..*i]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || c == ';')
        });
        let words = match at {
            Some((i, _)) => {
                cfg.chain_options = Some(line[i + "chain-options=".len()..].trim().to_string());
                &line[..i]
            }
            None => line,
        };
        parse_words(words, cfg);
    }
}

fn parse_words(text: &str, cfg: &mut Config) {
    for word in text.split(|c: char| c.is_whitespace() || c == ';').take(64) {
        match word.trim() {
            "mode=shutdown" | "shutdown" => cfg.mode = Mode::Shutdown,
            "mode=return" | "return" => cfg.mode = Mode::Return,
            "mode=exit-boot-services" | "exit-boot-services" => cfg.mode = Mode::ExitBootServices,
            "disturb=1" => cfg.disturb = true,
            "test-panic=1" => cfg.test_panic = true,
            "mode=chain" => cfg.mode = Mode::Chain,
            w if w.starts_with("chain=") => cfg.chain = Some(w["chain=".len()..].to_string()),
            w if w.starts_with("hash-budget-ms=") => {
                cfg.hash_budget_ms = w["hash-budget-ms=".len()..]
                    .parse()
                    .ok()
                    .filter(|n| *n <= 600_000);
            }
            w if w.starts_with("flash-window=") => {
                let v = &w["flash-window=".len()..];
                let n = match v.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).ok(),
                    None => v.parse().ok(),
                };
                cfg.flash_window = n.filter(|n| *n > 0 && n % 4096 == 0 && *n <= 32 << 20);
            }
            _ => {}
        }
    }
}

/// Reads the configuration; anything unreadable leaves the default.
pub fn load() -> Config {
    let mut cfg = Config {
        mode: Mode::Return,
        disturb: false,
        chain: None,
        chain_options: None,
        test_panic: false,
        flash_window: None,
        hash_budget_ms: None,
    };
    if let Ok(sfs) = boot::get_image_file_system(boot::image_handle()) {
        let mut fs = FileSystem::new(sfs);
        if let Ok(bytes) = fs.read(cstr16!("bootaudit\\config")) {
            if bytes.len() <= 4096 {
                parse(&String::from_utf8_lossy(&bytes), &mut cfg);
            }
        }
    }
    if let Ok(li) = boot::open_protocol_exclusive::<LoadedImage>(boot::image_handle()) {
        if let Ok(opts) = li.load_options_as_cstr16() {
            let mut s = String::new();
            for c in opts.iter().take(1024) {
                s.push(char::from(*c));
            }
            parse(&s, &mut cfg);
        }
    }
    cfg
}
