//! The few TPM 2.0 commands bootaudit sends to read PCRs and make a quote,
//! marshalled and unmarshalled here once: for the collector before any OS
//! runs (through EFI_TCG2_PROTOCOL.SubmitCommand) and for the host, which
//! speaks them to the kernel's TPM device without a TSS library (so that a
//! static build can quote), makes the same attestation key, and fuzzes the
//! response parsers.
//!
//! The attestation key is a primary key under the owner hierarchy made from
//! [`AK_TEMPLATE`]: the same template gives the same key in the same TPM,
//! every boot, so the collector's quote and a later host quote are signed by
//! one key, the one `bootaudit ak` enrols.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// TPMT_PUBLIC of bootaudit's attestation key: RSA 2048, name algorithm
/// SHA-256, fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth |
/// restricted | sign (0x00050072), no policy, no symmetric algorithm,
/// RSASSA with SHA-256, the default exponent, an empty unique field.
pub const AK_TEMPLATE: [u8; 24] = [
    0x00, 0x01, // TPM_ALG_RSA
    0x00, 0x0b, // nameAlg SHA-256
    0x00, 0x05, 0x00, 0x72, // objectAttributes
    0x00, 0x00, // authPolicy: empty
    0x00, 0x10, // symmetric: TPM_ALG_NULL
    0x00, 0x14, 0x00, 0x0b, // scheme: RSASSA, SHA-256
    0x08, 0x00, // keyBits 2048
    0x00, 0x00, 0x00, 0x00, // exponent: default (65537)
    0x00, 0x00, // unique: empty
];

/// The part of [`AK_TEMPLATE`] before its unique field: what the TPM's
/// public area of the key starts with.
pub const AK_TEMPLATE_PREFIX: usize = 22;

/// TPMT_PUBLIC of the TCG's default endorsement key, RSA 2048 (TCG EK
/// Credential Profile 2.0, template L-1): name algorithm SHA-256,
/// fixedTPM | fixedParent | sensitiveDataOrigin | adminWithPolicy |
/// restricted | decrypt (0x000300b2), the policy PolicySecret(TPM_RH_ENDORSEMENT),
/// AES-128-CFB, no scheme, the default exponent, a 256-byte zero unique
/// field. The same template gives the same key in the same TPM for ever
/// (its endorsement seed): the machine's TPM identity, and the key
/// tpm2-tools' `tpm2_createek -G rsa` makes.
pub const EK_TEMPLATE_PREFIX: [u8; 56] = [
    0x00, 0x01, // TPM_ALG_RSA
    0x00, 0x0b, // nameAlg SHA-256
    0x00, 0x03, 0x00, 0xb2, // objectAttributes
    0x00, 0x20, // authPolicy: 32 bytes
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
    0x00, 0x06, 0x00, 0x80, 0x00, 0x43, // symmetric: AES, 128 bits, CFB
    0x00, 0x10, // scheme: TPM_ALG_NULL
    0x08, 0x00, // keyBits 2048
    0x00, 0x00, 0x00, 0x00, // exponent: default (65537)
];
/// The size of the EK template's unique field (zeros in the template, the
/// modulus in the key).
pub const EK_UNIQUE: usize = 256;
/// The template's name as snapshots record it.
pub const EK_TEMPLATE_NAME: &str = "rsa-2048";

