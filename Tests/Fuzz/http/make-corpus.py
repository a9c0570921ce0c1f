#!/usr/bin/env python3
"""Writes the seed inputs of the HTTP fuzz corpus (Tests/Fuzz/corpus/http/seed-*).
Findings of fuzz runs are added beside them by hand (see Tests/Fuzz/run.sh)."""
import os

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "..", "corpus", "http")
os.makedirs(out, exist_ok=True)

beacon = b'{"app":"shop","platform":"web","visitor":"v1","sentAt":1700000000000,"events":[{"id":"e1","type":"view","ts":1700000000000}]}'
def post(path, body, extra=b""):
    return b"POST " + path + b" HTTP/1.1\r\nHost: c\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body

seeds = {
    "get": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "get-query": b"GET /v1/sessions/abc%20d?app=shop&from=1&to=2&q=a+b&flag HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
    "http10": b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "http10-close": b"GET /a HTTP/1.0\r\n\r\n",
    "beacon": post(b"/v1/beacons?key=k", beacon, b"Content-Type: text/plain\r\nOrigin: https://shop.example.com\r\n"),
    "beacon-gzip": post(b"/v1/beacons", b"\x1f\x8b\x08\x00" + b"\x00" * 20, b"Content-Encoding: gzip\r\n"),
    "pipelined": b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n" + post(b"/2", b"abc") + b"GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "chunked": b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: t\r\n\r\n",
    "chunked-pipelined": b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "chunked-upper": b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
    "chunked-big": b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n",
    "expect": b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "expect-bad": b"POST /e HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n",
    "options-star": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "options-cors": b"OPTIONS /v1/beacons HTTP/1.1\r\nHost: x\r\nOrigin: https://a\r\nAccess-Control-Request-Method: POST\r\n\r\n",
    "head": b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "absolute": b"GET http://x.example/a/b?c=d HTTP/1.1\r\nHost: x\r\n\r\n",
    "no-host": b"GET / HTTP/1.1\r\n\r\n",
    "two-hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "cl-te": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "cl-dup": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "cl-same": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "cl-huge": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "cl-neg": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    "te-gzip": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "folded": b"GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
    "space-before-colon": b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    "bare-lf": b"GET / HTTP/1.1\nHost: x\n\n",
    "bare-cr": b"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",
    "nul": b"GET / HTTP/1.1\r\nHost: x\x00\r\n\r\n",
    "http2": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "http09": b"GET /\r\n\r\n",
    "version-11x": b"GET / HTTP/1.10\r\nHost: x\r\n\r\n",
    "long-line": b"GET /" + b"a" * 200 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "many-headers": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(20)) + b"\r\n",
    "big-header": b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"v" * 400 + b"\r\n\r\n",
    "endless-line": b"GET /" + b"a" * 300,
    "endless-headers": b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 60,
    "body-too-big": post(b"/b", b"x" * 200),
    "utf8-target": "GET /ü/é?q=ö HTTP/1.1\r\nHost: x\r\nX-Name: Zoë\r\n\r\n".encode(),
    "lowercase-method": b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
    "unknown-method": b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
    "empty-header-value": b"GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n",
    "tab-value": b"GET / HTTP/1.1\r\nHost: x\r\nX:\tv\t\r\n\r\n",
    "connection-tokens": b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade, close\r\n\r\n",
    "chunk-ext-long": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;" + b"e" * 300 + b"\r\na\r\n0\r\n\r\n",
    "chunk-no-crlf": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
    "percent": b"GET /%zz/%2F%41?%=%&a=%4&b=%%41 HTTP/1.1\r\nHost: x\r\n\r\n",
    "only-crlf": b"\r\n\r\n",
    "garbage": bytes(range(256)),
}
for name, data in seeds.items():
    with open(os.path.join(out, "seed-" + name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {os.path.normpath(out)}")
