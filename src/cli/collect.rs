//! `bootaudit collect`: Gather a snapshot on this running Linux host (sysfs, securityfs, efivarfs): ACPI tables, memory maps, the TPM event log and PCRs, Secure Boot variables and boot entries, identity. What is missing or unreadable is recorded in the snapshot with the reason.

use super::*;

// The arguments of `bootaudit collect` (not a doc comment: clap would take one for the
// command's summary, since the command's arguments are built deferred).
#[derive(clap::Args)]
pub struct Args {
    /// Write the snapshot here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Read the kernel's trees under this root instead of `/` (a copied
    /// tree, a mounted disk, an unpacked tarball of /sys).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Read PCRs from the TPM through this TCTI when sysfs has none
    /// (e.g. `device:/dev/tpmrm0`, `swtpm:host=127.0.0.1,port=2321`).
    #[arg(long, value_name = "TCTI")]
    pub tpm: Option<String>,
    /// The ESP whose EFI binaries to hash (a mounted directory or an
    /// image); by default <root>/boot/efi or <root>/efi.
    #[arg(long, value_name = "PATH")]
    pub esp: Option<PathBuf>,
    /// Quote the PCRs with the TPM (through --tpm, default
    /// device:/dev/tpmrm0) and bootaudit's attestation key.
    #[arg(long)]
    pub quote: bool,
    /// The verifier's nonce for --quote, hex (up to 64 bytes).
    #[arg(long, value_name = "HEX", value_parser = parse_nonce)]
    pub nonce: Option<Nonce>,
    /// Also write the attestation key's public part (TPMT_PUBLIC) here,
    /// to enrol it with the verifier.
    #[arg(long, value_name = "FILE", requires = "quote")]
    pub ak_pub_out: Option<PathBuf>,
    /// The enrolled AK (`bootaudit ak verify`): the quote must be made by
    /// it, or collect fails (exit 2) rather than hand the verifier a quote
    /// it will refuse (the TPM's owner hierarchy was cleared, or this is
    /// another TPM).
    #[arg(long, value_name = "FILE", requires = "quote")]
    pub ak: Option<PathBuf>,
    /// Write a sealed evidence bundle into this new directory (or, named
    /// `*.tar`, this new tar file): the
    /// snapshot, the raw artefacts (event log, ACPI tables, EFI variables,
    /// SMBIOS tables, the ESP's hashes) and a manifest of their SHA-256s;
    /// with --quote, a TPM quote whose nonce is the manifest's SHA-256.
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Who collects (recorded in the bundle's manifest).
    #[arg(long, value_name = "NAME", requires = "bundle")]
    pub operator: Option<String>,
    /// Seal the bundle with this OpenSSH private key (unencrypted): an
    /// SSH signature over the manifest (namespace bootaudit-bundle), as
    /// `manifest.json.sig`, that `verify-bundle --allowed-signers` checks.
    /// Keep the key with the responder, not on the judged host.
    #[arg(long, value_name = "KEY", requires = "bundle")]
    pub sign_key: Option<PathBuf>,
    /// A dump of this host's flash (made with flashrom or CHIPSEC): its
    /// hash goes into the snapshot, for `firmware check --references`.
    #[arg(long, value_name = "FILE")]
    pub firmware: Option<PathBuf>,
}

/// Runs `bootaudit collect`.
pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let Args {
        output,
        root,
        tpm,
        esp,
        quote,
        nonce,
        ak_pub_out,
        ak,
        bundle,
        operator,
        sign_key,
        firmware,
    } = a;
    if quote && nonce.is_none() && bundle.is_none() {
        anyhow::bail!("--quote needs --nonce (or --bundle, whose manifest is the nonce)");
    }
    let enrolled = match &ak {
        Some(p) => {
            let b = bootaudit::fsutil::read_input(p, bootaudit::attest::enrol::MAX_FILE)
                .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?;
            let name = p.display().to_string();
            let e: bootaudit::attest::Enrolled =
                bootaudit::attest::enrol::read(&b, &name, bootaudit::attest::enrol::ENROLLED)?;
            Some((name, e))
        }
        None => None,
    };

    if !root.is_dir() {
        anyhow::bail!("{}: not a directory", root.display());
    }
    let root_dir = root.clone();
    let tcti = tpm.clone();
    let snap = bootaudit::collect::collect(&bootaudit::collect::Options {
        root,
        tpm_tcti: tpm,
        esp,
        quote_nonce: if quote {
            nonce.clone().map(|n| n.0)
        } else {
            None
        },
        firmware,
    });
    let quoted = snap.tpm.as_ref().and_then(|t| t.quote.as_ref());
    if let (Some(p), Some(q)) = (&ak_pub_out, quoted) {
        let ak = hex::decode(&q.ak_public)?;
        write_file(p, &ak)?;
    }
    if let (Some((name, e)), Some(q)) = (&enrolled, quoted) {
        if !q.ak_public.eq_ignore_ascii_case(&e.ak_public) {
            anyhow::bail!(
                "{name}: the TPM quoted with another AK than the enrolled one (was its owner hierarchy cleared, or is this another TPM?); nothing written"
            );
        }
    }
    let mut v = serde_json::to_vec_pretty(&snap)?;
    v.push(b'\n');
    if let Some(dir) = &bundle {
        let sealer = Sealer { operator, sign_key };
        return write_bundle(dir, &root_dir, &v, &snap, sealer, quote, tcti.as_deref());
    }
    deliver(output.as_deref(), &v)?;
    // The snapshot is written either way; a quote that was asked
    // for and could not be made is an unreadable input (exit 2).
    if quote && quoted.is_none() {
        let why: Vec<_> = snap
            .errors
            .iter()
            .filter(|e| e.part == bootaudit::snapshot::Part::Tpm)
            .map(|e| e.what.clone())
            .collect();
        anyhow::bail!("no quote: {}", why.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}

/// `collect --bundle`: the host's raw artefacts, sealed.
fn write_bundle(
    dir: &Path,
    root: &Path,
    snapshot_json: &[u8],
    snap: &bootaudit::snapshot::Snapshot,
    sealer: Sealer,
    quote: bool,
    tcti: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let files = bootaudit::bundle::gather(root, snapshot_json, snap);
    let tcti = quote.then(|| tcti.unwrap_or("device:/dev/tpmrm0"));
    seal_bundle(dir, &files, bootaudit::bundle::host_of(snap), sealer, tcti)
}