/// TPM_RH_OWNER.
const RH_OWNER: u32 = 0x4000_0001;
/// TPM_RH_ENDORSEMENT.
const RH_ENDORSEMENT: u32 = 0x4000_000b;
/// TPM_RS_PW: the password session.
const RS_PW: u32 = 0x4000_0009;
const ST_NO_SESSIONS: u16 = 0x8001;
const ST_SESSIONS: u16 = 0x8002;
const CC_CREATE_PRIMARY: u32 = 0x0000_0131;
const CC_QUOTE: u32 = 0x0000_0158;
const CC_FLUSH_CONTEXT: u32 = 0x0000_0165;
const CC_PCR_READ: u32 = 0x0000_017e;
const CC_GET_CAPABILITY: u32 = 0x0000_017a;
const CC_NV_READ_PUBLIC: u32 = 0x0000_0169;
const CC_NV_READ: u32 = 0x0000_014e;
/// The TCG's NV index of the RSA 2048 EK certificate (TCG EK Credential
/// Profile 2.0, 2.2.1.4): the certificate of the key [`endorsement_key`]
/// makes.
pub const EK_CERT_RSA_INDEX: u32 = 0x01c0_0002;
/// The largest EK certificate read.
pub const MAX_EK_CERT: usize = 4096;
/// The bytes asked for per TPM2_NV_Read (under every TPM's
/// MAX_NV_BUFFER_SIZE, and the response under [`MAX_RESPONSE`]).
const NV_CHUNK: u16 = 512;
/// TPM_RC_HANDLE for the first handle: no such NV index.
const RC_NO_INDEX: u32 = 0x0000_018b;
/// TPM_CAP_PCRS.
const CAP_PCRS: u32 = 5;
/// TPM_ALG_SHA1 (as the raw u16 the commands carry).
pub const ALG_SHA1: u16 = crate::AlgorithmId::SHA1.0;
/// TPM_ALG_SHA256.
pub const ALG_SHA256: u16 = crate::AlgorithmId::SHA256.0;
/// The largest response the parsers here accept.
pub const MAX_RESPONSE: usize = 4096;

fn header(tag: u16, cc: u32, body: &[u8]) -> Vec<u8> {
    let mut c = Vec::with_capacity(10 + body.len());
    c.extend_from_slice(&tag.to_be_bytes());
    c.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
    c.extend_from_slice(&cc.to_be_bytes());
    c.extend_from_slice(body);
    c
}

/// The authorization area of one password session with an empty password.
fn password_auth(body: &mut Vec<u8>) {
    body.extend_from_slice(&9u32.to_be_bytes());
    body.extend_from_slice(&RS_PW.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 0, 0]); // nonce, attributes, hmac: empty
}

/// TPM2_CreatePrimary(owner, [`AK_TEMPLATE`]), with an empty owner password.
pub fn create_primary_command() -> Vec<u8> {
    create_primary_in(RH_OWNER, &AK_TEMPLATE)
}

/// TPM2_CreatePrimary(endorsement, the EK template: [`EK_TEMPLATE_PREFIX`]
/// and a zero unique field), with an empty endorsement password.
pub fn create_ek_command() -> Vec<u8> {
    let mut t = EK_TEMPLATE_PREFIX.to_vec();
    t.extend_from_slice(&(EK_UNIQUE as u16).to_be_bytes());
    t.resize(t.len() + EK_UNIQUE, 0);
    create_primary_in(RH_ENDORSEMENT, &t)
}

fn create_primary_in(hierarchy: u32, template: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&hierarchy.to_be_bytes());
    password_auth(&mut b);
    b.extend_from_slice(&[0, 4, 0, 0, 0, 0]); // inSensitive: empty auth, empty data
    b.extend_from_slice(&(template.len() as u16).to_be_bytes());
    b.extend_from_slice(template);
    b.extend_from_slice(&[0, 0]); // outsideInfo
    b.extend_from_slice(&[0, 0, 0, 0]); // creationPCR: none
    header(ST_SESSIONS, CC_CREATE_PRIMARY, &b)
}

/// The TPM's endorsement key, made from the TCG's default RSA template
/// (TPM2_CreatePrimary, then TPM2_FlushContext, also when reading failed):
/// its TPMT_PUBLIC, which names this TPM. The collector and the host read
/// it through this one sequence.
pub fn endorsement_key<E>(
    mut transact: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Vec<u8>, CommandError<E>> {
    let resp = transact(&create_ek_command()).map_err(CommandError::Transport)?;
    let ek = parse_create_primary_of(&resp, &EK_TEMPLATE_PREFIX)
        .map_err(|e| CommandError::Response("TPM2_CreatePrimary (the EK)", e))?;
    let flushed = transact(&flush_command(ek.handle))
        .map_err(CommandError::Transport)
        .and_then(|r| {
            parse_empty(&r).map_err(|e| CommandError::Response("TPM2_FlushContext (the EK)", e))
        });
    flushed?;
    if ek.public.len() != EK_TEMPLATE_PREFIX.len() + 2 + EK_UNIQUE {
        return Err(CommandError::Response(
            "TPM2_CreatePrimary (the EK)",
            ResponseError {
                structure: "TPM2B_PUBLIC",
                offset: 16,
                why: "not a 2048-bit RSA key",
                rc: 0,
            },
        ));
    }
    Ok(ek.public)
}

/// TPM2_Quote by `key` of the PCRs in `mask` (bit i = PCR i, 0-23) of
/// bank `alg`, with `nonce` (at most 64 bytes) as qualifying data and the
/// key's own scheme.
pub fn quote_command(key: u32, nonce: &[u8], alg: u16, mask: u32) -> Vec<u8> {
    let nonce = &nonce[..nonce.len().min(64)];
    let mut b = Vec::new();
    b.extend_from_slice(&key.to_be_bytes());
    password_auth(&mut b);
    b.extend_from_slice(&(nonce.len() as u16).to_be_bytes());
    b.extend_from_slice(nonce);
    b.extend_from_slice(&0x0010u16.to_be_bytes()); // inScheme: TPM_ALG_NULL
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&alg.to_be_bytes());
    b.push(3);
    b.extend_from_slice(&mask.to_le_bytes()[..3]);
    header(ST_SESSIONS, CC_QUOTE, &b)
}

