// The parser's consistency check, shared by the libFuzzer target (Tests/Fuzz/http) and the
// corpus replay in TransportTests, so both hold the parser to the same promises. Pure.
import System

public enum HTTPParserCheck {
    /// Statuses the parser may refuse a request with (Sources/Transport/README.md).
    public static let documentedStatuses: Set<Int> = [400, 408, 413, 414, 417, 431, 501, 505]

    /// Limits small enough that inputs of a few hundred bytes reach every limit.
    public static var tightLimits: HTTPLimits {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 96
        limits.maxHeaderBytes = 256
        limits.maxHeaderCount = 8
        limits.maxBodyBytes = 128
        return limits
    }

    /// Traps (precondition) when a promise is broken; returns the outcomes otherwise.
    @discardableResult
    public static func run(_ bytes: [UInt8]) -> [HTTPRequestDecoder.Outcome] {
        for limits in [tightLimits, HTTPLimits()] {
            let whole = HTTPRequestDecoder.decodeAll(bytes, limits: limits)
            var seed = UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.first ?? 0)
            let pieces = (0..<16).map { _ -> Int in
                seed ^= seed << 13
                seed ^= seed >> 7
                seed ^= seed << 17
                return Int(seed % 7 == 0 ? 1 : seed % 48 + 1)
            }
            let split = HTTPRequestDecoder.decodeAll(bytes, limits: limits, pieces: pieces)
            let byteByByte = HTTPRequestDecoder.decodeAll(bytes, limits: limits, pieces: [1])
            precondition(whole == split, "splitting the stream changed the outcome")
            precondition(whole == byteByByte, "byte-by-byte delivery changed the outcome")
            for outcome in whole {
                switch outcome {
                case .failure(let status):
                    precondition(documentedStatuses.contains(status), "undocumented status \(status)")
                case .request(_, _, let body, _):
                    precondition(body.count <= limits.maxBodyBytes, "body over the limit")
                }
            }
        }
        // Read every complete head back through the request accessors.
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].withUnsafeBytes { HTTPHeadParser.findEnd($0, from: 0) }
            guard let end else { break }
            let head = Array(bytes[start..<(start + end)])
            start += end
            guard let request = try? HTTPRequest(parsing: head, peer: SocketAddress(addressBytes: [127, 0, 0, 1], port: 1)) else { continue }
            _ = request.path
            _ = request.target
            _ = request.query
            _ = request.methodName
            for (name, value) in request.headers {
                precondition(request.header(name) != nil, "a header present in the list is not found by name")
                _ = value
            }
            for (name, _) in request.queryParameters {
                precondition(request.queryParameter(name) != nil, "a query parameter is not found by name")
            }
        }
        return HTTPRequestDecoder.decodeAll(bytes, limits: tightLimits)
    }
}
