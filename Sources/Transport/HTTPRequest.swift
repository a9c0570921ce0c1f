// What a handler sees. Pure (the fuzzer compiles it with the parser): header values and query
// parameters are decoded only when a handler asks for them.
import System

/// One request: its head bytes as received (looked up by offset, decoded only on demand),
/// the body, path parameters of the matched route and the peer address.
public struct HTTPRequest: Sendable {
    public let method: HTTPMethod
    public let version: HTTPVersion
    /// The raw request head, request line through the blank line.
    public let headBytes: [UInt8]
    let parsed: HTTPHead
    /// The body, de-chunked.
    public internal(set) var body: [UInt8]
    public let peer: SocketAddress
    public internal(set) var pathParameters: [(name: String, value: String)] = []
    /// Whether the connection stays open after this request (HTTP/1.1 default, `Connection: close`).
    public var keepAlive: Bool { parsed.keepAlive }

    init(head: [UInt8], parsed: HTTPHead, body: [UInt8], peer: SocketAddress) {
        self.method = parsed.method
        self.version = parsed.version
        self.headBytes = head
        self.parsed = parsed
        self.body = body
        self.peer = peer
    }

    /// Builds a request from raw bytes (tests, tools). The bytes must be one complete head.
    public init(parsing head: [UInt8], body: [UInt8] = [], peer: SocketAddress, limits: HTTPLimits = HTTPLimits()) throws(HTTPParseError) {
        let result = head.withUnsafeBytes { raw in
            Result { () throws(HTTPParseError) -> HTTPHead in try HTTPHeadParser.parse(raw, limits: limits) }
        }
        let parsed = try result.get()
        self.init(head: head, parsed: parsed, body: body, peer: peer)
    }

    private func string(_ start: Int32, _ end: Int32) -> String {
        guard start < end else { return "" }
        return String(decoding: headBytes[Int(start)..<Int(end)], as: UTF8.self)
    }

    /// The method as sent ("GET", or an unknown method's own name).
    public var methodName: String { string(0, parsed.methodEnd) }
    /// The request target as sent ("/v1/beacons?key=abc").
    public var target: String { string(parsed.targetStart, parsed.targetEnd) }
    /// The path, not percent-decoded ("/v1/sessions/abc").
    public var path: String { string(parsed.pathStart, parsed.pathEnd) }
    /// The raw query after `?`, or "".
    public var query: String { string(min(parsed.pathEnd + 1, parsed.targetEnd), parsed.targetEnd) }

    /// The first value of a header, compared case-insensitively; nil when absent.
    public func header(_ name: String) -> String? {
        let lower = Array(name.utf8).map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }
        return headBytes.withUnsafeBytes { raw -> String? in
            for field in parsed.fields where matches(raw, field, lower) {
                return String(decoding: UnsafeRawBufferPointer(rebasing: raw[Int(field.valueStart)..<Int(field.valueEnd)]), as: UTF8.self)
            }
            return nil
        }
    }

    /// Every value of a header, in order (e.g. several `X-Forwarded-For` lines).
    public func headerValues(_ name: String) -> [String] {
        let lower = Array(name.utf8).map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }
        return headBytes.withUnsafeBytes { raw -> [String] in
            parsed.fields.filter { matches(raw, $0, lower) }.map {
                String(decoding: UnsafeRawBufferPointer(rebasing: raw[Int($0.valueStart)..<Int($0.valueEnd)]), as: UTF8.self)
            }
        }
    }

    /// All header fields as sent, in order.
    public var headers: [(name: String, value: String)] {
        parsed.fields.map { (string($0.nameStart, $0.nameEnd), string($0.valueStart, $0.valueEnd)) }
    }

    private func matches(_ raw: UnsafeRawBufferPointer, _ field: HTTPHeaderField, _ lower: [UInt8]) -> Bool {
        let start = Int(field.nameStart)
        guard Int(field.nameEnd) - start == lower.count else { return false }
        for i in 0..<lower.count {
            let b = raw[start + i]
            if (b &- 0x41 < 26 ? b | 0x20 : b) != lower[i] { return false }
        }
        return true
    }

    /// A path parameter of the route pattern (`{id}`), percent-decoded.
    public func pathParameter(_ name: String) -> String? {
        pathParameters.first { $0.name == name }?.value
    }

    /// The query parameters in order, percent-decoded (`+` is a space).
    public var queryParameters: [(name: String, value: String)] {
        let start = Int(parsed.pathEnd) + 1, end = Int(parsed.targetEnd)
        guard start < end else { return [] }
        return headBytes.withUnsafeBytes { raw in
            var result: [(name: String, value: String)] = []
            var i = start
            while i < end {
                let pairStart = i
                while i < end, raw[i] != 0x26 { i += 1 }
                let pairEnd = i
                i += 1
                guard pairEnd > pairStart else { continue }
                var eq = pairStart
                while eq < pairEnd, raw[eq] != 0x3D { eq += 1 }
                let name = percentDecode(UnsafeRawBufferPointer(rebasing: raw[pairStart..<eq]), plusIsSpace: true)
                let value = eq < pairEnd
                    ? percentDecode(UnsafeRawBufferPointer(rebasing: raw[(eq + 1)..<pairEnd]), plusIsSpace: true) : ""
                result.append((name, value))
            }
            return result
        }
    }

    /// The first query parameter with this name, percent-decoded.
    public func queryParameter(_ name: String) -> String? {
        queryParameters.first { $0.name == name }?.value
    }
}
