#!/usr/bin/env python3
"""Writes the seed corpus of the wire fuzz target into Tests/Fuzz/corpus/wire/.

Built from the golden vectors (Schemas/wire/golden/*.hex): the vectors themselves, truncations,
bit flips with a stale checksum, payload mutations with a recomputed checksum (so they reach
the message decoders), hostile lengths, unknown kinds, flags and versions, tagged fields known
and unknown, varint overflows, bad string references and invalid UTF-8. The CRC32C here is an
independent implementation, so a corpus built from the goldens also cross-checks Wire's.
Re-running it rewrites the same files; files of fuzzer findings (finding-*) are left alone.
"""
import pathlib
import random

repo = pathlib.Path(__file__).resolve().parents[3]
golden_dir = repo / "Schemas/wire/golden"
out = repo / "Tests/Fuzz/corpus/wire"


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def frame(kind: int, version: int, payload: bytes, flags: int = 0) -> bytes:
    body = bytes([kind]) + version.to_bytes(2, "big") + bytes([flags]) + payload
    return (len(body) + 4).to_bytes(4, "big") + body + crc32c(body).to_bytes(4, "big")


def uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def string(text: bytes) -> bytes:
    return uvarint(len(text)) + text


def read_hex(path: pathlib.Path) -> bytes:
    digits = "".join(line for line in path.read_text().splitlines() if not line.startswith("#"))
    return bytes.fromhex("".join(digits.split()))


inputs = {}
goldens = {p.stem: read_hex(p) for p in sorted(golden_dir.glob("*.hex"))}
for name, data in goldens.items():
    body = data[4:-4]
    assert int.from_bytes(data[:4], "big") == len(data) - 4, name
    assert crc32c(body) == int.from_bytes(data[-4:], "big"), f"{name}: CRC32C disagrees with Wire"
    inputs[f"golden-{name}"] = data

rng = random.Random(20261126)
for name, data in goldens.items():
    cuts = range(1, len(data)) if len(data) <= 40 else sorted(rng.sample(range(1, len(data)), 12))
    for cut in cuts:
        inputs[f"truncated-{name}-{cut}"] = data[:cut]
    for i in range(2):
        flipped = bytearray(data)
        flipped[rng.randrange(4, len(data))] ^= 1 << rng.randrange(8)
        inputs[f"badcrc-{name}-{i}"] = bytes(flipped)
    kind, version, payload = data[4], int.from_bytes(data[5:7], "big"), data[8:-4]
    for i in range(4 if len(payload) > 2 else 1):
        mutated = bytearray(payload)
        if mutated:
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        inputs[f"mutated-{name}-{i}"] = frame(kind, version, bytes(mutated))
    inputs[f"trailing-{name}"] = frame(kind, version, payload + b"\x00")
    inputs[f"short-payload-{name}"] = frame(kind, version, payload[:-1])
    inputs[f"version0-{name}"] = frame(kind, 0, payload)
    inputs[f"version2-{name}"] = frame(kind, 2, payload)

stream = b"".join(goldens.values())
inputs["stream-all-goldens"] = stream
inputs["stream-goldens-then-garbage"] = stream + b"\x00\x00\x00\x09garbage!!"
inputs["stream-goldens-truncated"] = stream[:-3]

for value, label in [(0xFFFFFFFF, "ffffffff"), (0x80000000, "80000000"), (0x7FFFFFFF, "7fffffff"),
                     ((16 << 20) + 1, "16MiB+1"), (16 << 20, "16MiB"), (1 << 20, "1MiB")]:
    inputs[f"length-{label}"] = value.to_bytes(4, "big") + b"\x04\x00\x01\x00\x01\x00"
for value in range(0, 9):
    inputs[f"length-{value}"] = value.to_bytes(4, "big") + bytes(value)
inputs["length-only"] = b"\x00\x00\x00\x0a"

for kind in (0, 7, 8, 15, 18, 127, 128, 255):
    inputs[f"kind-{kind}"] = frame(kind, 1, b"\x01\x00")
for flags in (1, 2, 0x80, 0xFF):
    inputs[f"flags-{flags}"] = frame(4, 1, b"\x01\x00", flags)
inputs["version-ffff"] = frame(4, 0xFFFF, b"\x01\x00")

ping, hello = 4, 1
inputs["tags-unknown"] = frame(ping, 1, b"\x01" + b"\x02" + b"\x05\x01\xaa" + b"\x09\x00")
inputs["tags-descending"] = frame(ping, 1, b"\x01" + b"\x02" + b"\x09\x00" + b"\x05\x00")
inputs["tags-duplicate"] = frame(ping, 1, b"\x01" + b"\x02" + b"\x05\x00" + b"\x05\x00")
inputs["tags-length-past-end"] = frame(ping, 1, b"\x01" + b"\x01" + b"\x05\x7f\x00")
inputs["tags-count-huge"] = frame(ping, 1, b"\x01" + uvarint(1 << 62))
inputs["tags-big-tag"] = frame(ping, 1, b"\x01" + b"\x01" + uvarint((1 << 64) - 1) + b"\x00")
hello_base = b"\x01\x01\x00" + string(b"node") + string(b"1.0")
inputs["hello-shard-tag"] = frame(hello, 1, hello_base + b"\x01\x00" + uvarint(3) + string(b"ab"))
inputs["hello-shard-tag-short"] = frame(hello, 1, hello_base + b"\x01\x00" + uvarint(2) + string(b"ab"))
inputs["hello-shard-tag-long"] = frame(hello, 1, hello_base + b"\x01\x00" + uvarint(4) + string(b"ab") + b"\x00")
inputs["hello-shard-and-unknown"] = frame(hello, 1, hello_base + b"\x02\x00\x03\x02ab\x63\x01\xff")
inputs["hello-version-u16-overflow"] = frame(hello, 1, uvarint(70000) + b"\x01\x00" + string(b"n") + string(b"v") + b"\x00")

