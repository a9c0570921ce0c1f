/// A message of the protocol with its own schema versions. Each encodes its payload for a
/// given version and decodes every version in `versions`.
import Model

public protocol WireMessage: Sendable, Hashable {
    static var kind: MessageKind { get }
    /// The schema versions this build encodes and decodes (Kafka's `validVersions`).
    static var versions: ClosedRange<UInt16> { get }
    func encodePayload(into writer: inout ByteWriter, version: UInt16)
    init(payload reader: inout ByteReader, version: UInt16) throws(WireError)
    /// A guess of the payload size, so encoding a frame rarely regrows its buffer.
    var payloadSizeHint: Int { get }
}

extension WireMessage {
    public var payloadSizeHint: Int { 256 }
}

extension WireMessage {
    /// The whole frame, checksum included: the bytes to send, or to spool and re-send as is.
    public func encodeFrame(version: UInt16 = Self.versions.upperBound,
                            maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) throws(WireError) -> [UInt8] {
        guard Self.versions.contains(version) else {
            throw .unsupportedVersion(kind: Self.kind.name, version: version, supported: Self.versions)
        }
        var frame = FrameWriter(kind: Self.kind, version: version, payloadCapacity: payloadSizeHint)
        encodePayload(into: &frame.payload, version: version)
        return try frame.finish(maxFrameLength: maxFrameLength)
    }

    /// Decodes a payload of this kind at `version`; every byte must belong to a field.
    public init(payload: UnsafeRawBufferPointer, version: UInt16) throws(WireError) {
        guard Self.versions.contains(version) else {
            throw .unsupportedVersion(kind: Self.kind.name, version: version, supported: Self.versions)
        }
        var reader = ByteReader(payload)
        try self.init(payload: &reader, version: version)
        guard reader.isAtEnd else { throw .trailingBytes(kind: Self.kind.name, count: reader.remaining) }
    }

    /// Decodes one complete frame of this kind, in place.
    public init(frameBytes: [UInt8], maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) throws(WireError) {
        self = try withBytes(frameBytes) { (raw) throws(WireError) -> Self in
            let header = try FrameDecoder.checkComplete(raw, maxFrameLength: maxFrameLength)
            guard header.kind == Self.kind else {
                throw .unexpectedMessage(kind: header.kind.name, state: "expecting \(Self.kind.name)")
            }
            let message = try Self(payload: UnsafeRawBufferPointer(rebasing: raw[header.payload]), version: header.version)
            try FrameDecoder.checkNothingAfter(header, in: raw)
            return message
        }
    }
}

/// Any message, as the frame decoder returns it.
public enum Message: Sendable, Hashable {
    case hello(Hello)
    case helloAck(HelloAck)
    case error(ErrorMessage)
    case ping(Ping)
    case pong(Pong)
    case goAway(GoAway)
    case eventBatch(EventBatch)
    case batchAck(BatchAck)

    public var kind: MessageKind {
        switch self {
        case .hello: .hello
        case .helloAck: .helloAck
        case .error: .error
        case .ping: .ping
        case .pong: .pong
        case .goAway: .goAway
        case .eventBatch: .eventBatch
        case .batchAck: .batchAck
        }
    }

    /// The schema versions this build decodes for `kind`.
    public static func versions(of kind: MessageKind) -> ClosedRange<UInt16> {
        switch kind {
        case .hello: Hello.versions
        case .helloAck: HelloAck.versions
        case .error: ErrorMessage.versions
        case .ping: Ping.versions
        case .pong: Pong.versions
        case .goAway: GoAway.versions
        case .eventBatch: EventBatch.versions
        case .batchAck: BatchAck.versions
        }
    }

    public init(kind: MessageKind, version: UInt16, payload: UnsafeRawBufferPointer) throws(WireError) {
        switch kind {
        case .hello: self = .hello(try Hello(payload: payload, version: version))
        case .helloAck: self = .helloAck(try HelloAck(payload: payload, version: version))
        case .error: self = .error(try ErrorMessage(payload: payload, version: version))
        case .ping: self = .ping(try Ping(payload: payload, version: version))
        case .pong: self = .pong(try Pong(payload: payload, version: version))
        case .goAway: self = .goAway(try GoAway(payload: payload, version: version))
        case .eventBatch: self = .eventBatch(try EventBatch(payload: payload, version: version))
        case .batchAck: self = .batchAck(try BatchAck(payload: payload, version: version))
        }
    }

    public init(frame: Frame) throws(WireError) {
        self = try withBytes(frame.payload) { (raw) throws(WireError) -> Message in
            try Message(kind: frame.kind, version: frame.version, payload: raw)
        }
    }

