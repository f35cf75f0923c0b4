//! `bootaudit ak`: enrol an attestation key, proving that it lives in the
//! same TPM as an endorsement key a CA certified. `request` and `activate`
//! run on the attester (they need its TPM); `challenge` and `verify` run on
//! the verifier. Exit 0 when the step went through, 1 when it was refused
//! (a chain that does not verify, an AK not bound to its TPM, a secret the
//! TPM did not unwrap), 2 on bad usage or unreadable input.

use super::*;
use bootaudit::attest::ekcert::Cert;
use bootaudit::attest::enrol::{self, EnrolError, Summary};

/// The steps.
#[derive(clap::Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// On the attester: read the EK certificate from the TPM's NV memory and
    /// bootaudit's AK, and write the request for the verifier.
    Request(RequestArgs),
    /// On the verifier: check the request's EK certificate chain and AK, and
    /// wrap a fresh secret for them (TPM2_MakeCredential in software).
    Challenge(ChallengeArgs),
    /// On the attester: let the TPM unwrap the challenge
    /// (TPM2_ActivateCredential) and write the response.
    Activate(ActivateArgs),
    /// On the verifier: compare the response with the wrapped secret and
    /// write the enrolled AK, which `verify-quote --ak` trusts.
    Verify(VerifyArgs),
}

// `ak request`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct RequestArgs {
    /// The TPM (a TSS2 TCTI: `device:/dev/tpmrm0`, `swtpm:host=...,port=...`).
    #[arg(long, value_name = "TCTI", default_value = "device:/dev/tpmrm0")]
    pub tpm: String,
    /// The NV index of the EK certificate (default: the first present of
    /// the TCG profile's RSA and ECC indices, low range first).
    #[arg(long, value_name = "HEX")]
    pub ek_index: Option<String>,
    /// Where to write the request.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

// `ak challenge`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct ChallengeArgs {
    /// The attester's request.
    pub request: PathBuf,
    /// CA certificates (PEM or DER) the EK certificate must chain to: the
    /// TPM vendors' roots and intermediates you trust.
    #[arg(long = "ek-ca", value_name = "FILE", num_args = 1.., required = true)]
    pub ek_ca: Vec<PathBuf>,
    /// Where to write the challenge, for the attester.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to keep the verifier's state (the secret's digest), for
    /// `ak verify`.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// Judge the certificates' validity at this time (RFC 3339, such as
    /// 2026-12-06T12:00:00Z) instead of now, and date the challenge so: to
    /// re-examine a request as it stood when it was made.
    #[arg(long, value_name = "TIME", value_parser = unix_seconds)]
    pub at: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// An RFC 3339 time as seconds since the Unix epoch (none before it).
fn unix_seconds(s: &str) -> Result<u64, String> {
    let t: jiff::Timestamp = s
        .parse()
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))?;
    u64::try_from(t.as_second()).map_err(|_| format!("{s:?} is before 1970"))
}

// `ak activate`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct ActivateArgs {
    /// The verifier's challenge.
    pub challenge: PathBuf,
    /// The TPM (a TSS2 TCTI).
    #[arg(long, value_name = "TCTI", default_value = "device:/dev/tpmrm0")]
    pub tpm: String,
    /// Where to write the response.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

// `ak verify`.
// (Not a doc comment: clap would take one for the command's summary,
// since the command's arguments are built deferred.)
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The state `ak challenge` kept.
    pub state: PathBuf,
    /// The attester's response.
    pub response: PathBuf,
    /// Where to write the enrolled AK.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,
    /// Sign the enrolled-AK record with the verifier's OpenSSH private key
    /// (unencrypted): FILE.sig, namespace bootaudit-ak, which
    /// `verify-quote`, `verify-boot` and `verify-bundle` check with
    /// `--ak-signers`. Without a verified signature an enrolment record is
    /// a file anyone could write around any key, and certifies nothing.
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    bootaudit::fsutil::read_input(path, enrol::MAX_FILE)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))
}

fn json<T: serde::Serialize>(v: &T) -> anyhow::Result<Vec<u8>> {
    let mut b = serde_json::to_vec_pretty(v)?;
    b.push(b'\n');
    Ok(b)
}

