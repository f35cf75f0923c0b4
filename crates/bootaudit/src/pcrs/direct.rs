//! A TPM spoken to directly, with no TSS library: the kernel's TPM
//! character device (`device:/dev/tpmrm0`) or swtpm's command port
//! (`swtpm:host=H,port=P`), and the commands the snapshot crate marshals
//! for the collector (TPM2_GetCapability, TPM2_PCR_Read, TPM2_CreatePrimary
//! of bootaudit's AK, TPM2_Quote, TPM2_FlushContext). This is how a static
//! bootaudit (in an initramfs, on a host without libtss2) reads PCRs and
//! quotes, and it is the same key and the same bytes as the collector's
//! boot quote.
//!
//! Every response is read into a buffer of at most
//! [`bootaudit_snapshot::tpm2::MAX_RESPONSE`] bytes and parsed with the
//! structure and offset of what is wrong; a TPM that answers "retry" is
//! asked again at most 20 times.

use super::{PcrError, QuoteBlobs, TpmError};
use crate::eventlog::replay::PcrBanks;
use crate::eventlog::HashAlg;
use bootaudit_snapshot::tpm2::{self, MAX_RESPONSE};
use std::io::{Read, Write};
use std::time::Duration;

enum Conn {
    /// A Linux TPM character device: one write is one command, one read
    /// its whole response.
    Device(std::fs::File),
    /// swtpm's TPM command port: a stream of commands and responses.
    Tcp(std::net::TcpStream),
}

/// An open TPM.
pub struct DirectTpm {
    conn: Conn,
}

/// TPM_RC_RETRY, TPM_RC_YIELDED, TPM_RC_TESTING: ask again.
const RETRY: [u32; 3] = [0x922, 0x908, 0x90a];

impl DirectTpm {
    /// Opens `tcti` when it is one bootaudit speaks directly
    /// (`device:PATH`, `swtpm:host=H,port=P`); `None` for the others
    /// (`mssim:`, `tabrmd:`), which need the TSS (feature `tpm`).
    pub fn open(tcti: &str) -> Result<Option<DirectTpm>, PcrError> {
        let err = |why: String| PcrError::Tpm {
            tcti: tcti.to_string(),
            why,
        };
        let conn = if let Some(path) = tcti.strip_prefix("device:") {
            Conn::Device(open_device(path).map_err(err)?)
        } else if tcti == "swtpm" || tcti.starts_with("swtpm:") {
            let (host, port) = swtpm_address(tcti.strip_prefix("swtpm:").unwrap_or(""))
                .map_err(|w| err(format!("bad TCTI string: {w}")))?;
            let s = std::net::TcpStream::connect((host.as_str(), port))
                .map_err(|e| err(format!("cannot connect to {host}:{port}: {e}")))?;
            let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(30)));
            Conn::Tcp(s)
        } else {
            return Ok(None);
        };
        Ok(Some(DirectTpm { conn }))
    }

    /// Sends one command and returns its response (sent again while the
    /// TPM answers retry).
    pub fn transact(&mut self, cmd: &[u8]) -> Result<Vec<u8>, TpmError> {
        let mut last = Vec::new();
        for _ in 0..20 {
            last = self.transact_once(cmd)?;
            let rc = u32::from_be_bytes([last[6], last[7], last[8], last[9]]);
            if !RETRY.contains(&rc) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(last)
    }

    fn transact_once(&mut self, cmd: &[u8]) -> Result<Vec<u8>, TpmError> {
        let io = |what: &str, e: std::io::Error| TpmError(format!("{what}: {e}"));
        match &mut self.conn {
            Conn::Device(f) => {
                f.write_all(cmd).map_err(|e| io("writing the command", e))?;
                let mut buf = vec![0u8; MAX_RESPONSE];
                let n = f
                    .read(&mut buf)
                    .map_err(|e| io("reading the response", e))?;
                buf.truncate(n);
                if n < 10 {
                    return Err(TpmError(format!("a {n}-byte response, under its header")));
                }
                Ok(buf)
            }
            Conn::Tcp(s) => {
                s.write_all(cmd).map_err(|e| io("writing the command", e))?;
                let mut head = [0u8; 10];
                s.read_exact(&mut head)
                    .map_err(|e| io("reading the response header", e))?;
                let size = u32::from_be_bytes([head[2], head[3], head[4], head[5]]) as usize;
                if !(10..=MAX_RESPONSE).contains(&size) {
                    return Err(TpmError(format!(
                        "response header: size {size} (byte 2) outside 10..={MAX_RESPONSE}"
                    )));
                }
                let mut buf = head.to_vec();
                buf.resize(size, 0);
                s.read_exact(&mut buf[10..])
                    .map_err(|e| io("reading the response", e))?;
                Ok(buf)
            }
        }
    }

    /// The allocated banks and their PCRs (TPM2_GetCapability).
    pub fn banks(&mut self) -> Result<Vec<(HashAlg, u32)>, TpmError> {
        let resp = self.transact(&tpm2::pcr_banks_command())?;
        let banks = tpm2::parse_pcr_banks(&resp)
            .map_err(|e| TpmError(format!("TPM2_GetCapability(PCRS): {e}")))?;
        Ok(banks
            .into_iter()
            .filter(|(_, m)| *m != 0)
            .map(|(a, m)| (HashAlg::from_id(a), m))
            .collect())
    }

    /// PCRs 0-23 of every allocated bank bootaudit knows.
    pub fn read_pcrs(&mut self) -> Result<PcrBanks, TpmError> {
        let mut out = PcrBanks::new();
        for (alg, _) in self.banks()? {
            if tpm2::digest_len(alg.id()).is_none() {
                continue;
            }
            let got = tpm2::read_bank(alg.id(), |c| self.transact(c))
                .map_err(|e| TpmError(format!("bank {alg}: {e}")))?;
            if !got.is_empty() {
                out.insert(alg, got.into_iter().collect());
            }
        }
        if out.is_empty() {
            return Err(TpmError::from("the TPM reports no readable PCR bank"));
        }
        Ok(out)
    }

    /// Quotes the PCRs `pcrs` (0-23) of `bank` with `nonce` (at most 64
    /// bytes) by bootaudit's AK, made from its template and flushed after.
    pub fn quote(
        &mut self,
        nonce: &[u8],
        bank: HashAlg,
        pcrs: &[u32],
    ) -> Result<QuoteBlobs, TpmError> {
        if nonce.len() > 64 {
            return Err(TpmError::from("the nonce is over 64 bytes"));
        }
        let mask = pcrs
            .iter()
            .filter(|&&i| i < 24)
            .fold(0u32, |m, i| m | 1 << i);
        if mask == 0 {
            return Err(TpmError::from("no PCR to quote"));
        }
        let (ak, q) = tpm2::quote(nonce, bank.id(), mask, |c| self.transact(c))
            .map_err(|e| TpmError(e.to_string()))?;
        Ok(QuoteBlobs {
            ak_public: ak.public,
            attest: q.attest,
            signature: q.signature,
        })
    }
}

