// HTTP/1.1 request parsing over bytes. Pure: no I/O, no Foundation, so the fuzzer can compile
// this file alone. Offsets are Int32 into the request head, never Strings on the hot path.

/// The methods the router knows; anything else parses as `.other` and gets 405/501 from routing.
public enum HTTPMethod: UInt8, Sendable, Hashable, CaseIterable {
    case get, head, post, put, delete, options, patch, trace, connect, other

    public var name: String {
        switch self {
        case .get: "GET"
        case .head: "HEAD"
        case .post: "POST"
        case .put: "PUT"
        case .delete: "DELETE"
        case .options: "OPTIONS"
        case .patch: "PATCH"
        case .trace: "TRACE"
        case .connect: "CONNECT"
        case .other: "OTHER"
        }
    }

    static func from(_ bytes: UnsafeRawBufferPointer) -> HTTPMethod {
        switch bytes.count {
        case 3:
            if bytes[0] == 0x47, bytes[1] == 0x45, bytes[2] == 0x54 { return .get }
            if bytes[0] == 0x50, bytes[1] == 0x55, bytes[2] == 0x54 { return .put }
        case 4:
            if bytes[0] == 0x50, bytes[1] == 0x4F, bytes[2] == 0x53, bytes[3] == 0x54 { return .post }
            if bytes[0] == 0x48, bytes[1] == 0x45, bytes[2] == 0x41, bytes[3] == 0x44 { return .head }
        default:
            break
        }
        let text = String(decoding: bytes, as: UTF8.self)
        switch text {
        case "DELETE": return .delete
        case "OPTIONS": return .options
        case "PATCH": return .patch
        case "TRACE": return .trace
        case "CONNECT": return .connect
        default: return .other
        }
    }
}

public enum HTTPVersion: Sendable, Hashable {
    case http10, http11
}

/// Size, count and time limits of the HTTP server. Every limit answers with a clear status
/// (see Sources/Transport/README.md).
public struct HTTPLimits: Sendable, Hashable {
    /// Longest request line (method, target, version); longer gets 414.
    public var maxRequestLineBytes = 8 * 1024
    /// Largest request head (request line plus all header lines); larger gets 431.
    public var maxHeaderBytes = 32 * 1024
    /// Most header fields in one request; more gets 431.
    public var maxHeaderCount = 100
    /// Largest body for routes that do not set their own; larger gets 413.
    public var maxBodyBytes = 1024 * 1024
    /// Requests parsed ahead of their answers on one connection (pipelining); the rest wait in
    /// the socket buffer.
    public var maxPipelinedRequests = 16
    /// Open connections over all loops of a server; beyond it a new connection gets 503.
    public var maxConnections = 10_000
    /// Seconds from the first byte of a request to the end of its head; then 408 and close.
    public var headerTimeout: Double = 10
    /// Seconds from the end of the head to the end of the body; then 408 and close.
    public var bodyTimeout: Double = 30
    /// Seconds a keep-alive connection may sit idle between requests; then it is closed.
    public var idleTimeout: Double = 60
    /// Seconds a client may take to read an answer we could not write at once; then closed.
    public var writeTimeout: Double = 30
    /// The Retry-After seconds sent with 503 when the server is at `maxConnections`.
    public var retryAfterSeconds = 1

    public init() {}
}

/// A request the server refuses while parsing: the status and a reason for the body.
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public let status: Int
    public let reason: String

    public init(status: Int, reason: String) {
        self.status = status
        self.reason = reason
    }

    public var description: String { "\(status): \(reason)" }

    static func bad(_ reason: String) -> HTTPParseError { HTTPParseError(status: 400, reason: reason) }
}

/// Where one header field sits in the request head.
public struct HTTPHeaderField: Sendable, Hashable {
    public let nameStart: Int32
    public let nameEnd: Int32
    public let valueStart: Int32
    public let valueEnd: Int32
}