/// TPM2_FlushContext(`handle`).
pub fn flush_command(handle: u32) -> Vec<u8> {
    header(ST_NO_SESSIONS, CC_FLUSH_CONTEXT, &handle.to_be_bytes())
}

/// TPM2_PCR_Read of the PCRs in `mask` (bit i = PCR i, 0-23) of bank `alg`.
pub fn pcr_read_command(alg: u16, mask: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&alg.to_be_bytes());
    b.push(3);
    b.extend_from_slice(&mask.to_le_bytes()[..3]);
    header(ST_NO_SESSIONS, CC_PCR_READ, &b)
}

/// TPM2_GetCapability(TPM_CAP_PCRS): the allocated banks.
pub fn pcr_banks_command() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&CAP_PCRS.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&1u32.to_be_bytes());
    header(ST_NO_SESSIONS, CC_GET_CAPABILITY, &b)
}

/// Parses a TPM2_GetCapability(TPM_CAP_PCRS) response: each bank the TPM
/// implements and the PCRs allocated in it (bit i = PCR i).
pub fn parse_pcr_banks(resp: &[u8]) -> Result<Vec<(u16, u32)>, ResponseError> {
    let mut r = open(resp, false)?;
    let _more = r.take(1, "moreData")?;
    if r.u32("capability")? != CAP_PCRS {
        return Err(ResponseError {
            structure: "capability",
            offset: 11,
            why: "not TPM_CAP_PCRS",
            rc: 0,
        });
    }
    let at = r.o();
    let count = r.u32("TPML_PCR_SELECTION")?;
    if count > 16 {
        return Err(ResponseError {
            structure: "TPML_PCR_SELECTION",
            offset: at,
            why: "more than 16 banks",
            rc: 0,
        });
    }
    let mut out = Vec::new();
    for _ in 0..count {
        let (alg, mask) = r.pcr_selection()?;
        out.push((alg, mask & 0x00ff_ffff));
    }
    Ok(out)
}

/// The digest size of the banks bootaudit knows (SHA-1, SHA-256, SHA-384,
/// SHA-512, SM3-256).
pub fn digest_len(alg: u16) -> Option<usize> {
    crate::AlgorithmId(alg).digest_size()
}

/// What one TPM2_PCR_Read returned for the bank asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PcrValues {
    /// The PCRs the TPM returned (bit i = PCR i).
    pub mask: u32,
    /// Their values, lowest PCR first.
    pub digests: Vec<Vec<u8>>,
}