    /// Decodes one complete frame, in place.
    public init(frameBytes: [UInt8], maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) throws(WireError) {
        self = try withBytes(frameBytes) { (raw) throws(WireError) -> Message in
            let header = try FrameDecoder.checkComplete(raw, maxFrameLength: maxFrameLength)
            let message = try Message(kind: header.kind, version: header.version,
                                      payload: UnsafeRawBufferPointer(rebasing: raw[header.payload]))
            try FrameDecoder.checkNothingAfter(header, in: raw)
            return message
        }
    }

    /// Encodes at the message version that `protocolVersion` prescribes for this kind.
    public func encodeFrame(protocolVersion: UInt16 = WireProtocol.versions.upperBound,
                            maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) throws(WireError) -> [UInt8] {
        let version = WireProtocol.messageVersion(kind, protocolVersion: protocolVersion)
        switch self {
        case let .hello(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        case let .helloAck(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        case let .error(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        case let .ping(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        case let .pong(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        case let .goAway(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        case let .eventBatch(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        case let .batchAck(m): return try m.encodeFrame(version: version, maxFrameLength: maxFrameLength)
        }
    }
}

/// Protocol versions, negotiated in the handshake. A protocol version fixes the schema version
/// of every message kind sent on the connection.
public enum WireProtocol {
    /// The protocol versions this build speaks.
    public static let versions: ClosedRange<UInt16> = 1...1

    /// The schema version of `kind` used under `protocolVersion`. Hello, HelloAck and Error are
    /// exchanged before a version is agreed, so they always use their version 1 layout; they
    /// grow through tagged fields only.
    public static func messageVersion(_ kind: MessageKind, protocolVersion: UInt16) -> UInt16 {
        switch kind {
        case .hello, .helloAck, .error: 1
        case .ping, .pong, .goAway, .eventBatch, .batchAck: 1
        }
    }
}

// MARK: - Handshake messages

/// What kind of node opened the connection.
public enum Role: UInt8, Sendable, Hashable, CaseIterable {
    case collector = 0
    case sessiond = 1
    case client = 2
}

/// First message of a connection, sent by the side that connected.
public struct Hello: WireMessage {
    public static let kind = MessageKind.hello
    public static let versions: ClosedRange<UInt16> = 1...1

    /// The protocol versions the sender speaks.
    public var minProtocolVersion: UInt16
    public var maxProtocolVersion: UInt16
    public var role: Role
    /// Stable identity of the sending node, for logs and metrics.
    public var nodeID: String
    public var softwareVersion: String
    /// The shard the sender means to reach; the server refuses the connection if it is another.
    public var expectedShardID: String?

    public init(minProtocolVersion: UInt16 = WireProtocol.versions.lowerBound,
                maxProtocolVersion: UInt16 = WireProtocol.versions.upperBound,
                role: Role, nodeID: String, softwareVersion: String, expectedShardID: String? = nil) {
        self.minProtocolVersion = minProtocolVersion
        self.maxProtocolVersion = maxProtocolVersion
        self.role = role
        self.nodeID = nodeID
        self.softwareVersion = softwareVersion
        self.expectedShardID = expectedShardID
    }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        writer.uvarint(UInt64(minProtocolVersion))
        writer.uvarint(UInt64(maxProtocolVersion))
        writer.uint8(role.rawValue)
        writer.string(nodeID)
        writer.string(softwareVersion)
        if let expectedShardID {
            var body = ByteWriter()
            body.string(expectedShardID)
            writer.taggedFields([(tag: 0, body: body.bytes)])
        } else {
            writer.noTaggedFields()
        }
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        minProtocolVersion = try reader.uvarint("Hello.minProtocolVersion", as: UInt16.self)
        maxProtocolVersion = try reader.uvarint("Hello.maxProtocolVersion", as: UInt16.self)
        let rawRole = try reader.uint8("Hello.role")
        guard let role = Role(rawValue: rawRole) else {
            throw .malformedField(name: "Hello.role", reason: "unknown role \(rawRole)")
        }
        self.role = role
        nodeID = try reader.string("Hello.nodeID")
        softwareVersion = try reader.string("Hello.softwareVersion")
        var expectedShardID: String? = nil
        try reader.taggedFields("Hello") { (tag, body) throws(WireError) -> Bool in
            guard tag == 0 else { return false }
            expectedShardID = try body.string("Hello.expectedShardID")
            return true
        }
        self.expectedShardID = expectedShardID
    }
}

/// The server's answer to an acceptable `Hello`.
public struct HelloAck: WireMessage {
    public static let kind = MessageKind.helloAck
    public static let versions: ClosedRange<UInt16> = 1...1

    /// The highest protocol version both sides speak.
    public var chosenProtocolVersion: UInt16
    /// The server's stable shard id.
    public var shardID: String
    public var nodeID: String
    /// The largest frame length the server accepts.
    public var maxFrameLength: UInt32
    /// How many unacknowledged batches the client may have in flight.
    public var maxInFlightBatches: UInt32

    public init(chosenProtocolVersion: UInt16, shardID: String, nodeID: String,
                maxFrameLength: UInt32, maxInFlightBatches: UInt32) {
        self.chosenProtocolVersion = chosenProtocolVersion
        self.shardID = shardID
        self.nodeID = nodeID
        self.maxFrameLength = maxFrameLength
        self.maxInFlightBatches = maxInFlightBatches
    }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        writer.uvarint(UInt64(chosenProtocolVersion))
        writer.string(shardID)
        writer.string(nodeID)
        writer.uvarint(UInt64(maxFrameLength))
        writer.uvarint(UInt64(maxInFlightBatches))
        writer.noTaggedFields()
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        chosenProtocolVersion = try reader.uvarint("HelloAck.chosenProtocolVersion", as: UInt16.self)
        shardID = try reader.string("HelloAck.shardID")
        nodeID = try reader.string("HelloAck.nodeID")
        maxFrameLength = try reader.uvarint("HelloAck.maxFrameLength", as: UInt32.self)
        maxInFlightBatches = try reader.uvarint("HelloAck.maxInFlightBatches", as: UInt32.self)
        try reader.taggedFields("HelloAck") { (_, _) throws(WireError) -> Bool in false }
    }
}

/// Error codes of the `Error` message. Open set: a code from a newer peer decodes as is.
public struct ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// No protocol version in common.
    public static let unsupportedVersion = ErrorCode(rawValue: 1)
    /// The Hello expected another shard.
    public static let wrongShard = ErrorCode(rawValue: 2)
    /// A frame or message could not be decoded.
    public static let malformed = ErrorCode(rawValue: 3)
    /// A frame exceeded the receiver's limit.
    public static let frameTooLong = ErrorCode(rawValue: 4)
    /// A message arrived in a state that does not allow it.
    public static let unexpectedMessage = ErrorCode(rawValue: 5)
    /// The receiver is overloaded; retry later.
    public static let overloaded = ErrorCode(rawValue: 6)
    /// The receiver failed internally.
    public static let internalError = ErrorCode(rawValue: 7)

    public static let known: [(String, ErrorCode)] = [
        ("unsupportedVersion", .unsupportedVersion), ("wrongShard", .wrongShard), ("malformed", .malformed),
        ("frameTooLong", .frameTooLong), ("unexpectedMessage", .unexpectedMessage),
        ("overloaded", .overloaded), ("internalError", .internalError),
    ]

    public var description: String {
        Self.known.first(where: { $0.1 == self })?.0 ?? "\(rawValue)"
    }

    /// The code to send the peer before closing because of `error`.
    public init(for error: WireError) {
        switch error {
        case .frameTooLong: self = .frameTooLong
        case .noCommonVersion, .unsupportedVersion: self = .unsupportedVersion
        case .wrongShard: self = .wrongShard
        case .unexpectedMessage: self = .unexpectedMessage
        case .frameTooShort, .truncated, .badChecksum, .unknownKind, .unsupportedFlags,
             .malformedField, .trailingBytes, .peerError:
            self = .malformed
        }
    }
}

/// Sent before closing a connection because of an error.
public struct ErrorMessage: WireMessage {
    public static let kind = MessageKind.error
    public static let versions: ClosedRange<UInt16> = 1...1

    public var code: ErrorCode
    /// What went wrong, for the peer's log.
    public var message: String

    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    public init(_ error: WireError) {
        self.init(code: ErrorCode(for: error), message: error.description)
    }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        writer.uvarint(UInt64(code.rawValue))
        writer.string(message)
        writer.noTaggedFields()
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        code = ErrorCode(rawValue: try reader.uvarint("Error.code", as: UInt16.self))
        message = try reader.string("Error.message")
        try reader.taggedFields("Error") { (_, _) throws(WireError) -> Bool in false }
    }
}

// MARK: - Connection messages

/// Liveness probe; the peer answers with a `Pong` carrying the same nonce.
public struct Ping: WireMessage {
    public static let kind = MessageKind.ping
    public static let versions: ClosedRange<UInt16> = 1...1
    public var nonce: UInt64
    public init(nonce: UInt64) { self.nonce = nonce }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        writer.uvarint(nonce)
        writer.noTaggedFields()
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        nonce = try reader.uvarint("Ping.nonce")
        try reader.taggedFields("Ping") { (_, _) throws(WireError) -> Bool in false }
    }
}

public struct Pong: WireMessage {
    public static let kind = MessageKind.pong
    public static let versions: ClosedRange<UInt16> = 1...1
    public var nonce: UInt64
    public init(nonce: UInt64) { self.nonce = nonce }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        writer.uvarint(nonce)
        writer.noTaggedFields()
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        nonce = try reader.uvarint("Pong.nonce")
        try reader.taggedFields("Pong") { (_, _) throws(WireError) -> Bool in false }
    }
}

/// The sender will close the connection: send nothing new, finish within the deadline.
public struct GoAway: WireMessage {
    public static let kind = MessageKind.goAway
    public static let versions: ClosedRange<UInt16> = 1...1
    public var reason: String
    /// Milliseconds from receipt during which outstanding batches are still acknowledged.
    public var drainDeadlineMs: UInt32