/// A parsed request head: method, target and header offsets, and the framing it implies.
public struct HTTPHead: Sendable {
    public var method: HTTPMethod = .get
    public var version: HTTPVersion = .http11
    public var methodEnd: Int32 = 0
    public var targetStart: Int32 = 0
    /// End of the path inside the target (where `?` starts or the target ends).
    public var pathEnd: Int32 = 0
    public var targetEnd: Int32 = 0
    /// Start of the path inside the target (after scheme and authority of an absolute form).
    public var pathStart: Int32 = 0
    public var fields: [HTTPHeaderField] = []
    public var contentLength: Int? = nil
    public var chunked = false
    public var keepAlive = true
    public var expectContinue = false
    /// Total head length including the blank line.
    public var length: Int32 = 0

    public init() {}
}

@inline(__always)
private func lowercase(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}

/// tchar of RFC 9110 (the bytes allowed in methods and header names) as a 128-bit set, so the
/// hot loop needs no table lookup.
@inline(__always)
private func isToken(_ byte: UInt8) -> Bool {
    if byte < 64 { return (0x03FF_6CFA_0000_0000 as UInt64) >> byte & 1 != 0 }
    if byte < 128 { return (0x57FF_FFFF_C7FF_FFFE as UInt64) >> (byte - 64) & 1 != 0 }
    return false
}

/// Compares `bytes[start..<end]` with a lowercase ASCII name, ignoring case.
@inline(__always)
func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ lower: StaticString) -> Bool {
    let count = lower.utf8CodeUnitCount
    guard end - start == count else { return false }
    let name = lower.utf8Start
    for i in 0..<count where lowercase(bytes[start + i]) != name[i] { return false }
    return true
}

public enum HTTPHeadParser {
    /// Finds the end of the head ("\r\n\r\n") in `bytes`, scanning from `from`. Returns the
    /// head length, or nil when more bytes are needed. `from` lets a slow client's drip be
    /// scanned once, not quadratically.
    public static func findEnd(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var i = max(from, 0)
        let count = bytes.count
        while i + 3 < count {
            let b3 = bytes[i + 3]
            if b3 == 0x0A {
                if bytes[i] == 0x0D, bytes[i + 1] == 0x0A, bytes[i + 2] == 0x0D { return i + 4 }
                i += 1
            } else if b3 == 0x0D {
                i += 1
            } else {
                // Neither CR nor LF at i+3: no terminator can start at i...i+3.
                i += 4
            }
        }
        return nil
    }

    /// Limits on a head that is still incomplete after `count` bytes: 414 for an endless request
    /// line, 431 for endless headers, nil while the client is still within bounds.
    /// A line that ends with a bare LF is refused with 400 as soon as it arrives: the head's end
    /// (CRLF CRLF) would never come, and the client would wait for the header timeout's 408.
    /// `from` skips the bytes an earlier call already scanned.
    public static func checkIncomplete(_ bytes: UnsafeRawBufferPointer, limits: HTTPLimits, from: Int = 0) -> HTTPParseError? {
        let lineLimit = min(bytes.count, limits.maxRequestLineBytes + 2)
        var sawLineEnd = false
        for i in 0..<lineLimit where bytes[i] == 0x0A {
            sawLineEnd = true
            break
        }
        if !sawLineEnd && bytes.count > limits.maxRequestLineBytes + 1 {
            return HTTPParseError(status: 414, reason: "request line longer than \(limits.maxRequestLineBytes) bytes")
        }
        if hasBareLF(bytes, from: from, below: limits.maxHeaderBytes) { return bareLF }
        if bytes.count > limits.maxHeaderBytes {
            return HTTPParseError(status: 431, reason: "request head larger than \(limits.maxHeaderBytes) bytes")
        }
        return nil
    }

    static let bareLF = HTTPParseError.bad("a line of the request head ends with a bare LF; lines end with CRLF")

    /// Whether an LF not preceded by CR is among `bytes[from..<below]`.
    static func hasBareLF(_ bytes: UnsafeRawBufferPointer, from: Int, below limit: Int) -> Bool {
        let end = min(bytes.count, limit)
        var i = max(from, 0)
        while i < end {
            if bytes[i] == 0x0A && (i == 0 || bytes[i - 1] != 0x0D) { return true }
            i += 1
        }
        return false
    }