/// Parses a TPM2_PCR_Read response to a read of bank `alg`: the selection
/// must name that bank only, and hold as many digests, of its size, as it
/// selects.
pub fn parse_pcr_read(resp: &[u8], alg: u16) -> Result<PcrValues, ResponseError> {
    let mut r = open(resp, false)?;
    let _update_counter = r.u32("pcrUpdateCounter")?;
    let count = r.u32("TPML_PCR_SELECTION")?;
    if count > 1 {
        return Err(r.err("TPML_PCR_SELECTION", "more than the one bank asked for"));
    }
    let mut mask = 0u32;
    if count == 1 {
        let at = r.o();
        let (hash, m) = r.pcr_selection()?;
        if hash != alg {
            return Err(ResponseError {
                structure: "TPMS_PCR_SELECTION",
                offset: at,
                why: "another bank than the one asked for",
                rc: 0,
            });
        }
        mask = m;
    }
    let at = r.o();
    let ndig = r.u32("TPML_DIGEST")?;
    if ndig != mask.count_ones() || ndig > 8 {
        return Err(ResponseError {
            structure: "TPML_DIGEST",
            offset: at,
            why: "not one digest per selected PCR (at most eight)",
            rc: 0,
        });
    }
    let mut digests = Vec::new();
    for _ in 0..ndig {
        let at = r.o();
        let d = r.sized("TPM2B_DIGEST")?;
        if digest_len(alg).is_some_and(|l| l != d.len()) {
            return Err(ResponseError {
                structure: "TPM2B_DIGEST",
                offset: at,
                why: "not the bank's digest size",
                rc: 0,
            });
        }
        digests.push(d.to_vec());
    }
    if r.o() != resp.len() {
        return Err(r.err("response", "bytes after the last digest"));
    }
    Ok(PcrValues { mask, digests })
}

/// Why a conversation with the TPM failed: a command could not be sent,
/// or its response was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError<E> {
    /// The transport failed.
    Transport(E),
    /// The response to this command was refused.
    Response(&'static str, ResponseError),
    /// TPM2_PCR_Read returned PCRs that were not asked for.
    NotAsked(u32),
}

impl<E: core::fmt::Display> core::fmt::Display for CommandError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CommandError::Transport(e) => write!(f, "{e}"),
            CommandError::Response(command, e) => write!(f, "{command}: {e}"),
            CommandError::NotAsked(m) => write!(
                f,
                "TPM2_PCR_Read: the TPM returned PCRs not asked for ({m:#08x})"
            ),
        }
    }
}

/// PCRs 0-23 of bank `alg`, as many TPM2_PCR_Read commands as the TPM
/// needs (a TPM returns at most eight digests per read), sending each with
/// `transact`. Bounded: every read must return a PCR still wanted, else
/// the reading stops. An empty map means the bank is not allocated.
pub fn read_bank<E>(
    alg: u16,
    mut transact: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<BTreeMap<u32, Vec<u8>>, CommandError<E>> {
    let mut want: u32 = 0x00ff_ffff;
    let mut out = BTreeMap::new();
    while want != 0 {
        let resp = transact(&pcr_read_command(alg, want)).map_err(CommandError::Transport)?;
        let got =
            parse_pcr_read(&resp, alg).map_err(|e| CommandError::Response("TPM2_PCR_Read", e))?;
        if got.mask & !want != 0 {
            return Err(CommandError::NotAsked(got.mask & !want));
        }
        if got.mask == 0 {
            break;
        }
        let pcrs = (0..24u32).filter(|i| got.mask & (1 << i) != 0);
        for (i, d) in pcrs.zip(got.digests) {
            out.insert(i, d);
        }
        want &= !got.mask;
    }
    Ok(out)
}

/// A quote by bootaudit's AK: TPM2_CreatePrimary of [`AK_TEMPLATE`],
/// TPM2_Quote of the PCRs in `mask` of bank `alg` with `nonce`, and
/// TPM2_FlushContext of the key (also when the quote failed), each sent
/// with `transact`. The collector and the host quote through this one
/// sequence.
pub fn quote<E>(
    nonce: &[u8],
    alg: u16,
    mask: u32,
    mut transact: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<(Created, Quoted), CommandError<E>> {
    let resp = transact(&create_primary_command()).map_err(CommandError::Transport)?;
    let ak = parse_create_primary(&resp)
        .map_err(|e| CommandError::Response("TPM2_CreatePrimary (the AK)", e))?;
    let quoted = transact(&quote_command(ak.handle, nonce, alg, mask))
        .map_err(CommandError::Transport)
        .and_then(|r| parse_quote(&r).map_err(|e| CommandError::Response("TPM2_Quote", e)));
    let flushed = transact(&flush_command(ak.handle))
        .map_err(CommandError::Transport)
        .and_then(|r| {
            parse_empty(&r).map_err(|e| CommandError::Response("TPM2_FlushContext (the AK)", e))
        });
    let quoted = quoted?;
    flushed?;
    Ok((ak, quoted))
}

/// Why a TPM response was refused: the structure, the byte offset in the
/// response, and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseError {
    /// The TPM structure being read.
    pub structure: &'static str,
    /// Byte offset in the response.
    pub offset: usize,
    /// What was wrong (a TPM response code, a short buffer).
    pub why: &'static str,
    /// The TPM's response code, when it refused the command.
    pub rc: u32,
}

impl core::fmt::Display for ResponseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} at byte {} of the response: {}",
            self.structure, self.offset, self.why
        )?;
        if self.rc != 0 {
            write!(f, " (rc {:#x})", self.rc)?;
        }
        Ok(())
    }
}

