//! The attester's side of the enrolment, on its TPM (tss-esapi): read the
//! EK certificate from NV memory, find the EK whose public key the
//! certificate certifies, and let the TPM unwrap the verifier's credential
//! with TPM2_ActivateCredential. The TPM does so only if the AK named in
//! the credential is loaded in it beside that EK: no code here can make it
//! succeed for a key that is not.

use super::ekcert::{Cert, Curve, EkKey, EK_CERT_INDICES, MAX_CERT};
use super::enrol::{self, Challenge, Request, Response};
use super::AttestError;
use crate::pcrs::TpmError;
use tss_esapi::abstraction::{ek, nv, AsymmetricAlgorithmSelection};
use tss_esapi::attributes::SessionAttributesBuilder;
use tss_esapi::constants::{CapabilityType, SessionType};
use tss_esapi::handles::{KeyHandle, NvIndexTpmHandle, PersistentTpmHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::{Hierarchy, NvAuth};
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    CapabilityData, EncryptedSecret, IdObject, Public, SymmetricDefinition,
};
use tss_esapi::traits::Marshall;
use tss_esapi::Context;

fn tpm_err(what: &str) -> impl Fn(tss_esapi::Error) -> TpmError + '_ {
    move |e| TpmError::from(format!("{what}: {e}"))
}

/// Reads the EK certificate at `index`, or the first one present among
/// [`EK_CERT_INDICES`] when `index` is `None`. Returns (index, DER).
pub fn read_ek_cert(ctx: &mut Context, index: Option<u32>) -> Result<(u32, Vec<u8>), TpmError> {
    let wanted: Vec<u32> = match index {
        Some(i) => vec![i],
        None => EK_CERT_INDICES.iter().map(|(i, _)| *i).collect(),
    };
    let present: Vec<u32> = nv::list(ctx)
        .map_err(tpm_err("listing NV indices"))?
        .iter()
        .map(|(p, _)| u32::from(p.nv_index()))
        .collect();
    for i in wanted {
        if !present.contains(&i) {
            continue;
        }
        let h = NvIndexTpmHandle::new(i).map_err(tpm_err("NV index"))?;
        let auth = ctx
            .execute_without_session(|c| c.tr_from_tpm_public(TpmHandle::NvIndex(h)))
            .map_err(tpm_err("TPM2_ReadPublic of the NV index"))?;
        let der = ctx
            .execute_with_nullauth_session(|c| nv::read_full(c, NvAuth::NvIndex(auth.into()), h))
            .map_err(tpm_err(&format!("TPM2_NV_Read({i:#010x})")))?;
        if der.len() > MAX_CERT {
            return Err(TpmError::from(format!(
                "NV index {i:#010x} holds {} bytes, over the {MAX_CERT}-byte cap of a certificate",
                der.len()
            )));
        }
        // Some TPMs pad the index with zeros or 0xff after the DER.
        let der = trim_der(&der).to_vec();
        return Ok((i, der));
    }
    Err(TpmError::from(match index {
        Some(i) => format!("the TPM has no NV index {i:#010x}"),
        None => "the TPM has no EK certificate in NV memory (indices 0x01c00002, 0x01c0000a, 0x01c00012, 0x01c00014, 0x01c00016)".to_string(),
    }))
}

/// `der` cut at the end of its outer DER SEQUENCE.
fn trim_der(der: &[u8]) -> &[u8] {
    let len = match der {
        [0x30, 0x82, h, l, ..] => 4 + ((*h as usize) << 8 | *l as usize),
        [0x30, 0x81, l, ..] => 3 + *l as usize,
        [0x30, l, ..] if *l < 0x80 => 2 + *l as usize,
        _ => der.len(),
    };
    &der[..len.min(der.len())]
}

/// The public key of a TPM public area, as an [`EkKey`].
fn key_of(p: &Public) -> Option<EkKey> {
    match p {
        Public::Rsa {
            unique, parameters, ..
        } => {
            let e = match parameters.exponent().value() {
                0 => 65537u32,
                e => e,
            };
            Some(EkKey::Rsa {
                n: unique.value().to_vec(),
                e: super::ekcert::significant(&e.to_be_bytes()).to_vec(),
            })
        }
        Public::Ecc {
            unique, parameters, ..
        } => {
            let curve = match parameters.ecc_curve() {
                EccCurve::NistP256 => Curve::P256,
                EccCurve::NistP384 => Curve::P384,
                _ => return None,
            };
            Some(EkKey::Ecc {
                curve,
                x: unique.x().value().to_vec(),
                y: unique.y().value().to_vec(),
            })
        }
        _ => None,
    }
}