    /// Parses a complete head (`bytes` ends with the blank line). The errors come in the order
    /// `checkIncomplete` finds them on a head still arriving (414, bare LF, 431, then the rest),
    /// so a request gets the same answer however its bytes are split into reads.
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: HTTPLimits) throws(HTTPParseError) -> HTTPHead {
        do {
            return try parseInOrder(bytes, limits: limits)
        } catch {
            // A head that parses has no bare LF, and one with a bare LF mostly fails with a 400
            // anyway: only another refusal needs the scan, off the hot path.
            if error.status != 400 && error.status != 414 && hasBareLF(bytes, from: 0, below: limits.maxHeaderBytes) {
                throw bareLF
            }
            throw error
        }
    }

    private static func parseInOrder(_ bytes: UnsafeRawBufferPointer, limits: HTTPLimits) throws(HTTPParseError) -> HTTPHead {
        var head = HTTPHead()
        let count = bytes.count
        guard count <= Int(Int32.max) else { throw HTTPParseError(status: 431, reason: "request head too large") }
        // The size limits first, in the order `checkIncomplete` applies them, so a request gets
        // the same answer however its bytes are split into reads.
        var lineEnd = -1
        for j in 0..<min(count, limits.maxRequestLineBytes + 2) where bytes[j] == 0x0A {
            lineEnd = j
            break
        }
        if lineEnd < 0 {
            throw HTTPParseError(status: 414, reason: "request line longer than \(limits.maxRequestLineBytes) bytes")
        }
        if count > limits.maxHeaderBytes {
            throw HTTPParseError(status: 431, reason: "request head larger than \(limits.maxHeaderBytes) bytes")
        }
        head.length = Int32(count)

        // Request line: method SP target SP version CRLF.
        var i = 0
        while i < count, isToken(bytes[i]) { i += 1 }
        guard i > 0, i < count, bytes[i] == 0x20 else {
            throw .bad(i == 0 ? "request line does not start with a method" : "malformed method")
        }
        head.methodEnd = Int32(i)
        head.method = HTTPMethod.from(UnsafeRawBufferPointer(rebasing: bytes[0..<i]))
        i += 1
        let targetStart = i
        var query = -1
        while i < count {
            let b = bytes[i]
            if b == 0x20 { break }
            if b < 0x21 || b == 0x7F { throw .bad("control character in request target") }
            if b == 0x3F && query < 0 { query = i }
            i += 1
        }
        guard i < count, i > targetStart else { throw .bad("missing request target") }
        let targetEnd = i
        head.targetStart = Int32(targetStart)
        head.targetEnd = Int32(targetEnd)
        head.pathEnd = Int32(query >= 0 ? query : targetEnd)
        head.pathStart = Int32(targetStart)
        i += 1
        // "HTTP/1.1\r\n"
        guard i + 10 <= count, bytes[i] == 0x48, bytes[i + 1] == 0x54, bytes[i + 2] == 0x54,
              bytes[i + 3] == 0x50, bytes[i + 4] == 0x2F else {
            throw .bad("malformed HTTP version")
        }
        let major = bytes[i + 5], dot = bytes[i + 6], minor = bytes[i + 7]
        guard dot == 0x2E, major &- 0x30 < 10, minor &- 0x30 < 10, bytes[i + 8] == 0x0D, bytes[i + 9] == 0x0A else {
            throw .bad("malformed HTTP version")
        }
        if major != 0x31 || (minor != 0x31 && minor != 0x30) {
            throw HTTPParseError(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are supported")
        }
        head.version = minor == 0x31 ? .http11 : .http10
        head.keepAlive = head.version == .http11
        i += 10

        // Target forms: origin ("/path"), asterisk ("*", OPTIONS only), absolute ("http://h/p").
        let first = bytes[targetStart]
        if first == 0x2A {
            guard targetEnd == targetStart + 1, head.method == .options else { throw .bad("'*' target is only valid for OPTIONS") }
        } else if first != 0x2F {
            let end = Int(head.pathEnd)
            var j = targetStart
            while j + 2 < end, !(bytes[j] == 0x3A && bytes[j + 1] == 0x2F && bytes[j + 2] == 0x2F) { j += 1 }
            guard j + 2 < end else { throw .bad("request target must start with '/'") }
            j += 3
            while j < end, bytes[j] != 0x2F { j += 1 }
            guard j < end else { throw .bad("absolute request target has no path") }
            head.pathStart = Int32(j)
        }

        // Header lines until the blank line.
        var sawHost = false
        var sawTransferEncoding = false
        head.fields.reserveCapacity(16)
        while true {
            guard i + 1 < count else { throw .bad("request head does not end with a blank line") }
            if bytes[i] == 0x0D {
                guard bytes[i + 1] == 0x0A else { throw .bad("bare CR in request head") }
                i += 2
                break
            }
            let nameStart = i
            while i < count, isToken(bytes[i]) { i += 1 }
            guard i < count, i > nameStart else {
                if nameStart < count, bytes[nameStart] == 0x20 || bytes[nameStart] == 0x09 {
                    throw .bad("folded header lines are not allowed")
                }
                throw .bad("malformed header name")
            }
            guard bytes[i] == 0x3A else { throw .bad("header name must be followed by ':'") }
            let nameEnd = i
            i += 1
            while i < count, bytes[i] == 0x20 || bytes[i] == 0x09 { i += 1 }
            let valueStart = i
            while i < count {
                let b = bytes[i]
                if b == 0x0D { break }
                if (b < 0x20 && b != 0x09) || b == 0x7F { throw .bad("control character in header value") }
                i += 1
            }
            guard i + 1 < count, bytes[i + 1] == 0x0A else { throw .bad("header line does not end with CRLF") }
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            i += 2
            if head.fields.count >= limits.maxHeaderCount {
                throw HTTPParseError(status: 431, reason: "more than \(limits.maxHeaderCount) header fields")
            }
            head.fields.append(HTTPHeaderField(nameStart: Int32(nameStart), nameEnd: Int32(nameEnd),
                                               valueStart: Int32(valueStart), valueEnd: Int32(valueEnd)))
            try interpret(bytes, nameStart, nameEnd, valueStart, valueEnd, &head, &sawHost, &sawTransferEncoding)
        }
        guard i == count else { throw .bad("bytes after the end of the request head") }
        if head.version == .http11 && !sawHost { throw .bad("HTTP/1.1 request without Host header") }
        if head.chunked && head.contentLength != nil {
            throw .bad("both Content-Length and Transfer-Encoding: chunked")
        }
        return head
    }

    /// Reads the header fields that decide framing and connection handling.
    @inline(__always)
    private static func interpret(_ bytes: UnsafeRawBufferPointer, _ nameStart: Int, _ nameEnd: Int,
                                  _ valueStart: Int, _ valueEnd: Int, _ head: inout HTTPHead,
                                  _ sawHost: inout Bool, _ sawTransferEncoding: inout Bool) throws(HTTPParseError) {
        switch nameEnd - nameStart {
        case 4 where equalsIgnoringCase(bytes, nameStart, nameEnd, "host"):
            if sawHost { throw .bad("more than one Host header") }
            sawHost = true
        case 6 where equalsIgnoringCase(bytes, nameStart, nameEnd, "expect"):
            if equalsIgnoringCase(bytes, valueStart, valueEnd, "100-continue") {
                head.expectContinue = true
            } else {
                throw HTTPParseError(status: 417, reason: "only 'Expect: 100-continue' is supported")
            }
        case 10 where equalsIgnoringCase(bytes, nameStart, nameEnd, "connection"):
            forEachToken(bytes, valueStart, valueEnd) { start, end in
                if equalsIgnoringCase(bytes, start, end, "close") { head.keepAlive = false }
                else if equalsIgnoringCase(bytes, start, end, "keep-alive"), head.version == .http10 { head.keepAlive = true }
            }
        case 14 where equalsIgnoringCase(bytes, nameStart, nameEnd, "content-length"):
            guard valueEnd > valueStart else { throw .bad("empty Content-Length") }
            var value = 0
            var overflow = false
            for j in valueStart..<valueEnd {
                let digit = bytes[j] &- 0x30
                guard digit < 10 else { throw .bad("Content-Length is not a decimal number") }
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int(digit))
                if o1 || o2 { overflow = true; break }
                value = sum
            }
            if overflow { value = Int.max }
            if let previous = head.contentLength, previous != value {
                throw .bad("conflicting Content-Length headers")
            }
            head.contentLength = value
        case 17 where equalsIgnoringCase(bytes, nameStart, nameEnd, "transfer-encoding"):
            if sawTransferEncoding { throw HTTPParseError(status: 501, reason: "only one Transfer-Encoding: chunked is supported") }
            sawTransferEncoding = true
            if head.version == .http10 { throw .bad("Transfer-Encoding in an HTTP/1.0 request") }
            if equalsIgnoringCase(bytes, valueStart, valueEnd, "chunked") {
                head.chunked = true
            } else {
                throw HTTPParseError(status: 501, reason: "only Transfer-Encoding: chunked is supported")
            }
        default:
            break
        }
    }

    /// Calls `body` with each comma-separated token of a header value, trimmed.
    @inline(__always)
    static func forEachToken(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int, _ body: (Int, Int) -> Void) {
        var i = start
        while i < end {
            while i < end, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x2C { i += 1 }
            let tokenStart = i
            while i < end, bytes[i] != 0x2C { i += 1 }
            var tokenEnd = i
            while tokenEnd > tokenStart, bytes[tokenEnd - 1] == 0x20 || bytes[tokenEnd - 1] == 0x09 { tokenEnd -= 1 }
            if tokenEnd > tokenStart { body(tokenStart, tokenEnd) }
        }
    }
}