/// A refusal is a verdict (exit 1, reported); a malformed input is an
/// error (exit 2).
fn verdict(
    step: &'static str,
    format: Format,
    r: Result<Summary, EnrolError>,
) -> anyhow::Result<ExitCode> {
    match r {
        Ok(s) => {
            print(&Output::default(), format, &s, render::attest::table)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(EnrolError::Refused(e)) => {
            let s = Summary {
                step,
                ok: false,
                detail: e.to_string(),
                ek_chain: Vec::new(),
                wrote: None,
            };
            print(&Output::default(), format, &s, render::attest::table)?;
            Ok(ExitCode::from(1))
        }
        Err(EnrolError::Malformed(e)) => Err(e.into()),
    }
}

/// Runs `bootaudit ak`.
pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Request(a) => request(a),
        Command::Challenge(a) => {
            let req_bytes = read(&a.request)?;
            let name = a.request.display().to_string();
            let req: enrol::Request = enrol::read(&req_bytes, &name, enrol::REQUEST)?;
            let mut cas = Vec::new();
            for f in &a.ek_ca {
                let b = bootaudit::fsutil::read_input(
                    f,
                    bootaudit::attest::ekcert::MAX_CERT as u64 * 4,
                )
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", f.display()))?;
                cas.push(Cert::parse(&b, &f.display().to_string())?);
            }
            let at = a.at.unwrap_or_else(bootaudit::attest::now);
            let r = enrol::challenge(&req, &name, &cas, at);
            let r = match r {
                Ok((ch, st)) => {
                    // The state first: a challenge without it could never be verified.
                    write_file(&a.state, &json(&st)?)?;
                    write_file(&a.out, &json(&ch)?)?;
                    Ok(Summary {
                        step: "challenge",
                        ok: true,
                        detail: format!(
                            "the EK certificate ({}) chains to the CAs given; the AK is a restricted signing key fixed to its TPM; a secret is wrapped for it",
                            st.ek_key
                        ),
                        ek_chain: st.ek_chain,
                        wrote: Some(a.out.display().to_string()),
                    })
                }
                Err(e) => Err(e),
            };
            verdict("challenge", a.format, r)
        }
        Command::Activate(a) => activate(a),
        Command::Verify(a) => {
            let sn = a.state.display().to_string();
            let rn = a.response.display().to_string();
            let st: enrol::State = enrol::read(&read(&a.state)?, &sn, enrol::STATE)?;
            let resp: enrol::Response = enrol::read(&read(&a.response)?, &rn, enrol::RESPONSE)?;
            let r = enrol::verify(&st, &resp, &rn, bootaudit::attest::now()).and_then(|en| {
                let bytes = json(&en).map_err(|e| anyhow_to_malformed(&a.out, e))?;
                // The signature first, so that no record is left unsigned
                // when one was asked for.
                if let Some(k) = &a.sign_key {
                    let sig =
                        bootaudit::signing::sign_in(bootaudit::quote::AK_NAMESPACE, k, &bytes)
                            .map_err(|e| anyhow_to_malformed(k, e))?;
                    write_file(&bootaudit::signing::sig_path(&a.out), sig.as_bytes())
                        .map_err(|e| anyhow_to_malformed(&a.out, e))?;
                }
                write_file(&a.out, &bytes).map_err(|e| anyhow_to_malformed(&a.out, e))?;
                Ok(Summary {
                    step: "verify",
                    ok: true,
                    detail: format!(
                        "the TPM holding the certified EK ({}) unwrapped the secret for AK {}",
                        en.ek_key, en.ak_name
                    ),
                    ek_chain: en.ek_chain,
                    wrote: Some(a.out.display().to_string()),
                })
            });
            verdict("verify", a.format, r)
        }
    }
}

fn anyhow_to_malformed(p: &Path, e: impl std::fmt::Display) -> EnrolError {
    EnrolError::Malformed(bootaudit::attest::AttestError {
        file: p.display().to_string(),
        structure: "output",
        offset: 0,
        why: e.to_string(),
    })
}

#[cfg(feature = "tpm")]
fn request(a: RequestArgs) -> anyhow::Result<ExitCode> {
    let index = a
        .ek_index
        .as_deref()
        .map(|s| enrol::parse_index(s, "--ek-index"))
        .transpose()?;
    let mut ctx = bootaudit::pcrs::tpm::open(&a.tpm)?;
    let req = bootaudit::attest::tpm::request(&mut ctx, index)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.tpm))?;
    write_file(&a.out, &json(&req)?)?;
    let s = Summary {
        step: "request",
        ok: true,
        detail: format!(
            "the EK certificate from NV index {} and the AK",
            req.ek_nv_index
        ),
        ek_chain: Vec::new(),
        wrote: Some(a.out.display().to_string()),
    };
    print(&Output::default(), a.format, &s, render::attest::table)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "tpm")]
fn activate(a: ActivateArgs) -> anyhow::Result<ExitCode> {
    use bootaudit::attest::tpm::ActivateError;
    let name = a.challenge.display().to_string();
    let ch: enrol::Challenge = enrol::read(&read(&a.challenge)?, &name, enrol::CHALLENGE)?;
    let mut ctx = bootaudit::pcrs::tpm::open(&a.tpm)?;
    match bootaudit::attest::tpm::activate(&mut ctx, &ch, &name) {
        Ok(resp) => {
            write_file(&a.out, &json(&resp)?)?;
            let s = Summary {
                step: "activate",
                ok: true,
                detail: "the TPM unwrapped the credential".into(),
                ek_chain: Vec::new(),
                wrote: Some(a.out.display().to_string()),
            };
            print(&Output::default(), a.format, &s, render::attest::table)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(ActivateError::Input(e)) => Err(e.into()),
        // The TPM refusing is the verdict: this TPM cannot answer.
        Err(ActivateError::Tpm(e)) => verdict(
            "activate",
            a.format,
            Err(EnrolError::Refused(bootaudit::attest::AttestError {
                file: a.tpm.clone(),
                structure: "TPM2_ActivateCredential",
                offset: 0,
                why: e.to_string(),
            })),
        ),
    }
}

#[cfg(not(feature = "tpm"))]
fn request(_: RequestArgs) -> anyhow::Result<ExitCode> {
    Err(bootaudit::pcrs::PcrError::NoTpmSupport.into())
}

#[cfg(not(feature = "tpm"))]
fn activate(_: ActivateArgs) -> anyhow::Result<ExitCode> {
    Err(bootaudit::pcrs::PcrError::NoTpmSupport.into())
}
