import Testing
@testable import Transport
import System

private func parse(_ text: String, limits: HTTPLimits = HTTPLimits()) -> Result<HTTPHead, HTTPParseError> {
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { raw in
        Result { () throws(HTTPParseError) -> HTTPHead in try HTTPHeadParser.parse(raw, limits: limits) }
    }
}

private func status(_ text: String, limits: HTTPLimits = HTTPLimits()) -> Int {
    switch parse(text, limits: limits) {
    case .success: 0
    case .failure(let error): error.status
    }
}

@Suite struct HTTPParserTests {
    @Test func parsesRequestLineHeadersAndFraming() throws {
        let head = try parse("POST /v1/beacons?key=a%20b HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nX-A:  v  \r\n\r\n").get()
        #expect(head.method == .post)
        #expect(head.version == .http11)
        #expect(head.contentLength == 12)
        #expect(!head.chunked)
        #expect(head.keepAlive)
        #expect(head.fields.count == 3)
        let request = try HTTPRequest(parsing: Array("POST /v1/beacons?key=a%20b&x=1+2&flag HTTP/1.1\r\nHost: x\r\nX-A:  v  \r\nx-a: second\r\n\r\n".utf8),
                                      peer: SocketAddress(host: "127.0.0.1", port: 1)!)
        #expect(request.path == "/v1/beacons")
        #expect(request.header("x-a") == "v")
        #expect(request.header("X-MISSING") == nil)
        #expect(request.headerValues("X-A") == ["v", "second"])
        #expect(request.queryParameter("key") == "a b")
        #expect(request.queryParameter("x") == "1 2")
        #expect(request.queryParameter("flag") == "")
        #expect(request.methodName == "POST")
    }

    @Test func connectionSemantics() throws {
        #expect(try !parse("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").get().keepAlive)
        #expect(try !parse("GET / HTTP/1.0\r\n\r\n").get().keepAlive)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").get().keepAlive)
        #expect(try parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n").get().chunked)
        #expect(try parse("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").get().expectContinue)
        #expect(try parse("GET http://example.com/a/b?c HTTP/1.1\r\nHost: x\r\n\r\n").get().pathStart == 22)
        #expect(try parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").get().method == .options)
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\n\r\n", 400),                                   // no Host
        (" / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET  HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET /a\u{01}b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        ("GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nBad\u{7F}: y\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nA: b\u{00}c\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417),
        ("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET relative HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ])
    func refusesMalformedHeads(text: String, expected: Int) {
        #expect(status(text) == expected)
    }

    @Test func enforcesLimits() {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 64
        limits.maxHeaderCount = 3
        limits.maxHeaderBytes = 200
        #expect(status("GET /\(String(repeating: "a", count: 80)) HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits) == 414)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits) == 431)
        #expect(status("GET / HTTP/1.1\r\nHost: x\r\nA: \(String(repeating: "v", count: 200))\r\n\r\n", limits: limits) == 431)
        // Incomplete heads are judged before the blank line arrives.
        let endlessLine = Array("GET /\(String(repeating: "a", count: 100))".utf8)
        #expect(endlessLine.withUnsafeBytes { HTTPHeadParser.checkIncomplete($0, limits: limits)?.status } == 414)
        let endlessHeaders = Array("GET / HTTP/1.1\r\nHost: x\r\n\(String(repeating: "X: y\r\n", count: 40))".utf8)
        #expect(endlessHeaders.withUnsafeBytes { HTTPHeadParser.checkIncomplete($0, limits: limits)?.status } == 431)
        let fine = Array("GET / HTTP/1.1\r\nHost: x\r\n".utf8)
        #expect(fine.withUnsafeBytes { HTTPHeadParser.checkIncomplete($0, limits: limits) } == nil)
    }

    @Test func findsHeadEndAcrossSplits() {
        let text = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\nNEXT".utf8)
        let expected = text.count - 4
        for split in 0...text.count {
            let found = text[0..<split].withUnsafeBytes { HTTPHeadParser.findEnd($0, from: 0) }
            #expect(found == (split >= expected ? expected : nil))
            // Resuming from where a previous scan stopped gives the same answer.
            if split < expected {
                #expect(text.withUnsafeBytes { HTTPHeadParser.findEnd($0, from: split - 3) } == expected)
            }
        }
    }

    @Test func decodesChunkedBodiesSplitAnywhere() throws {
        let wire = Array("5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT".utf8)
        for split in 0...wire.count {
            var decoder = ChunkedDecoder()
            var body: [UInt8] = []
            let first = try wire[0..<split].withUnsafeBytes { (raw) throws(HTTPParseError) -> Int in
                try decoder.decode(raw, into: &body, maxBody: 100)
            }
            var consumed = first
            if !decoder.isDone {
                consumed += try wire[split...].withUnsafeBytes { (raw) throws(HTTPParseError) -> Int in
                    try decoder.decode(raw, into: &body, maxBody: 100)
                }
            }
            #expect(decoder.isDone)
            #expect(String(decoding: body, as: UTF8.self) == "hello, world")
            #expect(consumed == wire.count - 4)
        }
    }

    @Test(arguments: [
        ("zz\r\n", 400), ("\r\n", 400), ("5\r\nhelloX\r\n", 400), ("5\n", 400),
        ("FFFFFFFFFFFFFFFFFFFF\r\n", 413), ("65\r\n", 413), ("0\r\nbad\nx\r\n\r\n", 400),
    ])
    func refusesMalformedChunks(text: String, expected: Int) {
        var decoder = ChunkedDecoder()
        var body: [UInt8] = []
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(HTTPParseError) -> Int in try decoder.decode(raw, into: &body, maxBody: 100) }
        }
        guard case .failure(let error) = result else {
            Issue.record("accepted \(text.debugDescription)")
            return
        }
        #expect(error.status == expected)
    }