/// Decodes a chunked body incrementally: chunk sizes, extensions (skipped), data, trailers
/// (skipped). Bounded: the body by `maxBody`, extensions and trailers by fixed limits.
public struct ChunkedDecoder: Sendable {
    enum State: Sendable {
        case size, extensions, sizeLF, data, dataCR, dataLF, trailerStart, trailerLine, trailerLF, finalLF, done
    }

    var state = State.size
    var chunkRemaining = 0
    var sizeDigits = 0
    var sideBytes = 0
    /// Longest chunk-extension and trailer section accepted.
    let maxSideBytes: Int

    public init(maxSideBytes: Int = 16 * 1024) {
        self.maxSideBytes = maxSideBytes
    }

    public var isDone: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes bytes of `input`, appending body data to `body`. Returns how many bytes were
    /// consumed; stops right after the final CRLF so pipelined bytes stay with the caller.
    public mutating func decode(_ input: UnsafeRawBufferPointer, into body: inout [UInt8], maxBody: Int) throws(HTTPParseError) -> Int {
        var i = 0
        let count = input.count
        while i < count {
            switch state {
            case .size:
                let b = input[i]
                let digit: UInt8
                switch b {
                case 0x30...0x39: digit = b - 0x30
                case 0x41...0x46: digit = b - 0x41 + 10
                case 0x61...0x66: digit = b - 0x61 + 10
                case 0x3B, 0x20, 0x09:
                    guard sizeDigits > 0 else { throw .bad("chunk size missing") }
                    state = .extensions
                    i += 1
                    continue
                case 0x0D:
                    guard sizeDigits > 0 else { throw .bad("chunk size missing") }
                    state = .sizeLF
                    i += 1
                    continue
                default:
                    throw .bad("malformed chunk size")
                }
                sizeDigits += 1
                // Anything beyond 15 hex digits cannot fit a body limit anyway.
                if sizeDigits > 15 || chunkRemaining > (maxBody - body.count) {
                    throw HTTPParseError(status: 413, reason: "body larger than \(maxBody) bytes")
                }
                chunkRemaining = chunkRemaining &* 16 &+ Int(digit)
                i += 1
            case .extensions:
                let b = input[i]
                if b == 0x0D {
                    state = .sizeLF
                } else if b == 0x0A || b == 0 {
                    throw .bad("malformed chunk extension")
                } else {
                    sideBytes += 1
                    if sideBytes > maxSideBytes { throw .bad("chunk extensions longer than \(maxSideBytes) bytes") }
                }
                i += 1
            case .sizeLF:
                guard input[i] == 0x0A else { throw .bad("chunk size line does not end with CRLF") }
                i += 1
                if chunkRemaining > maxBody - body.count {
                    throw HTTPParseError(status: 413, reason: "body larger than \(maxBody) bytes")
                }
                state = chunkRemaining == 0 ? .trailerStart : .data
            case .data:
                let n = min(chunkRemaining, count - i)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<(i + n)]))
                chunkRemaining -= n
                i += n
                if chunkRemaining == 0 { state = .dataCR }
            case .dataCR:
                guard input[i] == 0x0D else { throw .bad("chunk data longer than its size") }
                state = .dataLF
                i += 1
            case .dataLF:
                guard input[i] == 0x0A else { throw .bad("chunk data not followed by CRLF") }
                state = .size
                sizeDigits = 0
                i += 1
            case .trailerStart:
                if input[i] == 0x0D {
                    state = .finalLF
                } else {
                    state = .trailerLine
                    sideBytes += 1
                }
                i += 1
            case .trailerLine:
                let b = input[i]
                if b == 0x0D { state = .trailerLF }
                else if b == 0x0A { throw .bad("bare LF in trailer") }
                sideBytes += 1
                if sideBytes > maxSideBytes { throw HTTPParseError(status: 431, reason: "trailers longer than \(maxSideBytes) bytes") }
                i += 1
            case .trailerLF:
                guard input[i] == 0x0A else { throw .bad("trailer line does not end with CRLF") }
                state = .trailerStart
                i += 1
            case .finalLF:
                guard input[i] == 0x0A else { throw .bad("chunked body does not end with CRLF") }
                state = .done
                return i + 1
            case .done:
                return i
            }
        }
        return i
    }
}

