//! A file on the ESP, as a device path's file part or an ESP-relative path
//! names it: one typed value, so that matching a measured boot application
//! to a file, recognising a known loader's place and comparing two ESPs all
//! normalise the same way (FAT names compare without case; separators are
//! `\` in device paths and `/` in paths read from the ESP, and firmware
//! sometimes writes one file path as several nodes).

/// A path on the ESP, by its components, lowercased.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EspPath(Vec<String>);

/// File names of the loaders the UEFI specification, the distributions'
/// shim/grub/systemd-boot packages and Windows install on an ESP.
const KNOWN_LOADER_FILES: &[&str] = &[
    "bootx64.efi",
    "bootia32.efi",
    "bootaa64.efi",
    "shimx64.efi",
    "shimia32.efi",
    "shimaa64.efi",
    "grubx64.efi",
    "grubia32.efi",
    "grubaa64.efi",
    "mmx64.efi",
    "fbx64.efi",
    "systemd-bootx64.efi",
    "bootmgfw.efi",
    "bootmgr.efi",
];

impl EspPath {
    /// A path with `\` or `/` separators (`EFI/BOOT/BOOTX64.EFI`,
    /// `\EFI\BOOT\BOOTX64.EFI`); empty components are dropped.
    pub fn parse(s: &str) -> EspPath {
        EspPath(
            s.split(['\\', '/'])
                .filter(|c| !c.is_empty())
                .map(str::to_ascii_lowercase)
                .collect(),
        )
    }

    /// The file part of a device path's text: its file-path nodes (those
    /// that start with `\`), joined; `None` when it has none (an
    /// application from a firmware volume).
    pub fn from_device_path(device_path: &str) -> Option<EspPath> {
        let file: Vec<&str> = device_path
            .split('/')
            .filter(|n| n.starts_with('\\'))
            .collect();
        if file.is_empty() {
            return None;
        }
        Some(EspPath::parse(&file.join("\\")))
    }

    /// `efi/boot/bootx64.efi`: as the ESP reader names files.
    pub fn slash(&self) -> String {
        self.0.join("/")
    }

    /// `\efi\boot\bootx64.efi`: as a device path names it.
    pub fn backslash(&self) -> String {
        format!("\\{}", self.0.join("\\"))
    }

    /// Whether this is one of the places a loader is installed:
    /// `\EFI\<dir>\<known loader>` or a unified kernel image under
    /// `\EFI\Linux\`.
    pub fn is_known_loader(&self) -> bool {
        let parts: Vec<&str> = self.0.iter().map(String::as_str).collect();
        match parts.as_slice() {
            ["efi", "linux", name] => name.ends_with(".efi"),
            ["efi", _, name] => KNOWN_LOADER_FILES.contains(name),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EspPath;

    #[test]
    fn device_paths_and_esp_paths_normalise_alike() {
        let dp = "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)/\\EFI\\BOOT\\BOOTX64.EFI";
        let p = EspPath::from_device_path(dp).unwrap();
        assert_eq!(p.slash(), "efi/boot/bootx64.efi");
        assert_eq!(p.backslash(), "\\efi\\boot\\bootx64.efi");
        assert_eq!(p, EspPath::parse("EFI/BOOT/BOOTX64.EFI"));
        assert!(p.is_known_loader());
        // Two file nodes, as some firmware writes them.
        let two = EspPath::from_device_path("HD(1,GPT,x)/\\EFI\\/\\debian\\grubx64.efi").unwrap();
        assert_eq!(two.slash(), "efi/debian/grubx64.efi");
        assert_eq!(EspPath::from_device_path("Fv(1)/FvFile(2)"), None);
        for (p, known) in [
            ("\\efi\\debian\\shimx64.efi", true),
            ("\\efi\\linux\\arch-linux.efi", true),
            ("\\efi\\bootaudit\\collector.efi", false),
            ("\\efi\\debian\\evil.efi", false),
            ("\\bootx64.efi", false),
        ] {
            assert_eq!(EspPath::parse(p).is_known_loader(), known, "{p}");
        }
    }
}
