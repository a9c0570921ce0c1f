// The connection handshake as pure state machines (the NIO idea: value types whose methods
// return what the I/O layer must do). The client sends Hello; the server answers HelloAck with
// the highest common protocol version, or Error and closes when there is none or when the
// client expected another shard.
//
//   client                         server
//     |--- Hello(min..max, role, node, expectedShard?) -->|
//     |<-- HelloAck(version, shard, limits) --------------|   both ready
//     |<-- Error(code, message), then close --------------|   refused

/// What the I/O layer must do next, in order.
public enum HandshakeAction: Sendable, Hashable {
    /// Encode (with `Message.encodeFrame()`) and send this message.
    case send(Message)
    /// Close the connection; `error` says why, for the log.
    case close(WireError)
    /// The handshake is over: use these parameters for the rest of the connection.
    case ready(NegotiatedConnection)
}

/// What both sides agreed on.
public struct NegotiatedConnection: Sendable, Hashable {
    public var protocolVersion: UInt16
    public var shardID: String
    /// The peer's node id (the server's for a client, the client's for a server).
    public var peerNodeID: String
    /// The client's role, as it announced it.
    public var clientRole: Role
    /// Frames must not be longer than this in either direction (the smaller of both limits).
    public var maxFrameLength: Int
    public var maxInFlightBatches: Int

    public init(protocolVersion: UInt16, shardID: String, peerNodeID: String, clientRole: Role,
                maxFrameLength: Int, maxInFlightBatches: Int) {
        self.protocolVersion = protocolVersion
        self.shardID = shardID
        self.peerNodeID = peerNodeID
        self.clientRole = clientRole
        self.maxFrameLength = maxFrameLength
        self.maxInFlightBatches = maxInFlightBatches
    }
}

/// The highest version in both ranges, or nil when they do not overlap.
public func highestCommonVersion(_ a: ClosedRange<UInt16>, _ b: ClosedRange<UInt16>) -> UInt16? {
    let low = max(a.lowerBound, b.lowerBound)
    let high = min(a.upperBound, b.upperBound)
    return low <= high ? high : nil
}

/// The connecting side (a collector, or the `clickpath` tool).
public struct ClientHandshake: Sendable {
    /// The most batches a client keeps unacknowledged unless told otherwise.
    public static let defaultMaxInFlightBatches = 64

    public let hello: Hello
    public let maxFrameLength: Int
    /// The client's own bound on unacknowledged batches: a server's larger window is cut to it.
    public let maxInFlightBatches: Int
    private var state = State.idle

    private enum State: Sendable { case idle, awaitingAck, done }

    /// `hello.expectedShardID`, when set, is also checked against the server's HelloAck.
    public init(hello: Hello, maxFrameLength: Int = FrameHeader.defaultMaxFrameLength,
                maxInFlightBatches: Int = ClientHandshake.defaultMaxInFlightBatches) {
        self.hello = hello
        self.maxFrameLength = maxFrameLength
        self.maxInFlightBatches = max(1, maxInFlightBatches)
    }

    public var isDone: Bool { if case .done = state { true } else { false } }

    /// Call once the connection is open.
    public mutating func start() -> [HandshakeAction] {
        guard case .idle = state else { return [] }
        state = .awaitingAck
        return [.send(.hello(hello))]
    }

    public mutating func receive(_ message: Message) -> [HandshakeAction] {
        guard case .awaitingAck = state else {
            return [.close(.unexpectedMessage(kind: message.kind.name, state: "handshake \(state)"))]
        }
        state = .done
        switch message {
        case let .helloAck(ack):
            let ours = hello.minProtocolVersion...max(hello.minProtocolVersion, hello.maxProtocolVersion)
            guard ours.contains(ack.chosenProtocolVersion) else {
                return [.close(.noCommonVersion(ours: ours, theirs: ack.chosenProtocolVersion...ack.chosenProtocolVersion))]
            }
            if let expected = hello.expectedShardID, expected != ack.shardID {
                return [.close(.wrongShard(expected: expected, actual: ack.shardID))]
            }
            // A frame limit too small for ordinary batches would fail every send later; refuse it now.
            let minimum = FrameHeader.minimumNegotiatedFrameLength
            guard Int(ack.maxFrameLength) >= minimum else {
                let error = WireError.malformedField(
                    name: "HelloAck.maxFrameLength",
                    reason: "\(ack.maxFrameLength) bytes is below the minimum of \(minimum); raise the server's frame limit")
                return [.send(.error(ErrorMessage(error))), .close(error)]
            }
            return [.ready(NegotiatedConnection(
                protocolVersion: ack.chosenProtocolVersion, shardID: ack.shardID, peerNodeID: ack.nodeID,
                clientRole: hello.role, maxFrameLength: min(maxFrameLength, Int(ack.maxFrameLength)),
                maxInFlightBatches: min(maxInFlightBatches, max(1, Int(ack.maxInFlightBatches)))))]
        case let .error(error):
            return [.close(.peerError(code: error.code.rawValue, message: error.message))]
        default:
            return [.close(.unexpectedMessage(kind: message.kind.name, state: "awaiting HelloAck"))]
        }
    }
}

/// The accepting side (sessiond).
public struct ServerHandshake: Sendable {
    public let shardID: String
    public let nodeID: String
    public let versions: ClosedRange<UInt16>
    public let maxFrameLength: Int
    public let maxInFlightBatches: Int
    private var done = false

    public init(shardID: String, nodeID: String, versions: ClosedRange<UInt16> = WireProtocol.versions,
                maxFrameLength: Int = FrameHeader.defaultMaxFrameLength, maxInFlightBatches: Int = 8) {
        self.shardID = shardID
        self.nodeID = nodeID
        self.versions = versions
        self.maxFrameLength = maxFrameLength
        self.maxInFlightBatches = maxInFlightBatches
    }

    public var isDone: Bool { done }

    public mutating func receive(_ message: Message) -> [HandshakeAction] {
        guard !done else {
            return [.close(.unexpectedMessage(kind: message.kind.name, state: "handshake finished"))]
        }
        done = true
        guard case let .hello(hello) = message else {
            return refuse(.unexpectedMessage(kind: message.kind.name, state: "awaiting Hello"))
        }
        let theirs = hello.minProtocolVersion...max(hello.minProtocolVersion, hello.maxProtocolVersion)
        guard let version = highestCommonVersion(versions, theirs) else {
            return refuse(.noCommonVersion(ours: versions, theirs: theirs))
        }
        if let expected = hello.expectedShardID, expected != shardID {
            return refuse(.wrongShard(expected: expected, actual: shardID))
        }
        let frameLimit = UInt32(clamping: maxFrameLength)
        let ack = HelloAck(chosenProtocolVersion: version, shardID: shardID, nodeID: nodeID,
                           maxFrameLength: frameLimit, maxInFlightBatches: UInt32(clamping: maxInFlightBatches))
        return [.send(.helloAck(ack)),
                .ready(NegotiatedConnection(protocolVersion: version, shardID: shardID, peerNodeID: hello.nodeID,
                                            clientRole: hello.role, maxFrameLength: Int(frameLimit),
                                            maxInFlightBatches: max(1, maxInFlightBatches)))]
    }

    /// Call when the frame decoder failed before the handshake finished: tell the peer why.
    public mutating func decodingFailed(_ error: WireError) -> [HandshakeAction] {
        done = true
        return refuse(error)
    }

    private func refuse(_ error: WireError) -> [HandshakeAction] {
        [.send(.error(ErrorMessage(error))), .close(error)]
    }
}
