//! The string-valued kinds of the format: who produced a snapshot, when a
//! memory map was taken, which part could not be collected.
//!
//! Each is an enum of the values this version writes, plus an `Unknown`
//! variant that keeps any other string exactly. A newer producer may add a
//! value; an older reader still accepts the file, shows the value as it was
//! written, and treats it as none of the ones it knows. On the wire each is
//! the plain string, as before these types existed.

use alloc::string::String;
use core::fmt;
use serde::{Deserialize, Serialize};

/// Defines a string kind: its known values, their wire strings, and the
/// `Unknown` fallback.
macro_rules! string_kind {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not know, kept as written.
            Unknown(String),
        }

        impl $name {
            /// Every value this version knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// True for a value this version does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $( $text => $name::$variant, )+
                    other => $name::Unknown(String::from(other)),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $text => $name::$variant, )+
                    _ => $name::Unknown(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(k: $name) -> String {
                match k {
                    $name::Unknown(s) => s,
                    known => String::from(known.as_str()),
                }
            }
        }

        /// The empty unknown value: what a document that omits the field
        /// holds.
        impl Default for $name {
            fn default() -> Self {
                $name::Unknown(String::new())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_kind! {
    /// Who produced a snapshot ([`crate::Source::kind`]).
    SourceKind {
        /// The UEFI collector, in the firmware, before any OS.
        EfiCollector = "efi-collector",
        /// `bootaudit collect` on a running Linux host.
        LinuxHost = "linux-host",
    }
}

string_kind! {
    /// When, or from where, a memory map was taken ([`crate::MemoryMap::label`]).
    MapLabel {
        /// The collector's first GetMemoryMap, at entry.
        Entry = "entry",
        /// The first map of the collector's quiet window.
        Quiet1 = "quiet-1",
        /// The last map of the quiet window.
        Quiet2 = "quiet-2",
        /// The collector's last map, after its work.
        After = "after",
        /// A running Linux host: /sys/firmware/memmap, the firmware's map as
        /// the kernel received it (E820 types).
        FirmwareMemmap = "firmware-memmap",
        /// A running Linux host: /sys/firmware/efi/runtime-map, the runtime
        /// regions the kernel mapped for EFI runtime services.
        EfiRuntimeMap = "efi-runtime-map",
    }
}

string_kind! {
    /// The part a [`crate::CollectError`] is about.
    Part {
        /// The firmware's identity (system table, kernel release).
        Identity = "identity",
        /// ACPI tables.
        Acpi = "acpi",
        /// The Device Tree (EFI_DTB_TABLE).
        DeviceTree = "device-tree",
        /// SMBIOS tables.
        Smbios = "smbios",
        /// Memory maps and the MapKey watch.
        MemoryMap = "memory-map",
        /// The TPM, its event log, PCRs and quote.
        Tpm = "tpm",
        /// Secure Boot variables and boot entries.
        SecureBoot = "secure-boot",
        /// Loaded images.
        LoadedImages = "loaded-images",
        /// The collector's ExitBootServices mode.
        ExitBootServices = "exit-boot-services",
        /// The ESP's binaries.
        Esp = "esp",
        /// A confidential VM's event log (CCEL).
        CcEventLog = "cc-event-log",
        /// The firmware's volumes (EFI_FIRMWARE_VOLUME2_PROTOCOL).
        FirmwareVolumes = "firmware-volumes",
        /// The copy of the machine's flash.
        FirmwareFlash = "firmware-flash",
        /// The UEFI Memory Attributes Table.
        MemoryAttributes = "memory-attributes",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_known_value_round_trips_through_its_string() {
        for k in MapLabel::KNOWN {
            assert_eq!(&MapLabel::from(k.as_str()), k);
            assert!(!k.is_unknown());
        }
        for k in Part::KNOWN {
            assert_eq!(&Part::from(k.to_string()), k);
        }
        for k in SourceKind::KNOWN {
            assert_eq!(String::from(k.clone()), k.as_str());
        }
    }

    #[test]
    fn an_unknown_value_is_kept_exactly() {
        let k = Part::from("quantum-tpm");
        assert_eq!(k, Part::Unknown("quantum-tpm".into()));
        assert!(k.is_unknown());
        assert_eq!(String::from(k), "quantum-tpm");
        assert_eq!(MapLabel::from(""), MapLabel::Unknown(String::new()));
    }
}