/// Percent-decoding of path segments and query components; `+` is a space in queries only.
/// Invalid escapes are kept as they are rather than refused.
public func percentDecode(_ bytes: UnsafeRawBufferPointer, plusIsSpace: Bool) -> String {
    var needs = false
    for b in bytes where b == 0x25 || (plusIsSpace && b == 0x2B) {
        needs = true
        break
    }
    if !needs { return String(decoding: bytes, as: UTF8.self) }
    var out = [UInt8]()
    out.reserveCapacity(bytes.count)
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        if b == 0x25, i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
            out.append(hi << 4 | lo)
            i += 3
        } else {
            out.append(plusIsSpace && b == 0x2B ? 0x20 : b)
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}

@inline(__always)
private func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: b - 0x30
    case 0x41...0x46: b - 0x41 + 10
    case 0x61...0x66: b - 0x61 + 10
    default: nil
    }
}

/// Splits a byte stream into requests: finds and parses each head, then reads its body by
/// Content-Length or chunked framing. The server's connections use it, and so does the fuzzer.
public struct HTTPRequestDecoder: Sendable {
    public let limits: HTTPLimits
    private var scanFrom = 0
    private var remaining = 0
    private var chunked: ChunkedDecoder? = nil
    private var bodyLimit = 0

    public init(limits: HTTPLimits) {
        self.limits = limits
    }

