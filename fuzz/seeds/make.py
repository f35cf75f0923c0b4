#!/usr/bin/env python3
"""Writes the fuzz seeds: the hand-made attacks of the hostile-input tests
(tests/system/hostile_input.rs builds the same at test time), as regression seeds
for cargo-fuzz. Run from fuzz/: python3 seeds/make.py. Needs mkfs.fat and
mtools for the FAT images."""
import hashlib, json, os, struct, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EVIL = "OK\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://x\x1b\\\r\x08\u202eexe.txt\u2066\u009b"


def out(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def header():
    d = b"Spec ID Event03\0" + struct.pack("<I", 0) + bytes([0, 2, 0, 2])
    d += struct.pack("<I", 2) + bytes([4, 0, 20, 0, 0x0B, 0, 32, 0]) + b"\0"
    return struct.pack("<II", 0, 3) + bytes(20) + struct.pack("<I", len(d)) + d


def event(pcr, ty, data):
    return (struct.pack("<IIIH", pcr, ty, 2, 4) + hashlib.sha1(data).digest()
            + struct.pack("<H", 0x0B) + hashlib.sha256(data).digest()
            + struct.pack("<I", len(data)) + data)


def bare(pcr, ty, data):
    return struct.pack("<III", pcr, ty, 0) + struct.pack("<I", len(data)) + data


# Event logs: an event without digests; a log concatenated with itself; two
# digests of one algorithm; a variable name that drives the terminal.
log = header() + event(4, 0x80000007, b"Calling EFI Application") + bare(7, 0x80000007, b"evil") + event(7, 4, bytes(4))
out("eventlog", "missing-digests.bin", log)
out("eventlog", "concatenated.bin", log + log)
dup = struct.pack("<IIIH", 7, 4, 2, 0x0B) + bytes(32) + struct.pack("<H", 0x0B) + bytes(32) + struct.pack("<I", 4) + bytes(4)
out("eventlog", "duplicate-digest.bin", header() + dup)
name = EVIL.encode("utf-16-le")
var = b"a" * 16 + struct.pack("<QQ", len(name) // 2, 1) + name + b"\x01"
out("eventlog", "evil-variable-name.bin", header() + event(7, 0x80000001, var))
# EV_IPL strings that YAML readers take as line breaks, each followed by a
# forged event at the left margin (tpm2-yaml must escape them).
forged = "\n- EventNum: 999\n  PCRIndex: 0\nend"
ipl = b"".join(event(8, 0x0D, (sep + forged).encode()) for sep in ("a\u2028", "b\u2029", "c\u0085", "d\ufeff"))
out("eventlog", "yaml-line-separators.bin", header() + ipl)

# Snapshots: evil strings everywhere, and an evil bank name.
with open(os.path.join(ROOT, "fixtures/implant/implant.json")) as f:
    s = json.load(f)
s["identity"]["smbios"]["system_product"] = "prod" + EVIL
for t in s["acpi"]["tables"]:
    t["oem_id"] = "O" + EVIL
for i in s["loaded_images"]:
    i["device_path"] += "/" + EVIL
small = {k: s[k] for k in ("format", "source", "identity", "acpi", "loaded_images")}
out("snapshot", "evil-strings.json", json.dumps(small).encode())
small["tpm"] = dict(s["tpm"], pcrs={"sha256" + EVIL: {}}, event_log="")
out("snapshot", "evil-bank.json", json.dumps(small).encode())


# FAT images (128 KiB): a subdirectory pointing back at its parent, a
# directory chain looping into itself, a 1000 MiB file whose chain loops.
def mtools(*a):
    subprocess.run(a, check=True, env=dict(os.environ, MTOOLS_SKIP_CHECK="1"), capture_output=True)


def image():
    t = tempfile.mkdtemp()
    img = os.path.join(t, "esp.img")
    mtools("mkfs.fat", "-C", "-n", "ESP", img, "128")
    mtools("mmd", "-i", img, "::/bootaudit", "::/bootaudit/sub")
    big = os.path.join(t, "big.bin")
    with open(big, "wb") as f:
        f.write(b"\x07" * 3000)
    mtools("mcopy", "-i", img, big, "::/bootaudit/big.bin")
    with open(img, "rb") as f:
        return bytearray(f.read())


def entry(b, short):
    return b.index(short)


def cluster(b, at):
    return struct.unpack_from("<H", b, at + 26)[0]


def set_fat12(b, c, v):
    fat_sectors = struct.unpack_from("<H", b, 22)[0]
    for n in range(b[16]):
        o = 512 + n * fat_sectors * 512 + c + c // 2
        cur = struct.unpack_from("<H", b, o)[0]
        new = (cur & 0xF000) | (v & 0xFFF) if c % 2 == 0 else (cur & 0x000F) | (v << 4)
        struct.pack_into("<H", b, o, new)


b = image()
struct.pack_into("<H", b, entry(b, b"SUB        ") + 26, cluster(b, entry(b, b"BOOTAU~1   ")))
out("esp_image", "back-pointing-subdirectory.img", bytes(b))
b = image()
c = cluster(b, entry(b, b"SUB        "))
set_fat12(b, c, c)
out("esp_image", "looping-directory.img", bytes(b))
b = image()
at = entry(b, b"BIG     BIN")
struct.pack_into("<I", b, at + 28, 1000 << 20)
set_fat12(b, cluster(b, at), cluster(b, at))
out("esp_image", "huge-looping-file.img", bytes(b))

# Firmware tables: the first byte chooses the shape (see the target).
out("firmware_tables", "facp.bin", bytes([0]) + bytes(244))
out("firmware_tables", "tpm2.bin", bytes([4]) + bytes(76))
out("firmware_tables", "smbios3.bin", bytes([1]) + bytes([0, 24, 0, 0]) + b"\x01\x02Vendor\x00\x00" + bytes([127, 4, 0, 0, 0, 0]))


# Firmware images: a volume holding a driver (depex, PE32 stub, UI), an
# LZMA section around a nested volume, and a chain of encapsulations.
import lzma as _lzma


def guid(s):
    import uuid
    return uuid.UUID(s).bytes_le


def section(ty, body):
    return struct.pack("<I", len(body) + 4)[:3] + bytes([ty]) + body


def sections(parts):
    v = b""
    for p in parts:
        v += b"\0" * (-len(v) % 4) + p
    return v


def ffs(name, ty, body):
    h = bytearray(name + bytes([0, 0xAA, ty, 0]) + struct.pack("<I", len(body) + 24)[:3] + b"\0")
    h[16] = (-(sum(h) - 0xAA)) & 0xFF
    h[23] = 0xF8
    return bytes(h) + body


def volume(name, files, size):
    h = bytearray(16) + guid("8c8ce578-8a3d-4f1c-9935-896185c32dd3") + struct.pack("<Q", size)
    h += b"_FVH" + struct.pack("<IHHHBB", 0x0004FEFF, 0x48, 0, 0x48, 0, 2)
    h += struct.pack("<II", size // 0x1000, 0x1000) + bytes(8)
    s = sum(struct.unpack("<%dH" % (len(h) // 2), bytes(h))) & 0xFFFF
    h[50:52] = struct.pack("<H", (-s) & 0xFFFF)
    v = bytes(h) + name + struct.pack("<I", 20)
    for f in files:
        v += b"\xff" * (-len(v) % 8) + f
    return v + b"\xff" * (size - len(v))


def edk2_lzma(data):
    c = _lzma.compress(data, format=_lzma.FORMAT_ALONE)
    return c[:5] + struct.pack("<Q", len(data)) + c[13:]


name = guid("5eed0000-0000-4000-8000-000000000001")
ui = section(0x15, "Seed".encode("utf-16-le") + b"\0\0")
depex = section(0x13, b"\x02" + name + b"\x06\x03\x08")
pe = section(0x10, b"MZ" + bytes(62))
driver = ffs(name, 0x07, sections([depex, pe, ui]))
inner = volume(guid("5eed0000-0000-4000-8000-000000000002"), [driver], 0x1000)
lz = section(0x02, guid("ee4e5898-3914-4259-9d6e-dc7bd79403cf") + struct.pack("<HH", 24, 1)
             + edk2_lzma(section(0x17, inner)))
out("firmware_image", "nested-lzma.fd", volume(name, [driver, ffs(guid("5eed0000-0000-4000-8000-000000000003"), 0x0B, lz)], 0x4000))
deep = section(0x19, b"x")
for _ in range(40):
    deep = section(0x01, struct.pack("<I", len(deep)) + b"\0" + deep)
out("firmware_image", "deep.fd", volume(name, [ffs(name, 0x02, deep)], 0x2000))
# EFI_CUSTOMIZED_COMPRESSION (type 2), LZMA inside, as Insyde builds it.
fvs = section(0x17, inner)
custom = section(0x01, struct.pack("<I", len(fvs)) + b"\x02" + edk2_lzma(fvs))
out("firmware_image", "customized-lzma.fd", volume(name, [ffs(guid("5eed0000-0000-4000-8000-000000000004"), 0x0B, custom)], 0x4000))
# A decoy header of an unknown file system whose FvLength covers a real
# volume: the reader must search inside it.
real = volume(name, [driver], 0x2000)
dh = bytearray(16) + guid("deadbeef-0000-4000-8000-000000000000") + struct.pack("<Q", 0x1000 + len(real))
dh += b"_FVH" + struct.pack("<IHHHBB", 0x0004FEFF, 0x48, 0, 0, 0, 2) + struct.pack("<II", 3, 0x1000) + bytes(8)
dh[50:52] = struct.pack("<H", (-sum(struct.unpack("<36H", bytes(dh)))) & 0xFFFF)
out("firmware_image", "decoy-volume.fd", bytes(dh) + b"\xff" * (0x1000 - len(dh)) + real)

# The fleet's spool records (src/fleet/facts.rs's encode): a host with a
# PCR, a driver and a region; one with an indicator finding; one whose
# strings carry terminal controls.
def s32(b):
    return struct.pack("<I", len(b)) + b


def spool_record(source, host, items, rest=b""):
    r = s32(source) + s32(host) + s32(b"QEMU") + s32(b"Standard PC") + s32(b"0.0.0")
    r += struct.pack("<I", 0x10000) + struct.pack("<I", len(items))
    for tag, num, key, val in sorted(items, key=lambda i: (i[0], i[1], i[2])):
        r += bytes([tag]) + struct.pack("<I", num) + s32(key) + s32(val)
    return r + s32(rest)


items = [(0, 0, b"sha256 PCR0", b"ab" * 32), (2, 0, b"Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(5EED0000-0000-4000-8000-000000000001)", b"Some(4096)/Some(0)"),
         (5, 6, b"runtime-data 16 pages #1", b"present")]
out("fleet_spool", "plain.bin", spool_record(b"fleet.jsonl:1", b"host-1", items))
finding = json.dumps({"findings": [{"rule": "acpi.table.added", "category": "acpi", "severity": "high", "explained": False,
                                     "explanation": None, "message": "m", "evidence": {"key": 1}, "subject": "SSDT"}]}).encode()
out("fleet_spool", "finding.bin", spool_record(b"fleet.jsonl:2", b"host-2", items, finding))
out("fleet_spool", "controls.bin", spool_record(EVIL.encode(), EVIL.encode(), [(4, 0, EVIL.encode(), EVIL.encode())]))

# timeline: journal export (a binary field, a control-laden command line),
# journal JSON lines, auditd records of a /dev/mem open and a module load,
# an EDK II debug log, a LOLDrivers list, and fwupd histories (real-shaped,
# and a view that would never end). The EVTX target takes the shared real
# logs as its corpus at run time (../shared/fixtures/oslogs/evtx), never
# copied here.
exp = (b"__REALTIME_TIMESTAMP=1768125600000000\n_BOOT_ID=" + b"1" * 32 + b"\n_COMM=flashrom\n_CMDLINE="
       + EVIL.encode() + b"\nMESSAGE\n" + struct.pack("<Q", 5) + b"a\nb\x00c\n\n"
       + b"__REALTIME_TIMESTAMP=1768125700000000\n_TRANSPORT=kernel\nMESSAGE=Lockdown: flashrom: /dev/mem,kmem,port is restricted; see man kernel_lockdown.7\n\n")
out("timeline_journal_export", "entries.export", exp)
out("timeline_journal_export", "cut.export", exp[:-30])
lines = [
    json.dumps({"__REALTIME_TIMESTAMP": "1768125600000000", "_BOOT_ID": "b1", "_COMM": "flashrom", "_PID": "1", "_CMDLINE": EVIL}),
    json.dumps({"__REALTIME_TIMESTAMP": "1768125700000000", "_BOOT_ID": "b1", "_TRANSPORT": "kernel", "MESSAGE": [99, 104, 105, 112, 115, 101, 99, 58, 32, 108, 111, 97, 100, 105, 110, 103, 32, 111, 117, 116, 45, 111, 102, 45, 116, 114, 101, 101, 32, 109, 111, 100, 117, 108, 101, 32, 116, 97, 105, 110, 116, 115, 32, 107, 101, 114, 110, 101, 108, 46]}),
    "{not json",
]
out("timeline_text_logs", "journal.json", ("\n".join(lines) + "\n").encode())
audit = (
    'type=SYSCALL msg=audit(1768125600.123:42): arch=c000003e syscall=257 success=yes exit=3 auid=1000 uid=0 comm="flashrom" exe="/usr/sbin/flashrom" key=(null)\n'
    'type=PATH msg=audit(1768125600.123:42): item=0 name="/dev/mem" inode=5\n'
    'type=EOE msg=audit(1768125600.123:42): \n'
    'type=KERN_MODULE msg=audit(1768125700.5:43): name="chipsec"\n'
    'type=EXECVE msg=audit(1768125800.5:44): argc=2 a0="python3" a1=6368697073656375746696C2E7079\n'
)
out("timeline_text_logs", "audit.log", audit.encode())
out("timeline_text_logs", "kern.log", (
    "2026-01-11T10:00:01.5+00:00 host kernel: [ 12.5] Lockdown: flashrom: /dev/mem,kmem,port is restricted; see man kernel_lockdown.7\n"
    "Jan 11 10:00:01 host kernel: chipsec: loading out-of-tree module taints kernel.\n"
    "[    3.141592] usb 1-1: " + EVIL + "\n").encode())
out("timeline_text_logs", "edk2.log", (
    "Loading PEIM 9B3ADA4F-AE56-4C24-8DEA-F03B7558AE50\r\n"
    "Loading PEIM at 0x0000082B200 EntryPoint=0x0000082DD0B PcdPeim.efi\r\n"
    "Loading DXE CORE at 0x0003FE76000 EntryPoint=0x0003FE87606\r\n"
    "Loading driver 9B680FCE-AD6B-4F3A-B60B-F59899003443\r\n"
    "Loading driver at 0x0003EF1C000 EntryPoint=0x0003EF23A67 DevicePathDxe.efi\r\n"
    "Error: Image at 0003EF1C000 start failed: Unsupported\r\n").encode())
out("timeline_lists", "drivers.csv", (
    'Id,Category,Tags,KnownVulnerableSamples_SHA256,KnownVulnerableSamples_SHA1\n'
    'a1,vulnerable driver,"RwDrv.sys, rwdrv2.sys","' + "ab" * 32 + ',' + "cd" * 32 + '",\n'
    'a2,malicious,"' + EVIL.replace('"', "'") + '",,' + "ef" * 20 + '\n').encode())


def sqlite_db(sql):
    import sqlite3
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "h.db")
        c = sqlite3.connect(p)
        c.executescript(sql)
        c.commit()
        c.close()
        return open(p, "rb").read()


out("timeline_lists", "pending.db", sqlite_db(
    "CREATE TABLE history (device_id TEXT, update_state INTEGER, update_error TEXT, filename TEXT, display_name TEXT, plugin TEXT, "
    "device_created INTEGER, device_modified INTEGER, checksum TEXT, flags INTEGER, metadata TEXT, guid_default TEXT, "
    "version_old TEXT, version_new TEXT);"
    "INSERT INTO history VALUES ('08d4', 2, NULL, 'f.cab', 'Integrated Webcam', 'test', 1768125600, 1768125600, 'abcd', 0, '', 'g', '1.2.2', '1.2.4');"))
out("timeline_lists", "endless-view.db", sqlite_db(
    "CREATE VIEW history AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) "
    "SELECT n AS device_id, 2 AS update_state, 0 AS device_modified, 'x' AS version_new FROM r;"))

# The snapshot reader's fast path: compact memory maps and images, with
# escapes, optional fields as null and absent, and a key twice.
fast = {k: s[k] for k in ("format", "source", "memory_maps", "loaded_images")}
fast["memory_maps"] = [dict(m, descriptors=m["descriptors"][:6]) for m in s["memory_maps"][:2]]
fast["loaded_images"] = s["loaded_images"][:4]
fast["loaded_images"][0]["device_path"] = "\\EFI\\BOOT\\\u00e9\U0001F600\n"
fast["loaded_images"][1]["machine"] = None
fast["loaded_images"][2].pop("timestamp", None)
out("snapshot_fast", "compact.json", json.dumps(fast, separators=(",", ":")).encode())
out("snapshot_fast", "pretty.json", json.dumps(fast, indent=2).encode())
twice = json.dumps(fast, separators=(",", ":"))
out("snapshot_fast", "maps-twice.json", (twice[:-1] + ',"memory_maps":[]}').encode())