/// A response's reader: the one byte reader, its short reads told as
/// [`ResponseError`]s naming the structure.
struct R<'a> {
    r: crate::bytes::Reader<'a>,
}

impl<'a> R<'a> {
    fn err(&self, structure: &'static str, why: &'static str) -> ResponseError {
        ResponseError {
            structure,
            offset: self.o(),
            why,
            rc: 0,
        }
    }
    fn new(b: &'a [u8]) -> Self {
        R {
            r: crate::bytes::Reader::new(b),
        }
    }
    fn o(&self) -> usize {
        self.r.position()
    }
    /// A short read, at the offset where it was asked.
    fn short(structure: &'static str, e: crate::bytes::Short) -> ResponseError {
        ResponseError {
            structure,
            offset: e.offset,
            why: "truncated",
            rc: 0,
        }
    }
    fn take(&mut self, n: usize, s: &'static str) -> Result<&'a [u8], ResponseError> {
        self.r.take(n, s).map_err(|e| Self::short(s, e))
    }
    fn u16(&mut self, s: &'static str) -> Result<u16, ResponseError> {
        self.r.u16_be(s).map_err(|e| Self::short(s, e))
    }
    fn u32(&mut self, s: &'static str) -> Result<u32, ResponseError> {
        self.r.u32_be(s).map_err(|e| Self::short(s, e))
    }
    fn sized(&mut self, s: &'static str) -> Result<&'a [u8], ResponseError> {
        self.r.sized_u16_be(s).map_err(|e| Self::short(s, e))
    }
    /// TPMS_PCR_SELECTION: the bank and its PCRs (bit i = PCR i).
    fn pcr_selection(&mut self) -> Result<(u16, u32), ResponseError> {
        const S: &str = "TPMS_PCR_SELECTION";
        let alg = self.u16(S)?;
        let n = self.take(1, S)?[0] as usize;
        if n > 4 {
            return Err(self.err(S, "sizeofSelect over 4 bytes"));
        }
        let mut mask = 0u32;
        for (i, b) in self.take(n, S)?.iter().enumerate() {
            mask |= (*b as u32) << (8 * i);
        }
        Ok((alg, mask))
    }
}

/// Reads a response's header: it must be a success whose size field is the
/// response's length (at most [`MAX_RESPONSE`]).
fn open(resp: &[u8], sessions: bool) -> Result<R<'_>, ResponseError> {
    let mut r = R::new(resp);
    if resp.len() > MAX_RESPONSE {
        return Err(r.err("response", "longer than 4096 bytes"));
    }
    let tag = r.u16("response header")?;
    let size = r.u32("response header")?;
    let rc = r.u32("response header")?;
    if rc != 0 {
        return Err(ResponseError {
            structure: "response header",
            offset: 6,
            why: "the TPM refused the command",
            rc,
        });
    }
    if size as usize != resp.len() {
        return Err(ResponseError {
            structure: "response header",
            offset: 2,
            why: "size field is not the response's length",
            rc: 0,
        });
    }
    let want = if sessions {
        ST_SESSIONS
    } else {
        ST_NO_SESSIONS
    };
    if tag != want {
        return Err(ResponseError {
            structure: "response header",
            offset: 0,
            why: "unexpected tag",
            rc: 0,
        });
    }
    Ok(r)
}

/// What [`read_endorsement`] read: the EK's TPMT_PUBLIC, and its
/// certificate's DER (`None` when the TPM holds none) or why it could not
/// be read.
pub struct Endorsement<E> {
    /// The key's public area.
    pub public: Vec<u8>,
    /// The certificate in [`EK_CERT_RSA_INDEX`].
    pub certificate: Result<Option<Vec<u8>>, CommandError<E>>,
}

/// The TPM's endorsement key ([`endorsement_key`]) and then its
/// certificate ([`nv_read_all`] of [`EK_CERT_RSA_INDEX`]) over one
/// transport: the sequence the collector and the host both run. A
/// certificate that cannot be read leaves the key read.
pub fn read_endorsement<E>(
    mut transact: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Endorsement<E>, CommandError<E>> {
    let public = endorsement_key(&mut transact)?;
    let certificate = nv_read_all(EK_CERT_RSA_INDEX, &mut transact);
    Ok(Endorsement {
        public,
        certificate,
    })
}

/// TPM2_NV_ReadPublic(`index`).
pub fn nv_read_public_command(index: u32) -> Vec<u8> {
    header(ST_NO_SESSIONS, CC_NV_READ_PUBLIC, &index.to_be_bytes())
}

/// The dataSize of a TPM2_NV_ReadPublic response's TPMS_NV_PUBLIC, or
/// `None` when the TPM says the index is not defined.
pub fn parse_nv_read_public(resp: &[u8], index: u32) -> Result<Option<u16>, ResponseError> {
    let mut r = match open(resp, false) {
        Ok(r) => r,
        Err(e) if e.rc == RC_NO_INDEX => return Ok(None),
        Err(e) => return Err(e),
    };
    let public = r.sized("TPM2B_NV_PUBLIC")?;
    let mut p = R::new(public);
    if p.u32("TPMS_NV_PUBLIC.nvIndex")? != index {
        return Err(ResponseError {
            structure: "TPMS_NV_PUBLIC.nvIndex",
            offset: 12,
            why: "another index than the one asked for",
            rc: 0,
        });
    }
    p.u16("TPMS_NV_PUBLIC.nameAlg")?;
    p.u32("TPMS_NV_PUBLIC.attributes")?;
    p.sized("TPMS_NV_PUBLIC.authPolicy")?;
    let size = p.u16("TPMS_NV_PUBLIC.dataSize")?;
    r.sized("TPM2B_NAME")?;
    Ok(Some(size))
}

/// TPM2_NV_Read(owner, `index`, `size` bytes at `offset`), with an empty
/// owner password (TPMA_NV_OWNERREAD, as the TCG's EK indices allow).
pub fn nv_read_command(index: u32, size: u16, offset: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&RH_OWNER.to_be_bytes());
    b.extend_from_slice(&index.to_be_bytes());
    password_auth(&mut b);
    b.extend_from_slice(&size.to_be_bytes());
    b.extend_from_slice(&offset.to_be_bytes());
    header(ST_SESSIONS, CC_NV_READ, &b)
}

/// The data of a TPM2_NV_Read response, which must be `size` bytes.
pub fn parse_nv_read(resp: &[u8], size: u16) -> Result<&[u8], ResponseError> {
    let mut r = open(resp, true)?;
    let _param_size = r.u32("parameterSize")?;
    let data = r.sized("TPM2B_MAX_NV_BUFFER")?;
    if data.len() != size as usize {
        return Err(ResponseError {
            structure: "TPM2B_MAX_NV_BUFFER",
            offset: 14,
            why: "another size than the one asked for",
            rc: 0,
        });
    }
    Ok(data)
}

/// The contents of NV index `index` (the EK certificate at
/// [`EK_CERT_RSA_INDEX`]): `None` when it is not defined; an index over
/// [`MAX_EK_CERT`] bytes is refused. Read in chunks, owner-authorised.
pub fn nv_read_all<E>(
    index: u32,
    mut transact: impl FnMut(&[u8]) -> Result<Vec<u8>, E>,
) -> Result<Option<Vec<u8>>, CommandError<E>> {
    const WHAT: &str = "TPM2_NV_ReadPublic";
    let resp = transact(&nv_read_public_command(index)).map_err(CommandError::Transport)?;
    let Some(size) =
        parse_nv_read_public(&resp, index).map_err(|e| CommandError::Response(WHAT, e))?
    else {
        return Ok(None);
    };
    if size as usize > MAX_EK_CERT {
        return Err(CommandError::Response(
            WHAT,
            ResponseError {
                structure: "TPMS_NV_PUBLIC.dataSize",
                offset: 0,
                why: "over 4096 bytes",
                rc: 0,
            },
        ));
    }
    let mut out = Vec::with_capacity(size as usize);
    while out.len() < size as usize {
        let n = (size - out.len() as u16).min(NV_CHUNK);
        let resp = transact(&nv_read_command(index, n, out.len() as u16))
            .map_err(CommandError::Transport)?;
        let data =
            parse_nv_read(&resp, n).map_err(|e| CommandError::Response("TPM2_NV_Read", e))?;
        out.extend_from_slice(data);
    }
    Ok(Some(out))
}

/// What TPM2_CreatePrimary returned: the key's transient handle and its
/// TPMT_PUBLIC (the AK's public area, what a verifier trusts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// The transient handle (flush it when done).
    pub handle: u32,
    /// TPMT_PUBLIC as the TPM marshalled it.
    pub public: Vec<u8>,
}