/// Opens a TPM character device read-write: not through a symlink, and
/// only a character device.
fn open_device(path: &str) -> Result<std::fs::File, String> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    let t = f
        .metadata()
        .map_err(|e| format!("{path}: {e}"))?
        .file_type();
    if !t.is_char_device() {
        return Err(format!("{path}: not a character device"));
    }
    Ok(f)
}

/// `host=H,port=P` (either may be left out: localhost, 2321), as the TSS's
/// swtpm TCTI takes them.
fn swtpm_address(conf: &str) -> Result<(String, u16), String> {
    let (mut host, mut port) = ("localhost".to_string(), 2321u16);
    for kv in conf.split(',').filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some(("host", h)) if !h.is_empty() => host = h.to_string(),
            Some(("port", p)) => port = p.parse().map_err(|_| format!("port {p:?}"))?,
            _ => return Err(format!("{kv:?}: host=H or port=P")),
        }
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::swtpm_address;

    #[test]
    fn swtpm_addresses_parse_as_the_tss_takes_them() {
        assert_eq!(
            swtpm_address("host=127.0.0.1,port=2400").unwrap(),
            ("127.0.0.1".to_string(), 2400)
        );
        assert_eq!(swtpm_address("").unwrap(), ("localhost".to_string(), 2321));
        assert!(swtpm_address("port=x").is_err());
        assert!(swtpm_address("path=/dev/x").is_err());
    }

    #[test]
    fn a_regular_file_is_not_a_tpm() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("tpmrm0");
        std::fs::write(&f, b"x").unwrap();
        let e = super::open_device(f.to_str().unwrap()).unwrap_err();
        assert!(e.contains("not a character device"), "{e}");
        let l = d.path().join("link");
        std::os::unix::fs::symlink("/dev/null", &l).unwrap();
        assert!(super::open_device(l.to_str().unwrap()).is_err());
    }
}
