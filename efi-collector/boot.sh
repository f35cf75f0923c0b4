#!/usr/bin/env bash
# Builds the collector, makes a FAT ESP image with it as the removable-media
# loader (\EFI\BOOT\BOOTX64.EFI) and \bootaudit\config = mode=shutdown,
# starts a swtpm TPM 2.0, boots QEMU q35 with OVMF under TCG (no KVM), waits
# for the collector to power the machine off, and copies \bootaudit\ out of
# the image (the snapshot, its .sha256 sidecar) into OUT.
#
#   efi-collector/boot.sh OUT [--ram MB] [--ovmf plain|secboot|ms|snakeoil]
#                             [--acpitable FILE]... [--file SRC=ESP\PATH]...
#                             [--smbios ARGS]... [--device ARGS]...
#                             [--config TEXT]
#
# --config replaces \bootaudit\config (default "mode=shutdown"); e.g.
# "mode=exit-boot-services disturb=1" runs the lab mode: the machine resets
# after ExitBootServices and the collector runs again to report it.
#
# --device adds a QEMU device (e.g. "pci-testdev,romfile=/abs/implant.rom",
# an option ROM for the firmware to load).
#
# --ovmf snakeoil boots the secboot build with Debian's test keys enrolled
# and Secure Boot on; the collector is signed with sbsign for it.
#
# Needs: qemu-system-x86 ovmf swtpm swtpm-tools mtools dosfstools (and
# sbsigntool, openssl for snakeoil) and the x86_64-unknown-uefi Rust target.
# No root, no mount.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { sed -n "2,25p" "$0"; exit 2; }
out=$(mkdir -p "$1" && cd "$1" && pwd); shift
ram=1024; ovmf=plain; extra_qemu=(); files=(); config="mode=shutdown"
while [ $# -gt 0 ]; do
    case "$1" in
        --ram) ram=$2; shift 2 ;;
        --ovmf) ovmf=$2; shift 2 ;;
        --acpitable) extra_qemu+=(-acpitable "file=$(realpath "$2")"); shift 2 ;;
        --smbios) extra_qemu+=(-smbios "$2"); shift 2 ;;
        --device) extra_qemu+=(-device "$2"); shift 2 ;;
        --file) files+=("$2"); shift 2 ;;
        --config) config=$2; shift 2 ;;
        *) echo "boot.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
case "$ovmf" in
    plain) code=OVMF_CODE_4M.fd; vars=OVMF_VARS_4M.fd ;;
    secboot) code=OVMF_CODE_4M.secboot.fd; vars=OVMF_VARS_4M.fd ;;
    ms) code=OVMF_CODE_4M.ms.fd; vars=OVMF_VARS_4M.ms.fd ;;
    snakeoil) code=OVMF_CODE_4M.secboot.fd; vars=OVMF_VARS_4M.snakeoil.fd ;;
    *) echo "boot.sh: --ovmf plain|secboot|ms|snakeoil" >&2; exit 2 ;;
esac

(cd "$here" && cargo build --release --quiet)
efi="$here/target/x86_64-unknown-uefi/release/efi-collector.efi"

work=$(mktemp -d)
cleanup() {
    [ -f "$work/swtpm.pid" ] && kill "$(cat "$work/swtpm.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# Secure Boot with Debian's test keys enrolled (PK, KEK, db): the collector
# must be signed, or the firmware refuses it (Access Denied). The snakeoil
# key's passphrase is "snakeoil" (ovmf's README.Debian).
if [ "$ovmf" = snakeoil ]; then
    openssl pkey -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil \
        -out "$work/snakeoil.key"
    sbsign --key "$work/snakeoil.key" --cert /usr/share/ovmf/PkKek-1-snakeoil.pem \
        --output "$work/collector.efi" "$efi" 2>/dev/null
    efi="$work/collector.efi"
fi

# The ESP: a 64 MiB FAT image, built with mtools (no mount).
esp="$work/esp.img"
mkfs.fat -C -n BOOTAUDIT "$esp" 65536 >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/bootaudit
mcopy -i "$esp" "$efi" ::/EFI/BOOT/BOOTX64.EFI
printf '%s\n' "$config" > "$work/config"
mcopy -i "$esp" "$work/config" ::/bootaudit/config
for f in "${files[@]}"; do
    src=${f%%=*}; dst=${f#*=}
    mcopy -i "$esp" "$src" "::/${dst//\\//}"
done

# The TPM: absolute paths (swtpm --daemon resolves relative ones elsewhere).
mkdir -p "$work/tpm"
swtpm_setup --tpm2 --overwrite --pcr-banks sha1,sha256 --tpmstate "$work/tpm" >/dev/null
swtpm socket --tpm2 --tpmstate dir="$work/tpm" --ctrl type=unixio,path="$work/tpm/sock" \
    --pid file="$work/swtpm.pid" --daemon
cp "/usr/share/OVMF/$vars" "$work/vars.fd"

timeout 300 qemu-system-x86_64 -machine q35 -accel tcg -m "$ram" -nographic -net none \
    -drive if=pflash,format=raw,unit=0,readonly=on,file="/usr/share/OVMF/$code" \
    -drive if=pflash,format=raw,unit=1,file="$work/vars.fd" \
    -chardev socket,id=chrtpm,path="$work/tpm/sock" \
    -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \
    -drive format=raw,file="$esp" \
    "${extra_qemu[@]}" > "$out/console.txt" 2>&1 || {
        echo "boot.sh: QEMU did not power off cleanly; console in $out/console.txt" >&2
        exit 1
    }
mcopy -i "$esp" -s -n ::/bootaudit "$out/" 2>/dev/null
ls "$out"/bootaudit/snap-*.json >/dev/null 2>&1 || {
    echo "boot.sh: no snapshot on the ESP; console in $out/console.txt" >&2
    exit 1
}
echo "$out/bootaudit"