/// Parses a TPM2_CreatePrimary response of bootaudit's AK.
pub fn parse_create_primary(resp: &[u8]) -> Result<Created, ResponseError> {
    parse_create_primary_of(resp, &AK_TEMPLATE[..AK_TEMPLATE_PREFIX])
}

/// Parses a TPM2_CreatePrimary response of a key whose public area must
/// start with `prefix` (its template before the unique field).
pub fn parse_create_primary_of(resp: &[u8], prefix: &[u8]) -> Result<Created, ResponseError> {
    let mut r = open(resp, true)?;
    let handle = r.u32("objectHandle")?;
    if handle >> 24 != 0x80 {
        return Err(ResponseError {
            structure: "objectHandle",
            offset: 10,
            why: "not a transient handle",
            rc: 0,
        });
    }
    let _param_size = r.u32("parameterSize")?;
    let public = r.sized("TPM2B_PUBLIC")?.to_vec();
    if public.len() < prefix.len() + 2 || !public.starts_with(prefix) {
        return Err(ResponseError {
            structure: "TPM2B_PUBLIC",
            offset: 16,
            why: "not the key of the template asked for",
            rc: 0,
        });
    }
    Ok(Created { handle, public })
}

/// What TPM2_Quote returned: TPMS_ATTEST (the TPM2B's content) and
/// TPMT_SIGNATURE, both as the TPM marshalled them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quoted {
    /// TPMS_ATTEST.
    pub attest: Vec<u8>,
    /// TPMT_SIGNATURE.
    pub signature: Vec<u8>,
}

