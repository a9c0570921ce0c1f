// What a handler sees (HTTPRequest), answers with (HTTPResponse) and answers through
// (HTTPResponder), plus the router that picks the handler.

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

/// An answer. `headers` are written as given; Content-Length, Date and Connection are added.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON error body `{"error":"..."}` with the given status.
    public static func error(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var escaped = ""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default:
                if scalar.value < 0x20 { escaped += "?" } else { escaped.unicodeScalars.append(scalar) }
            }
        }
        return HTTPResponse(status: status,
                            headers: [("Content-Type", "application/json")] + headers,
                            body: Array("{\"error\":\"\(escaped)\"}\n".utf8))
    }
}

/// Answers one request, once, from any thread. Answers on one connection go out in request
/// order whatever order handlers answer in.
public struct HTTPResponder: Sendable {
    let connection: HTTPConnection
    let sequence: UInt64

    public func respond(_ response: HTTPResponse) {
        let connection = self.connection, sequence = self.sequence
        if connection.loop.inEventLoop {
            connection.complete(sequence, response)
        } else {
            connection.loop.execute { connection.complete(sequence, response) }
        }
    }

    /// An answer without headers or body (e.g. 204), the cheapest to send.
    public func respond(status: Int) {
        respond(HTTPResponse(status: status))
    }

    /// The loop this request's connection lives on (to schedule follow-up work there).
    public var eventLoop: EventLoop { connection.loop }
}

public typealias HTTPHandler = @Sendable (HTTPRequest, HTTPResponder) -> Void

/// Method + path routing with `{name}` path parameters. Built before the server starts.
public struct HTTPRouter: Sendable {
    enum Segment: Sendable {
        case literal([UInt8])
        case parameter(String)
    }

    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let hasParameters: Bool
        let maxBodyBytes: Int?
        let handler: HTTPHandler
    }

    var routes: [Route] = []

    public init() {}

    /// Adds a route. `pattern` is a path like "/v1/sessions/{id}"; `maxBodyBytes` overrides
    /// the server's default body limit for this route.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, maxBodyBytes: Int? = nil,
                             _ handler: @escaping HTTPHandler) {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let segments: [Segment] = parts.map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(Array(part.utf8))
        }
        let hasParameters = segments.contains { if case .parameter = $0 { true } else { false } }
        routes.append(Route(method: method, pattern: pattern, segments: segments, hasParameters: hasParameters,
                            maxBodyBytes: maxBodyBytes, handler: handler))
    }

    enum Match {
        case found(Int, [(name: String, value: String)])
        case methodNotAllowed([HTTPMethod])
        case notFound
    }

    /// Matches a path (`bytes`, starting with "/") without allocating unless the route has parameters.
    func match(_ method: HTTPMethod, _ path: UnsafeRawBufferPointer) -> Match {
        var allowed: [HTTPMethod] = []
        var headFallback: Int? = nil
        for (index, route) in routes.enumerated() where Self.pathMatches(route, path) {
            if route.method == method {
                return .found(index, route.hasParameters ? Self.parameters(route, path) : [])
            }
            if method == .head && route.method == .get { headFallback = index }
            allowed.append(route.method)
        }
        if let headFallback {
            let route = routes[headFallback]
            return .found(headFallback, route.hasParameters ? Self.parameters(route, path) : [])
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
    }

    static func pathMatches(_ route: Route, _ path: UnsafeRawBufferPointer) -> Bool {
        guard path.count > 0, path[0] == 0x2F else { return false }
        var i = 1
        var segmentIndex = 0
        let segments = route.segments
        while true {
            let start = i
            while i < path.count, path[i] != 0x2F { i += 1 }
            guard segmentIndex < segments.count else { return false }
            switch segments[segmentIndex] {
            case .literal(let literal):
                guard i - start == literal.count else { return false }
                for j in 0..<literal.count where path[start + j] != literal[j] { return false }
            case .parameter:
                if i == start { return false }
            }
            segmentIndex += 1
            if i >= path.count { return segmentIndex == segments.count }
            i += 1
        }
    }

    static func parameters(_ route: Route, _ path: UnsafeRawBufferPointer) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        var i = 1
        for segment in route.segments {
            let start = i
            while i < path.count, path[i] != 0x2F { i += 1 }
            if case .parameter(let name) = segment {
                result.append((name, percentDecode(UnsafeRawBufferPointer(rebasing: path[start..<i]), plusIsSpace: false)))
            }
            i += 1
        }
        return result
    }

    /// The methods that have a route for this path (for `Allow` in 405 and OPTIONS answers).
    func allowedMethods(_ path: UnsafeRawBufferPointer) -> [HTTPMethod] {
        var methods: [HTTPMethod] = []
        for route in routes where Self.pathMatches(route, path) && !methods.contains(route.method) {
            methods.append(route.method)
        }
        if methods.contains(.get) && !methods.contains(.head) { methods.append(.head) }
        return methods
    }
}
