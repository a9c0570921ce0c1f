#!/usr/bin/env python3
"""Writes the seed corpora of the beacon and inflate fuzz targets:
    python3 Tests/Fuzz/beacon/make-corpus.py
Seeds are named after what they hold (seed-*); the fuzzer's own findings worth keeping are
copied into the same folders by hand."""
import gzip, hashlib, json, pathlib, zlib

here = pathlib.Path(__file__).resolve().parent
beacon_dir = here.parent / "corpus" / "beacon"
inflate_dir = here.parent / "corpus" / "inflate"
beacon_dir.mkdir(parents=True, exist_ok=True)
inflate_dir.mkdir(parents=True, exist_ok=True)

now = 1700000005000
types = ["view", "action", "request", "resource", "error", "heartbeat", "session_start", "session_end",
         "app_start", "app_background", "app_foreground", "custom"]

def envelope(events, **extra):
    body = {"app": "shop", "platform": "web", "visitor": "v-1", "sentAt": now, "events": events}
    body.update(extra)
    return body

realistic = envelope([
    {"id": "e1", "type": "view", "ts": now - 5000, "duration": 1234, "name": "Cart",
     "url": "https://shop.example.com/cart?token=abc&lang=en", "timing": {"ttfb": 120.5, "fcp": 480}},
    {"id": "e2", "type": "action", "ts": now - 4000, "name": "click \"Checkout\"", "parent": "e1"},
    {"id": "e3", "type": "request", "ts": now - 3900, "duration": 210, "url": "https://api.example.com/v1/cart",
     "method": "POST", "status": 200, "parent": "e2"},
    {"id": "e4", "type": "error", "ts": now - 3000, "message": "TypeError", "stack": "at a\nat b", "fatal": False},
    {"id": "e5", "type": "custom", "ts": now - 2000, "props": {"plan": "pro", "items": 3, "gift": True}},
], session="s-1", user="alice", device={"browser": "Chrome", "os": "macOS", "screen": "1920x1080"})

seeds = {
    "realistic": json.dumps(realistic),
    "minimal": json.dumps(envelope([])),
    "every-type": json.dumps(envelope([{"id": f"t{i}", "type": t, "ts": now} for i, t in enumerate(types)])),
    "mobile": json.dumps(dict(envelope([{"id": "a", "type": "app_start", "ts": now - 23 * 3600 * 1000}]), platform="mobile")),
    "skewed-clock": json.dumps(dict(envelope([{"id": "a", "type": "view", "ts": now - 7200000}]), sentAt=now - 7200000)),
    "future-and-late": json.dumps(envelope([{"id": "a", "type": "view", "ts": now + 3600000},
                                            {"id": "b", "type": "view", "ts": now - 86400000}])),
    "duplicates": json.dumps(envelope([{"id": "a", "type": "view", "ts": now}] * 3)),
    "invalid-events": json.dumps(envelope([{"id": 1}, {"type": "zap"}, 7, None, {"id": "a", "type": "view", "ts": "x"},
                                           {"id": "b", "type": "view", "ts": 1, "props": {"x": {"y": 1}}}])),
    "escapes": '{"app":"\\u0073hop","platform":"web","visitor":"\\ud83d\\ude00\\n","sentAt":1,"events":[{"id":"\\"","type":"view","ts":1,"url":"/?t=\\u00e9"}]}',
    "unknown-keys": json.dumps(envelope([{"id": "a", "type": "view", "ts": now, "x": [1, {"y": None}]}], sdk={"v": [1, 2]})),
    "nulls": json.dumps(envelope([{"id": "a", "type": "view", "ts": now, "name": None, "props": None}], session=None, device=None)),
    "numbers": json.dumps(envelope([{"id": "a", "type": "request", "ts": 1.7e12, "duration": 0.5, "status": 0,
                                     "timing": {"a": -0.0, "b": 1e-300, "c": 12345678901234567890}}])),
    "missing-app": json.dumps({"platform": "web", "visitor": "v", "sentAt": 1, "events": []}),
    "duplicate-key": '{"app":"a","app":"b","platform":"web","visitor":"v","sentAt":1,"events":[]}',
    "trailing-comma": '{"app":"a",}',
    "lone-surrogate": '{"app":"\\ud800"}',
    "deep": '{"x":' + "[" * 20 + "]" * 20 + "}",
    "not-object": "[1,2,3]",
    "empty": "",
    "bad-utf8": b'{"app":"\xff\xfe"}',
    "long-url": json.dumps(envelope([{"id": "a", "type": "view", "ts": now, "url": "/?" + "token=x&" * 600}])),
    "many-props": json.dumps(envelope([{"id": "a", "type": "view", "ts": now, "props": {f"k{i}": i for i in range(70)}}])),
    "scrub": json.dumps(envelope([{"id": "a", "type": "view", "ts": now, "url": "https://a/#/r?token=1&Email=x;pwd=%41"}])),
}

def write(directory, name, data):
    if isinstance(data, str):
        data = data.encode()
    (directory / f"seed-{name}").write_bytes(data)

for name, data in seeds.items():
    write(beacon_dir, name, data)

body = seeds["realistic"].encode()
raw = zlib.compressobj(6, zlib.DEFLATED, -15)
raw_bytes = raw.compress(body) + raw.flush()
inflate_seeds = {
    "gzip": gzip.compress(body, mtime=0),
    "zlib": zlib.compress(body),
    "raw": raw_bytes,
    "gzip-two-members": gzip.compress(b'{"a":', mtime=0) + gzip.compress(b"1}", mtime=0),
    "gzip-truncated": gzip.compress(body, mtime=0)[:-9],
    "zlib-truncated": zlib.compress(body)[:20],
    "gzip-bad-crc": gzip.compress(body, mtime=0)[:-8] + b"\0\0\0\0" + gzip.compress(body, mtime=0)[-4:],
    "zlib-trailing": zlib.compress(body) + b"junk",
    "bomb-zeros-1MiB": gzip.compress(b"\0" * (1 << 20), compresslevel=9, mtime=0),
    "bomb-zeros-300KiB-zlib": zlib.compress(b"\0" * (300 << 10), 9),
    "stored-block": zlib.compress(body, 0),
    "empty": b"",
    "plain-json": body,
}
for name, data in inflate_seeds.items():
    write(inflate_dir, name, data)
print(len(seeds), "beacon seeds,", len(inflate_seeds), "inflate seeds")