    public init(reason: String, drainDeadlineMs: UInt32) {
        self.reason = reason
        self.drainDeadlineMs = drainDeadlineMs
    }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        writer.string(reason)
        writer.uvarint(UInt64(drainDeadlineMs))
        writer.noTaggedFields()
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        reason = try reader.string("GoAway.reason")
        drainDeadlineMs = try reader.uvarint("GoAway.drainDeadlineMs", as: UInt32.self)
        try reader.taggedFields("GoAway") { (_, _) throws(WireError) -> Bool in false }
    }
}

/// How sessiond handled a batch.
public enum BatchOutcome: UInt8, Sendable, Hashable, CaseIterable {
    /// Durable now (committed to SQLite).
    case committed = 0
    /// This batch id was committed before; nothing applied again.
    case duplicate = 1
    /// Not applied and never will be (see `reason`); the sender moves it to its dead letters.
    case rejected = 2
}

/// sessiond's answer to an `EventBatch`, sent once the outcome is durable.
public struct BatchAck: WireMessage {
    public static let kind = MessageKind.batchAck
    public static let versions: ClosedRange<UInt16> = 1...1

    public var batchID: BatchID
    public var outcome: BatchOutcome
    /// Events stored by this batch.
    public var acceptedEvents: UInt32
    /// Events of this batch already stored before (same app, visitor, event id).
    public var duplicateEvents: UInt32
    /// Why the batch was rejected; empty otherwise.
    public var reason: String

