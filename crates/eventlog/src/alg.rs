//! TPM hash algorithms as they appear in event logs (TPM_ALG_ID), and the
//! hashing that replay and digest checks need.

use bootaudit_snapshot::AlgorithmId;

use serde::{Serialize, Serializer};
use std::fmt;

/// A TPM_ALG_ID. Algorithms bootaudit cannot compute are kept as `Other`
/// so that their digests are still carried (and skipped by their declared
/// size) rather than rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashAlg {
    /// TPM_ALG_SHA1.
    Sha1,
    /// TPM_ALG_SHA256.
    Sha256,
    /// TPM_ALG_SHA384.
    Sha384,
    /// TPM_ALG_SHA512.
    Sha512,
    /// TPM_ALG_SM3_256.
    Sm3_256,
    /// Any other algorithm identifier.
    Other(u16),
}

impl HashAlg {
    /// Maps a TPM_ALG_ID to an algorithm.
    pub fn from_id(id: u16) -> HashAlg {
        match AlgorithmId(id) {
            AlgorithmId::SHA1 => HashAlg::Sha1,
            AlgorithmId::SHA256 => HashAlg::Sha256,
            AlgorithmId::SHA384 => HashAlg::Sha384,
            AlgorithmId::SHA512 => HashAlg::Sha512,
            AlgorithmId::SM3_256 => HashAlg::Sm3_256,
            AlgorithmId(other) => HashAlg::Other(other),
        }
    }

    /// The TPM_ALG_ID.
    pub fn id(self) -> u16 {
        match self {
            HashAlg::Sha1 => AlgorithmId::SHA1,
            HashAlg::Sha256 => AlgorithmId::SHA256,
            HashAlg::Sha384 => AlgorithmId::SHA384,
            HashAlg::Sha512 => AlgorithmId::SHA512,
            HashAlg::Sm3_256 => AlgorithmId::SM3_256,
            HashAlg::Other(id) => AlgorithmId(id),
        }
        .0
    }

    /// The bank name used in JSON and tables ("sha1", "sha256", ...), the
    /// same names Linux uses in /sys/class/tpm/tpm0/pcr-<name>/.
    pub fn name(self) -> String {
        match self {
            HashAlg::Sha1 => "sha1".into(),
            HashAlg::Sha256 => "sha256".into(),
            HashAlg::Sha384 => "sha384".into(),
            HashAlg::Sha512 => "sha512".into(),
            HashAlg::Sm3_256 => "sm3_256".into(),
            HashAlg::Other(id) => format!("alg_0x{id:04x}"),
        }
    }

    /// Parses a bank name as [`HashAlg::name`] writes it.
    pub fn from_name(s: &str) -> Option<HashAlg> {
        Some(match s.to_ascii_lowercase().as_str() {
            "sha1" => HashAlg::Sha1,
            "sha256" => HashAlg::Sha256,
            "sha384" => HashAlg::Sha384,
            "sha512" => HashAlg::Sha512,
            "sm3_256" | "sm3" => HashAlg::Sm3_256,
            other => HashAlg::Other(u16::from_str_radix(other.strip_prefix("alg_0x")?, 16).ok()?),
        })
    }

    /// The digest size in bytes for algorithms bootaudit knows.
    pub fn size(self) -> Option<usize> {
        match self {
            HashAlg::Sha1 => Some(20),
            HashAlg::Sha256 | HashAlg::Sm3_256 => Some(32),
            HashAlg::Sha384 => Some(48),
            HashAlg::Sha512 => Some(64),
            HashAlg::Other(_) => None,
        }
    }

    /// Hashes the concatenation of `parts`; `None` for algorithms bootaudit
    /// cannot compute.
    pub fn hash(self, parts: &[&[u8]]) -> Option<Vec<u8>> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            h.finalize().to_vec()
        }
        Some(match self {
            HashAlg::Sha1 => run::<sha1::Sha1>(parts),
            HashAlg::Sha256 => run::<sha2::Sha256>(parts),
            HashAlg::Sha384 => run::<sha2::Sha384>(parts),
            HashAlg::Sha512 => run::<sha2::Sha512>(parts),
            HashAlg::Sm3_256 => run::<sm3::Sm3>(parts),
            HashAlg::Other(_) => return None,
        })
    }

    /// True when `data` hashes to `digest`, without allocating.
    pub fn matches(self, data: &[u8], digest: &[u8]) -> bool {
        fn eq<D: sha2::Digest>(data: &[u8], digest: &[u8]) -> bool {
            D::digest(data).as_slice() == digest
        }
        match self {
            HashAlg::Sha1 => eq::<sha1::Sha1>(data, digest),
            HashAlg::Sha256 => eq::<sha2::Sha256>(data, digest),
            HashAlg::Sha384 => eq::<sha2::Sha384>(data, digest),
            HashAlg::Sha512 => eq::<sha2::Sha512>(data, digest),
            HashAlg::Sm3_256 => eq::<sm3::Sm3>(data, digest),
            HashAlg::Other(_) => false,
        }
    }

    /// PCR extend in place: `pcr = H(pcr || digest)`, without allocating.
    /// Returns false (and leaves `pcr`) for algorithms bootaudit cannot
    /// compute or a `pcr` of the wrong size.
    pub fn extend_in_place(self, pcr: &mut [u8], digest: &[u8]) -> bool {
        fn run<D: sha2::Digest>(pcr: &mut [u8], digest: &[u8]) -> bool {
            let mut h = D::new();
            h.update(&*pcr);
            h.update(digest);
            let out = h.finalize();
            if out.len() != pcr.len() {
                return false;
            }
            pcr.copy_from_slice(&out);
            true
        }
        match self {
            HashAlg::Sha1 => run::<sha1::Sha1>(pcr, digest),
            HashAlg::Sha256 => run::<sha2::Sha256>(pcr, digest),
            HashAlg::Sha384 => run::<sha2::Sha384>(pcr, digest),
            HashAlg::Sha512 => run::<sha2::Sha512>(pcr, digest),
            HashAlg::Sm3_256 => run::<sm3::Sm3>(pcr, digest),
            HashAlg::Other(_) => false,
        }
    }
}

impl fmt::Display for HashAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for HashAlg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_round_trip() {
        for id in [4u16, 0xb, 0xc, 0xd, 0x12, 0x99] {
            let a = HashAlg::from_id(id);
            assert_eq!(a.id(), id);
            assert_eq!(HashAlg::from_name(&a.name()), Some(a));
        }
    }

    #[test]
    fn known_answer_digests() {
        // FIPS 180 "abc" vectors and GB/T 32905 "abc".
        let h = |a: HashAlg| crate::hexser::encode(a.hash(&[b"a", b"bc"]).unwrap());
        assert_eq!(h(HashAlg::Sha1), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            h(HashAlg::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            h(HashAlg::Sm3_256),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert!(HashAlg::Other(7).hash(&[b"x"]).is_none());
    }
}
