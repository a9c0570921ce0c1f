/// CORS for `POST /v1/beacons`, decided from the request's `Origin` and the app's allowed origins
/// (apps.json `allowedOrigins`). Entries are exact origins (`https://shop.example.com`), a
/// subdomain wildcard (`https://*.example.com`: any subdomain, not the bare domain) or `*`.
/// Origins compare case-insensitively; a trailing `/` in the list is ignored.
/// Requests without `Origin` (servers, native apps) are not CORS requests and are not checked.
/// An allowed origin is always echoed (never `*`) with `Access-Control-Allow-Credentials: true`:
/// `navigator.sendBeacon` always sends credentials, and a browser drops its POST unless the
/// preflight and the answer allow them for the exact origin.
public struct CORSPolicy: Sendable, Equatable {
    public let allowedOrigins: [String]

    /// Request headers a browser may send (besides the CORS-safelisted ones).
    public static let allowedRequestHeaders = ["content-type", "content-encoding", "x-clickpath-key"]
    public static let maxAgeSeconds = 86_400

    public init(allowedOrigins: [String]) {
        self.allowedOrigins = allowedOrigins.map { origin in
            var lowered = origin.lowercased()
            while lowered.hasSuffix("/") { lowered.removeLast() }
            return lowered
        }
    }

    public enum Decision: Sendable, Equatable {
        /// No `Origin`: answer without CORS headers.
        case notCORS
        /// Add these headers to the answer.
        case allowed(headers: [Header])
        /// Answer 403 with this reason.
        case refused(reason: String)
    }

    public struct Header: Sendable, Equatable {
        public let name: String
        public let value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public func allows(origin: String) -> Bool {
        let lowered = origin.lowercased()
        for entry in allowedOrigins {
            if entry == "*" || entry == lowered { return true }
            if let star = entry.firstRange(of: "://*.") {
                let scheme = entry[..<star.lowerBound]
                let suffix = "." + entry[star.upperBound...]
                if lowered.hasPrefix(scheme + "://"), lowered.hasSuffix(suffix),
                   lowered.count > scheme.count + 3 + suffix.count {
                    return true
                }
            }
        }
        return false
    }

    /// Headers for the answer to a `POST` (any status, so scripts can read errors and `Retry-After`).
    public func decide(origin: String?) -> Decision {
        guard let origin else { return .notCORS }
        guard allows(origin: origin) else { return .refused(reason: refusal(origin)) }
        return .allowed(headers: CORSPolicy.answerHeaders(origin: origin))
    }

    /// The CORS headers of any answer to a request from `origin`, once it is allowed.
    public static func answerHeaders(origin: String) -> [Header] {
        [
            Header("Access-Control-Allow-Origin", origin),
            Header("Access-Control-Allow-Credentials", "true"),
            Header("Access-Control-Expose-Headers", "Retry-After"),
            Header("Vary", "Origin"),
        ]
    }

    /// The answer to an `OPTIONS` preflight (204 when allowed).
    public func preflight(origin: String?, requestMethod: String?, requestHeaders: String?) -> Decision {
        guard let origin else { return .refused(reason: "a CORS preflight needs an Origin header") }
        guard allows(origin: origin) else { return .refused(reason: refusal(origin)) }
        guard let method = requestMethod, method == "POST" else {
            return .refused(reason: "only POST is allowed on /v1/beacons, preflight asked for \(requestMethod ?? "no method")")
        }
        var asked: [String] = []
        for header in (requestHeaders ?? "").split(separator: ",") {
            let name = header.trimmingASCIISpaces().lowercased()
            if name.isEmpty { continue }
            guard CORSPolicy.allowedRequestHeaders.contains(name) else {
                return .refused(reason: "request header \"\(name)\" is not allowed; allowed: Content-Type, Content-Encoding, X-Clickpath-Key")
            }
            asked.append(name)
        }
        return .allowed(headers: [
            Header("Access-Control-Allow-Origin", origin),
            Header("Access-Control-Allow-Credentials", "true"),
            Header("Access-Control-Allow-Methods", "POST"),
            Header("Access-Control-Allow-Headers", "Content-Type, Content-Encoding, X-Clickpath-Key"),
            Header("Access-Control-Max-Age", String(CORSPolicy.maxAgeSeconds)),
            Header("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ])
    }

    private func refusal(_ origin: String) -> String {
        "origin \"\(origin.prefix(200))\" is not in the app's allowedOrigins"
    }
}
