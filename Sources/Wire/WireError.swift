/// Every way a frame, a message or a handshake can fail. One error type for the whole module, so
/// the I/O layer can log it, map it to an `Error` message for the peer, and close the connection.
public enum WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The length prefix announces more bytes than this connection accepts.
    case frameTooLong(length: Int, limit: Int)
    /// The length prefix is smaller than the fixed part of a frame (kind, version, flags, CRC).
    case frameTooShort(length: Int)
    /// The stream ended in the middle of a frame (`buffered` bytes of it had arrived).
    case truncated(buffered: Int)
    /// The CRC32C at the end of the frame does not match its content.
    case badChecksum(expected: UInt32, actual: UInt32)
    /// The frame's kind byte names no message this build knows.
    case unknownKind(UInt8)
    /// The frame carries flag bits this build does not know how to interpret.
    case unsupportedFlags(UInt8)
    /// The frame's schema version of its kind is outside what this build decodes.
    case unsupportedVersion(kind: String, version: UInt16, supported: ClosedRange<UInt16>)
    /// A field of a message is malformed: short, out of range, invalid UTF-8, varint overflow...
    case malformedField(name: String, reason: String)
    /// The payload holds bytes after its last field and tagged-field section.
    case trailingBytes(kind: String, count: Int)
    /// Handshake: the two peers have no protocol version in common.
    case noCommonVersion(ours: ClosedRange<UInt16>, theirs: ClosedRange<UInt16>)
    /// Handshake: the peer is not the shard this side expected.
    case wrongShard(expected: String, actual: String)
    /// A message arrived that is not allowed in the current state (for example a batch before
    /// the handshake finished).
    case unexpectedMessage(kind: String, state: String)
    /// The peer sent an `Error` message and the connection ends.
    case peerError(code: UInt16, message: String)

    public var description: String {
        switch self {
        case let .frameTooLong(length, limit):
            "frame length \(length) exceeds limit \(limit)"
        case let .frameTooShort(length):
            "frame length \(length) is shorter than the \(FrameHeader.fixedOverhead) bytes of kind, version, flags and checksum"
        case let .truncated(buffered):
            "stream ended inside a frame (\(buffered) bytes of it received)"
        case let .badChecksum(expected, actual):
            "frame checksum mismatch: frame says 0x\(hex(expected)), content gives 0x\(hex(actual))"
        case let .unknownKind(kind):
            "unknown message kind \(kind)"
        case let .unsupportedFlags(flags):
            "frame flags 0x\(hex(UInt32(flags))) are not supported by this build"
        case let .unsupportedVersion(kind, version, supported):
            "\(kind) version \(version) is not supported (this build decodes \(supported.lowerBound)...\(supported.upperBound))"
        case let .malformedField(name, reason):
            "malformed field \(name): \(reason)"
        case let .trailingBytes(kind, count):
            "\(kind) has \(count) unexpected bytes after its last field"
        case let .noCommonVersion(ours, theirs):
            "no common protocol version: we speak \(ours.lowerBound)...\(ours.upperBound), peer speaks \(theirs.lowerBound)...\(theirs.upperBound)"
        case let .wrongShard(expected, actual):
            "connected to shard '\(actual)' but expected shard '\(expected)'"
        case let .unexpectedMessage(kind, state):
            "unexpected \(kind) message while \(state)"
        case let .peerError(code, message):
            "peer sent error \(code): \(message)"
        }
    }
}

private func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
}