fn same_key(a: &EkKey, b: &EkKey) -> bool {
    use super::ekcert::significant as s;
    match (a, b) {
        (EkKey::Rsa { n, e }, EkKey::Rsa { n: n2, e: e2 }) => s(n) == s(n2) && s(e) == s(e2),
        _ => a == b,
    }
}

/// An EK found in the TPM, loaded.
struct LoadedEk {
    handle: KeyHandle,
    /// Whether it was created here (and must be flushed).
    transient: bool,
    /// Whether its authorisation is a policy (PolicySecret of the
    /// endorsement hierarchy) rather than its empty authValue.
    policy: bool,
}

/// Finds the EK whose public key is `want`: a persistent key
/// (0x81xxxxxx, where provisioning leaves EKs), or one re-created from the
/// TCG templates (L-1 RSA 2048, L-2 ECC P-256, and the P-384 template).
fn find_ek(ctx: &mut Context, want: &EkKey) -> Result<LoadedEk, TpmError> {
    let policy_of = |p: &Public| !p.object_attributes().user_with_auth();
    let (cap, _) = ctx
        .get_capability(CapabilityType::Handles, 0x8100_0000, 64)
        .map_err(tpm_err("TPM2_GetCapability(HANDLES)"))?;
    if let CapabilityData::Handles(list) = cap {
        for h in list.into_inner() {
            let Ok(p) = PersistentTpmHandle::new(u32::from(h)) else {
                continue;
            };
            let Ok(obj) =
                ctx.execute_without_session(|c| c.tr_from_tpm_public(TpmHandle::Persistent(p)))
            else {
                continue;
            };
            let key = KeyHandle::from(obj);
            if let Ok((public, _, _)) = ctx.read_public(key) {
                if key_of(&public).is_some_and(|k| same_key(&k, want)) {
                    return Ok(LoadedEk {
                        handle: key,
                        transient: false,
                        policy: policy_of(&public),
                    });
                }
            }
            let mut obj = obj;
            let _ = ctx.tr_close(&mut obj);
        }
    }
    let templates = [
        AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048),
        AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP256),
        AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP384),
    ];
    for t in templates {
        let fits = matches!(
            (t, want),
            (AsymmetricAlgorithmSelection::Rsa(_), EkKey::Rsa { .. })
                | (
                    AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP256),
                    EkKey::Ecc {
                        curve: Curve::P256,
                        ..
                    }
                )
                | (
                    AsymmetricAlgorithmSelection::Ecc(EccCurve::NistP384),
                    EkKey::Ecc {
                        curve: Curve::P384,
                        ..
                    }
                )
        );
        if !fits {
            continue;
        }
        let public = ek::create_ek_public_from_default_template_2(t, None)
            .map_err(tpm_err("the EK template"))?;
        let policy = policy_of(&public);
        let made = ctx
            .execute_with_nullauth_session(|c| {
                c.create_primary(Hierarchy::Endorsement, public, None, None, None, None)
            })
            .map_err(tpm_err("TPM2_CreatePrimary (the EK)"))?;
        if key_of(&made.out_public).is_some_and(|k| same_key(&k, want)) {
            return Ok(LoadedEk {
                handle: made.key_handle,
                transient: true,
                policy,
            });
        }
        let _ = ctx.flush_context(made.key_handle.into());
    }
    Err(TpmError::from(
        "no EK in this TPM has the public key its certificate certifies",
    ))
}

/// Step 1, the attester: the EK certificate (from `index`, or the first
/// present) and bootaudit's AK (the primary key `collect --quote` signs
/// with).
pub fn request(ctx: &mut Context, index: Option<u32>) -> Result<Request, TpmError> {
    let (index, der) = read_ek_cert(ctx, index)?;
    let ak = crate::pcrs::tpm::create_ak(ctx)?;
    let public = ak
        .out_public
        .marshall()
        .map_err(tpm_err("marshalling the AK"));
    let flushed = ctx.flush_context(ak.key_handle.into());
    let public = public?;
    flushed.map_err(tpm_err("TPM2_FlushContext (the AK)"))?;
    Ok(Request {
        format: enrol::REQUEST.into(),
        ek_nv_index: format!("{index:#010x}"),
        ek_certificate: crate::hexser::encode(&der),
        ak_public: crate::hexser::encode(&public),
    })
}

