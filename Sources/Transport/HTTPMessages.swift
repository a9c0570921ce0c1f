// What a handler answers with (HTTPResponse) and answers through (HTTPResponder), plus the
// router that picks the handler.

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

    /// A JSON error body `{"error":"...","status":S}` with the given status.
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
                            body: Array("{\"error\":\"\(escaped)\",\"status\":\(status)}\n".utf8))
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

/// Headers for the server's own refusal of a routed request, from its head (the body is empty).
public typealias HTTPRefusalHeaders = @Sendable (HTTPRequest) -> [(name: String, value: String)]

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
        let refusalHeaders: HTTPRefusalHeaders?
        let handler: HTTPHandler
    }

    var routes: [Route] = []

    public init() {}

    /// Adds a route. `pattern` is a path like "/v1/sessions/{id}"; `maxBodyBytes` overrides
    /// the server's default body limit for this route; `refusalHeaders` gives the headers of the
    /// answers the server itself gives to a request of this route before its handler runs (a body
    /// too large, malformed or too slow), e.g. CORS headers so a page can read the error.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, maxBodyBytes: Int? = nil,
                             refusalHeaders: HTTPRefusalHeaders? = nil, _ handler: @escaping HTTPHandler) {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let segments: [Segment] = parts.map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(Array(part.utf8))
        }
        let hasParameters = segments.contains { if case .parameter = $0 { true } else { false } }
        routes.append(Route(method: method, pattern: pattern, segments: segments, hasParameters: hasParameters,
                            maxBodyBytes: maxBodyBytes, refusalHeaders: refusalHeaders, handler: handler))
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
