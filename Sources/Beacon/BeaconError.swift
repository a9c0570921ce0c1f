/// Everything that makes the collector refuse a whole beacon request, with the HTTP status it
/// maps to. Messages name the problem so that the client's developer can fix it.
public enum BeaconError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `Content-Encoding` other than identity, gzip or deflate.
    case unsupportedContentEncoding(String)
    /// `Content-Type` other than application/json or text/plain.
    case unsupportedContentType(String)
    /// The body (on the wire or inflated) is larger than the configured bound.
    case bodyTooLarge(limit: Int)
    /// Inflated size grew beyond `maxRatio` times the compressed size: a compression bomb.
    case compressionRatioExceeded(limit: Int)
    /// The compressed body is not valid gzip/deflate data.
    case corruptCompressedBody(String)
    /// The compressed stream ends before its end marker.
    case truncatedCompressedBody
    /// The body is not strict JSON; `offset` is the byte offset of the problem.
    case invalidJSON(offset: Int, reason: String)
    /// The JSON is well formed but the beacon envelope breaks the contract.
    case invalidEnvelope(String)

    /// HTTP status code the collector answers with.
    public var status: Int {
        switch self {
        case .unsupportedContentEncoding, .unsupportedContentType: 415
        case .bodyTooLarge, .compressionRatioExceeded: 413
        case .corruptCompressedBody, .truncatedCompressedBody, .invalidJSON, .invalidEnvelope: 400
        }
    }

    public var description: String {
        switch self {
        case .unsupportedContentEncoding(let value):
            "unsupported Content-Encoding \"\(value)\": use gzip, deflate or none"
        case .unsupportedContentType(let value):
            "unsupported Content-Type \"\(value)\": use application/json or text/plain"
        case .bodyTooLarge(let limit):
            "body exceeds the limit of \(limit) bytes"
        case .compressionRatioExceeded(let limit):
            "compressed body inflates more than \(limit) times its size"
        case .corruptCompressedBody(let detail):
            "compressed body is corrupt: \(detail)"
        case .truncatedCompressedBody:
            "compressed body is truncated"
        case .invalidJSON(let offset, let reason):
            "invalid JSON at byte \(offset): \(reason)"
        case .invalidEnvelope(let reason):
            "invalid beacon: \(reason)"
        }
    }
}