/// Why activation did not give a response.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// The challenge file is malformed.
    #[error(transparent)]
    Input(#[from] AttestError),
    /// The TPM refused or failed.
    #[error("{0}")]
    Tpm(#[from] TpmError),
}

/// Step 3, the attester: TPM2_ActivateCredential of the challenge with
/// bootaudit's AK and the EK its certificate certifies.
pub fn activate(ctx: &mut Context, ch: &Challenge, file: &str) -> Result<Response, ActivateError> {
    let index = enrol::parse_index(&ch.ek_nv_index, file)?;
    let blob = enrol::hex_field(&ch.credential_blob, file, "credential_blob", 4096)?;
    let secret = enrol::hex_field(&ch.encrypted_secret, file, "encrypted_secret", 4096)?;
    super::credential::check_blobs(&blob, &secret, file)?;
    let name = enrol::hex_field(&ch.ak_name, file, "ak_name", 66)?;
    let (_, der) = read_ek_cert(ctx, Some(index))?;
    let cert = Cert::parse(&der, &format!("NV index {index:#010x}"))?;
    let want = cert.key()?;
    let ek = find_ek(ctx, &want)?;
    let ak = crate::pcrs::tpm::create_ak(ctx);
    let result = (|| -> Result<Response, ActivateError> {
        let ak = ak.as_ref().map_err(|e| TpmError::from(e.to_string()))?;
        let (_, ak_name, _) = ctx
            .read_public(ak.key_handle)
            .map_err(tpm_err("TPM2_ReadPublic (the AK)"))?;
        if ak_name.value() != name.as_slice() {
            return Err(TpmError::from(format!(
                "this TPM's AK is named {}, the challenge {}: it was made for another key",
                crate::hexser::encode(ak_name.value()),
                crate::hexser::encode(&name)
            ))
            .into());
        }
        let out = run_activation(ctx, ak.key_handle, &ek, blob, secret)?;
        Ok(Response {
            format: enrol::RESPONSE.into(),
            secret: crate::hexser::encode(&out),
        })
    })();
    if let Ok(ak) = &ak {
        let _ = ctx.flush_context(ak.key_handle.into());
    }
    if ek.transient {
        let _ = ctx.flush_context(ek.handle.into());
    }
    result
}

/// The two sessions and the command: an HMAC session for the AK (its
/// empty authValue, ADMIN role), and for the EK a policy session satisfied
/// with PolicySecret of the endorsement hierarchy, or a second HMAC
/// session when the EK takes its authValue.
fn run_activation(
    ctx: &mut Context,
    ak: KeyHandle,
    ek: &LoadedEk,
    blob: Vec<u8>,
    secret: Vec<u8>,
) -> Result<Vec<u8>, TpmError> {
    let hmac = start(ctx, SessionType::Hmac)?;
    let ek_session = if ek.policy {
        let p = start(ctx, SessionType::Policy)?;
        let policy = PolicySession::try_from(p).map_err(tpm_err("policy session"))?;
        ctx.execute_with_session(Some(hmac), |c| {
            c.policy_secret(
                policy,
                tss_esapi::handles::AuthHandle::Endorsement,
                Default::default(),
                Default::default(),
                Default::default(),
                None,
            )
        })
        .map_err(tpm_err("TPM2_PolicySecret(endorsement)"))?;
        p
    } else {
        // A session authorises one handle: a second one for the EK.
        start(ctx, SessionType::Hmac)?
    };
    let blob = IdObject::try_from(blob).map_err(tpm_err("credential blob"))?;
    let secret = EncryptedSecret::try_from(secret).map_err(tpm_err("encrypted secret"))?;
    let out = ctx.execute_with_sessions((Some(hmac), Some(ek_session), None), |c| {
        c.activate_credential(ak, ek.handle, blob, secret)
    });
    for s in [hmac, ek_session] {
        let h = tss_esapi::handles::SessionHandle::from(s);
        let _ = ctx.flush_context(tss_esapi::handles::ObjectHandle::from(h));
    }
    out.map(|d| d.value().to_vec())
        .map_err(tpm_err("TPM2_ActivateCredential"))
}

fn start(ctx: &mut Context, ty: SessionType) -> Result<AuthSession, TpmError> {
    let s = ctx
        .start_auth_session(
            None,
            None,
            None,
            ty,
            SymmetricDefinition::AES_128_CFB,
            HashingAlgorithm::Sha256,
        )
        .map_err(tpm_err("TPM2_StartAuthSession"))?
        .ok_or_else(|| TpmError::from("TPM2_StartAuthSession returned no session"))?;
    let (attrs, mask) = SessionAttributesBuilder::new().build();
    ctx.tr_sess_set_attributes(s, attrs, mask)
        .map_err(tpm_err("session attributes"))?;
    Ok(s)
}