    /// Looks for a complete head at the start of `bytes` (the unconsumed input). Nil means more
    /// bytes are needed; a head that can no longer fit the limits throws 414/431 right away.
    /// On success the head is `head.length` bytes long.
    public mutating func decodeHead(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> HTTPHead? {
        guard let length = HTTPHeadParser.findEnd(bytes, from: scanFrom - 3) else {
            let scanned = scanFrom
            scanFrom = bytes.count
            if let error = HTTPHeadParser.checkIncomplete(bytes, limits: limits, from: scanned) { throw error }
            return nil
        }
        scanFrom = 0
        return try HTTPHeadParser.parse(UnsafeRawBufferPointer(rebasing: bytes[0..<length]), limits: limits)
    }

    /// Prepares to read the body of `head` under `limit` bytes (the route's limit). Throws 413
    /// when the declared length is over it. Returns false when the request has no body.
    public mutating func beginBody(of head: HTTPHead, limit: Int) throws(HTTPParseError) -> Bool {
        bodyLimit = limit
        chunked = nil
        remaining = 0
        if head.chunked {
            chunked = ChunkedDecoder(maxSideBytes: limits.maxHeaderBytes)
            return true
        }
        guard let length = head.contentLength, length > 0 else { return false }
        if length > limit {
            throw HTTPParseError(status: 413, reason: "body of \(length) bytes exceeds the limit of \(limit) bytes")
        }
        remaining = length
        return true
    }

    /// Appends body bytes from the start of `bytes` to `body`. Returns how many bytes were
    /// consumed and whether the body is complete; bytes after the body are left alone.
    public mutating func decodeBody(_ bytes: UnsafeRawBufferPointer, into body: inout [UInt8]) throws(HTTPParseError) -> (consumed: Int, complete: Bool) {
        if var decoder = chunked {
            let consumed = try decoder.decode(bytes, into: &body, maxBody: bodyLimit)
            chunked = decoder
            return (consumed, decoder.isDone)
        }
        let n = min(remaining, bytes.count)
        if n > 0 {
            body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
            remaining -= n
        }
        return (n, remaining == 0)
    }

    /// One request of a stream, or the error that ended the stream.
    public enum Outcome: Sendable, Equatable {
        case request(method: HTTPMethod, target: [UInt8], body: [UInt8], keepAlive: Bool)
        case failure(status: Int)
    }

    /// Decodes a whole stream delivered in pieces of the given sizes (nil: in one piece), the
    /// way a connection does: for tests and the fuzzer, which check that the split does not matter.
    public static func decodeAll(_ stream: [UInt8], limits: HTTPLimits, pieces: [Int]? = nil) -> [Outcome] {
        var decoder = HTTPRequestDecoder(limits: limits)
        var outcomes: [Outcome] = []
        var buffer: [UInt8] = []
        var offset = 0
        var pieceIndex = 0
        var current: (head: HTTPHead, target: [UInt8])? = nil
        var body: [UInt8] = []
        while true {
            if offset < stream.count {
                var take = stream.count - offset
                if let pieces, !pieces.isEmpty {
                    take = min(take, max(1, pieces[pieceIndex % pieces.count]))
                    pieceIndex += 1
                }
                buffer.append(contentsOf: stream[offset..<(offset + take)])
                offset += take
            }
            while true {
                let step = buffer.withUnsafeBytes { raw in
                    Result { () throws(HTTPParseError) -> (consumed: Int, complete: Bool) in
                        if current != nil { return try decoder.decodeBody(raw, into: &body) }
                        guard let head = try decoder.decodeHead(raw) else { return (0, false) }
                        current = (head, Array(raw[Int(head.targetStart)..<Int(head.targetEnd)]))
                        body = []
                        let hasBody = try decoder.beginBody(of: head, limit: limits.maxBodyBytes)
                        return (Int(head.length), !hasBody)
                    }
                }
                guard case .success(let (consumed, complete)) = step else {
                    if case .failure(let error) = step { outcomes.append(.failure(status: error.status)) }
                    return outcomes
                }
                buffer.removeFirst(consumed)
                if complete, let (head, target) = current {
                    outcomes.append(.request(method: head.method, target: target, body: body, keepAlive: head.keepAlive))
                    current = nil
                    continue
                }
                if consumed == 0 || buffer.isEmpty { break }
            }
            if offset >= stream.count { return outcomes }
        }
    }
}