    public init(batchID: BatchID, outcome: BatchOutcome, acceptedEvents: UInt32,
                duplicateEvents: UInt32, reason: String = "") {
        self.batchID = batchID
        self.outcome = outcome
        self.acceptedEvents = acceptedEvents
        self.duplicateEvents = duplicateEvents
        self.reason = reason
    }

    public func encodePayload(into writer: inout ByteWriter, version: UInt16) {
        writer.batchID(batchID)
        writer.uint8(outcome.rawValue)
        writer.uvarint(UInt64(acceptedEvents))
        writer.uvarint(UInt64(duplicateEvents))
        writer.string(reason)
        writer.noTaggedFields()
    }

    public init(payload reader: inout ByteReader, version: UInt16) throws(WireError) {
        batchID = try reader.batchID()
        let rawOutcome = try reader.uint8("BatchAck.outcome")
        guard let outcome = BatchOutcome(rawValue: rawOutcome) else {
            throw .malformedField(name: "BatchAck.outcome", reason: "unknown outcome \(rawOutcome)")
        }
        self.outcome = outcome
        acceptedEvents = try reader.uvarint("BatchAck.acceptedEvents", as: UInt32.self)
        duplicateEvents = try reader.uvarint("BatchAck.duplicateEvents", as: UInt32.self)
        reason = try reader.string("BatchAck.reason")
        try reader.taggedFields("BatchAck") { (_, _) throws(WireError) -> Bool in false }
    }
}

extension ByteWriter {
    @inlinable mutating func batchID(_ id: BatchID) {
        uvarint(id.producer)
        uvarint(UInt64(id.epoch))
        uvarint(id.sequence)
    }
}

extension ByteReader {
    @inlinable mutating func batchID() throws(WireError) -> BatchID {
        BatchID(producer: try uvarint("BatchID.producer"),
                epoch: try uvarint("BatchID.epoch", as: UInt32.self),
                sequence: try uvarint("BatchID.sequence"))
    }
}