/// Parses a TPM2_Quote response. The signature is the parameters after
/// TPM2B_ATTEST, up to parameterSize: its inner layout is the verifier's
/// to check.
pub fn parse_quote(resp: &[u8]) -> Result<Quoted, ResponseError> {
    let mut r = open(resp, true)?;
    let param_size = r.u32("parameterSize")? as usize;
    let start = r.o();
    let end = start
        .checked_add(param_size)
        .filter(|e| *e <= resp.len())
        .ok_or_else(|| r.err("parameterSize", "larger than the response"))?;
    let attest = r.sized("TPM2B_ATTEST")?.to_vec();
    if r.o() > end || attest.is_empty() {
        return Err(r.err("TPM2B_ATTEST", "outside the parameters"));
    }
    let signature = resp[r.o()..end].to_vec();
    if signature.len() < 6 {
        return Err(r.err("TPMT_SIGNATURE", "truncated"));
    }
    Ok(Quoted { attest, signature })
}

/// Checks a response that carries nothing but its header (FlushContext).
pub fn parse_empty(resp: &[u8]) -> Result<(), ResponseError> {
    open(resp, false).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn commands_are_sized_by_their_header() {
        for c in [
            create_primary_command(),
            quote_command(0x8000_0000, &[7; 32], ALG_SHA256, 0xff),
            flush_command(0x8000_0000),
        ] {
            assert_eq!(
                u32::from_be_bytes([c[2], c[3], c[4], c[5]]) as usize,
                c.len()
            );
        }
        // The quote's PCR selection: one bank, three bytes, PCRs 0-7.
        let q = quote_command(0x8000_0001, &[1; 32], ALG_SHA256, 0xff);
        assert_eq!(&q[q.len() - 6..], &[0x00, 0x0b, 3, 0xff, 0, 0]);
    }

    /// A PCR_Read response as a TPM makes it: the PCRs of `mask` (at most
    /// eight taken, lowest first) of a SHA-256 bank, PCR i holding [i; 32].
    fn pcr_response(mask: u32) -> Vec<u8> {
        let pcrs: Vec<u32> = (0..24).filter(|i| mask & (1 << i) != 0).take(8).collect();
        let got: u32 = pcrs.iter().map(|i| 1 << i).sum();
        let mut r = vec![0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
        r.extend_from_slice(&1u32.to_be_bytes());
        r.extend_from_slice(&ALG_SHA256.to_be_bytes());
        r.push(3);
        r.extend_from_slice(&got.to_le_bytes()[..3]);
        r.extend_from_slice(&(pcrs.len() as u32).to_be_bytes());
        for i in pcrs {
            r.extend_from_slice(&[0, 32]);
            r.extend_from_slice(&[i as u8; 32]);
        }
        let n = r.len() as u32;
        r[2..6].copy_from_slice(&n.to_be_bytes());
        r
    }

    #[test]
    fn a_bank_is_read_eight_pcrs_at_a_time() {
        let mut asked = Vec::new();
        let got = read_bank(ALG_SHA256, |cmd| {
            let m = u32::from_le_bytes([cmd[17], cmd[18], cmd[19], 0]);
            asked.push(m);
            Ok::<_, ()>(pcr_response(m))
        })
        .unwrap();
        assert_eq!(asked, [0xff_ffff, 0xff_ff00, 0xff_0000]);
        assert_eq!(got.len(), 24);
        assert_eq!(got[&23], vec![23; 32]);
        // A TPM that answers with PCRs not asked for, or with nothing, does
        // not make the reader spin.
        let e = read_bank(ALG_SHA256, |_| Ok::<_, ()>(pcr_response(0xff))).unwrap_err();
        assert_eq!(e, CommandError::NotAsked(0xff));
        let none = read_bank(ALG_SHA256, |_| Ok::<_, ()>(pcr_response(0))).unwrap();
        assert!(none.is_empty());
        // A short digest is refused with its offset.
        let mut r = pcr_response(1);
        r[29] = 20; // TPM2B_DIGEST.size, after header (10), counter (4), selection (10), count (4)
        let e = parse_pcr_read(&r, ALG_SHA256).unwrap_err();
        assert_eq!((e.structure, e.offset), ("TPM2B_DIGEST", 28));
    }

    #[test]
    fn the_allocated_banks_are_read_from_the_capability() {
        // moreData, TPM_CAP_PCRS, two banks: SHA-1 with none, SHA-256 with 0-23.
        let mut r = vec![0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        r.extend_from_slice(&5u32.to_be_bytes());
        r.extend_from_slice(&2u32.to_be_bytes());
        r.extend_from_slice(&[0, 4, 3, 0, 0, 0, 0, 0x0b, 3, 0xff, 0xff, 0xff]);
        let n = r.len() as u32;
        r[2..6].copy_from_slice(&n.to_be_bytes());
        assert_eq!(
            parse_pcr_banks(&r).unwrap(),
            [(ALG_SHA1, 0), (ALG_SHA256, 0xff_ffff)]
        );
        let e = parse_pcr_banks(&r[..r.len() - 1]).unwrap_err();
        assert_eq!((e.structure, e.offset), ("response header", 2));
        let c = pcr_banks_command();
        assert_eq!(
            u32::from_be_bytes([c[2], c[3], c[4], c[5]]) as usize,
            c.len()
        );
    }

    #[test]
    fn refusals_and_truncations_name_the_offset() {
        let refused = [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x09, 0x22];
        let e = parse_quote(&refused).unwrap_err();
        assert_eq!((e.rc, e.offset), (0x922, 6));
        let short = [0x80, 0x02, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0];
        assert_eq!(parse_quote(&short).unwrap_err().offset, 2);
        let mut q = vec![0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(&100u32.to_be_bytes());
        q.extend_from_slice(&[0, 2, 1, 2]);
        let n = q.len() as u32;
        q[2..6].copy_from_slice(&n.to_be_bytes());
        let e = parse_quote(&q).unwrap_err();
        assert_eq!((e.structure, e.offset), ("parameterSize", 14));
    }
}
