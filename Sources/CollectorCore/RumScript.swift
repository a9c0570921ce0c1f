import Beacon
import Transport

/// `GET /rum.js`: the browser SDK (`rum.js`, embedded as `RumScriptData.swift`), compressed once
/// at start-up, answered with a strong `ETag`, `304` to a matching `If-None-Match`, and gzip
/// when the client accepts it.
public struct RumScript: Sendable {
    public let body: [UInt8]
    public let gzipped: [UInt8]
    /// A strong validator: a hash of the uncompressed script (both encodings carry it, with
    /// `-gz` on the gzip one, as two representations need two validators).
    public let etag: String
    public static let cacheControl = "public, max-age=3600"
    public static let contentType = "application/javascript; charset=utf-8"

    /// `source` replaces the embedded script (tests).
    public init(source: String? = nil) {
        body = Array((source ?? embeddedRumScript).utf8)
        gzipped = Deflate.gzip(body, level: 9)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a 64
        for byte in body { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        etag = "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    public func register(in router: inout HTTPRouter) {
        let script = self
        router.add(.get, "/rum.js") { request, responder in responder.respond(script.answer(request)) }
    }

    func answer(_ request: HTTPRequest) -> HTTPResponse {
        let gzip = Self.acceptsGzip(request.headerValues("Accept-Encoding"))
        let tag = gzip ? String(etag.dropLast()) + "-gz\"" : etag
        var headers: [(name: String, value: String)] = [
            ("ETag", tag), ("Cache-Control", Self.cacheControl), ("Vary", "Accept-Encoding"),
        ]
        if Self.matches(request.headerValues("If-None-Match"), tag) {
            return HTTPResponse(status: 304, headers: headers)
        }
        headers += [("Content-Type", Self.contentType), ("X-Content-Type-Options", "nosniff"),
                    ("Access-Control-Allow-Origin", "*")]
        if gzip { headers.append(("Content-Encoding", "gzip")) }
        return HTTPResponse(status: 200, headers: headers, body: gzip ? gzipped : body)
    }

    /// RFC 9110 12.5.3: `gzip` (or `x-gzip`, or `*`) with a non-zero `q`; an explicit `gzip;q=0` refuses.
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzip: Bool? = nil, star = false
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";").map { $0.trimmingSpaces().lowercased() }
                guard let coding = parts.first else { continue }
                var quality = 1.0
                for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                    quality = Double(parameter.dropFirst(2)) ?? 0
                }
                if coding == "gzip" || coding == "x-gzip" { gzip = (gzip ?? false) || quality > 0 }
                if coding == "*" { star = quality > 0 }
            }
        }
        return gzip ?? star
    }

    /// `If-None-Match` (RFC 9110 13.1.2, weak comparison): `*`, or a list of tags one of which is ours.
    static func matches(_ values: [String], _ tag: String) -> Bool {
        for value in values {
            for item in value.split(separator: ",") {
                var candidate = item.trimmingSpaces()
                if candidate == "*" { return true }
                if candidate.hasPrefix("W/") { candidate = String(candidate.dropFirst(2)) }
                if candidate == tag { return true }
            }
        }
        return false
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