inputs["varint-11-bytes"] = frame(ping, 1, b"\x80" * 10 + b"\x01\x00")
inputs["varint-10th-byte-2"] = frame(ping, 1, b"\xff" * 9 + b"\x02\x00")
inputs["varint-max"] = frame(ping, 1, b"\xff" * 9 + b"\x01\x00")
inputs["varint-unterminated"] = frame(ping, 1, b"\xff" * 4)
inputs["varint-noncanonical"] = frame(ping, 1, b"\x81\x80\x80\x00\x00")
inputs["goaway-u32-overflow"] = frame(6, 1, string(b"bye") + uvarint(1 << 32) + b"\x00")
inputs["error-unknown-code"] = frame(3, 1, uvarint(999) + string(b"from the future") + b"\x00")
inputs["batchack-outcome-9"] = frame(17, 1, b"\x01\x01\x01\x09\x00\x00\x00\x00")

batch_id = b"\x01\x01\x01"
inputs["batch-beacon-count-huge"] = frame(16, 1, batch_id + uvarint((1 << 63) + 5) + b"\x00")
inputs["batch-beacon-count-2^32"] = frame(16, 1, batch_id + uvarint(1 << 32) + b"\x00")
beacon_head = b"\x00" + b"\x00" + string(b"app") + b"\x00" + b"\x00" + string(b"vis") + b"\x00\x00"
inputs["batch-minimal-beacon"] = frame(16, 1, batch_id + b"\x01" + beacon_head + b"\x00\x00" + b"\x00")
inputs["batch-event-count-huge"] = frame(16, 1, batch_id + b"\x01" + beacon_head + uvarint(1 << 40) + b"\x00\x00")
inputs["batch-string-ref-dangling"] = frame(16, 1, batch_id + b"\x01\x00\x05\x00\x01\x00\x00\x00\x00\x00")
inputs["batch-string-ref-huge"] = frame(16, 1, batch_id + b"\x01\x00" + uvarint((1 << 64) - 1) + b"\x00")
inputs["batch-string-ref-self"] = frame(16, 1, batch_id + b"\x01\x00\x00\x01a\x00\x01\x00\x00\x00\x00\x00")
inputs["batch-platform-9"] = frame(16, 1, batch_id + b"\x01\x00\x00\x01a\x09\x01\x00\x00\x00\x00\x00")
inputs["batch-presence-all-bits"] = frame(16, 1, batch_id + b"\x01" + uvarint((1 << 64) - 1) + b"\x00\x01a\x00\x01\x00\x00")
for label, bad in [("c3-28", b"\xc3\x28"), ("overlong", b"\xc0\xaf"), ("surrogate", b"\xed\xa0\x80"),
                   ("ff", b"\xff"), ("truncated-4byte", b"\xf0\x9f\x98"), ("above-10ffff", b"\xf4\x90\x80\x80")]:
    inputs[f"utf8-{label}"] = frame(6, 1, string(bad) + b"\x00\x00")
    inputs[f"utf8-batch-{label}"] = frame(16, 1, batch_id + b"\x01\x00\x00" + string(bad) + b"\x00\x01\x00\x00\x00\x00\x00")
event_head = batch_id + b"\x01" + beacon_head + b"\x01"
inputs["event-type-12"] = frame(16, 1, event_head + b"\x00" + string(b"e") + b"\x0c\x00\x00\x00\x00\x00\x00")
inputs["event-status-overflow"] = frame(16, 1, event_head + b"\x10" + string(b"e") + b"\x02\x00" + uvarint(1 << 33) + b"\x00\x00\x00\x00\x00")
inputs["event-fatal-2"] = frame(16, 1, event_head + uvarint(1 << 8) + string(b"e") + b"\x04\x00\x02\x00\x00\x00\x00\x00")
nan = b"\x7f\xf8\x00\x00\x00\x00\x00\x00"
inf = b"\x7f\xf0\x00\x00\x00\x00\x00\x00"
inputs["event-timing-nan"] = frame(16, 1, event_head + b"\x00" + string(b"e") + b"\x00\x00\x01\x00" + string(b"t") + b"\x01" + nan + b"\x00\x00\x00\x00")
inputs["event-prop-inf"] = frame(16, 1, event_head + b"\x00" + string(b"e") + b"\x00\x00\x00\x01\x00" + string(b"p") + b"\x01" + inf + b"\x00\x00\x00")
inputs["event-prop-kind-9"] = frame(16, 1, event_head + b"\x00" + string(b"e") + b"\x00\x00\x00\x01\x00" + string(b"p") + b"\x09\x00\x00\x00")
inputs["event-timing-count-huge"] = frame(16, 1, event_head + b"\x00" + string(b"e") + b"\x00\x00" + uvarint(1 << 50) + b"\x00")

out.mkdir(parents=True, exist_ok=True)
for old in out.iterdir():
    if not old.name.startswith("finding-"):
        old.unlink()
for name, data in inputs.items():
    (out / name).write_bytes(data)
print(f"wrote {len(inputs)} inputs to {out.relative_to(repo)}")