    @Test func percentDecoding() {
        let cases: [(String, Bool, String)] = [("a%20b", false, "a b"), ("a+b", true, "a b"), ("a+b", false, "a+b"),
                                               ("%zz%4", false, "%zz%4"), ("%C3%A9", false, "é")]
        for (input, plus, expected) in cases {
            #expect(Array(input.utf8).withUnsafeBytes { percentDecode($0, plusIsSpace: plus) } == expected)
        }
    }

    @Test func routerMatchesPathsAndParameters() {
        var router = HTTPRouter()
        router.add(.get, "/v1/sessions") { _, _ in }
        router.add(.get, "/v1/sessions/{id}") { _, _ in }
        router.add(.post, "/v1/sessions/{id}/events/{n}") { _, _ in }
        func match(_ method: HTTPMethod, _ path: String) -> HTTPRouter.Match {
            Array(path.utf8).withUnsafeBytes { router.match(method, $0) }
        }
        if case .found(0, let p) = match(.get, "/v1/sessions") { #expect(p.isEmpty) } else { Issue.record("no match") }
        if case .found(1, let p) = match(.get, "/v1/sessions/a%2Fb") { #expect(p.first?.value == "a/b") } else { Issue.record("no match") }
        if case .found(1, _) = match(.head, "/v1/sessions/x") {} else { Issue.record("HEAD does not fall back to GET") }
        if case .found(2, let p) = match(.post, "/v1/sessions/s/events/7") {
            #expect(p.map(\.value) == ["s", "7"])
        } else { Issue.record("no match") }
        if case .methodNotAllowed(let m) = match(.delete, "/v1/sessions/x") { #expect(m == [.get]) } else { Issue.record("expected 405") }
        if case .notFound = match(.get, "/v1/sessions/") {} else { Issue.record("empty parameter matched") }
        if case .notFound = match(.get, "/v1/sessions/a/b") {} else { Issue.record("extra segment matched") }
        if case .notFound = match(.get, "/v1") {} else { Issue.record("prefix matched") }
    }

    @Test func dateHeaderFormat() {
        #expect(HTTPDate.format(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.format(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }
}
