import Model
import Testing
@testable import Wire

private func hello(_ versions: ClosedRange<UInt16> = 1...1, shard: String? = nil) -> Hello {
    Hello(minProtocolVersion: versions.lowerBound, maxProtocolVersion: versions.upperBound,
          role: .collector, nodeID: "collector-1", softwareVersion: "test", expectedShardID: shard)
}

/// Runs both machines against each other through encoded frames, as the I/O layer would.
private func converse(client: inout ClientHandshake, server: inout ServerHandshake)
    throws -> (client: [HandshakeAction], server: [HandshakeAction]) {
    var clientActions: [HandshakeAction] = []
    var serverActions: [HandshakeAction] = []
    for case let .send(message) in client.start() {
        let received = try Message(frameBytes: try message.encodeFrame())
        serverActions = server.receive(received)
    }
    for case let .send(message) in serverActions {
        let received = try Message(frameBytes: try message.encodeFrame())
        clientActions = client.receive(received)
    }
    return (clientActions, serverActions)
}

@Test func handshakeAgreesOnVersionShardAndLimits() throws {
    var client = ClientHandshake(hello: hello(shard: "shard-a"), maxFrameLength: 1 << 20)
    var server = ServerHandshake(shardID: "shard-a", nodeID: "sessiond-1", maxFrameLength: 4 << 20, maxInFlightBatches: 4)
    let (clientActions, serverActions) = try converse(client: &client, server: &server)
    let ack = HelloAck(chosenProtocolVersion: 1, shardID: "shard-a", nodeID: "sessiond-1",
                       maxFrameLength: 4 << 20, maxInFlightBatches: 4)
    #expect(serverActions == [
        .send(.helloAck(ack)),
        .ready(NegotiatedConnection(protocolVersion: 1, shardID: "shard-a", peerNodeID: "collector-1",
                                    clientRole: .collector, maxFrameLength: 4 << 20, maxInFlightBatches: 4)),
    ])
    #expect(clientActions == [
        .ready(NegotiatedConnection(protocolVersion: 1, shardID: "shard-a", peerNodeID: "sessiond-1",
                                    clientRole: .collector, maxFrameLength: 1 << 20, maxInFlightBatches: 4)),
    ])
    #expect(client.isDone && server.isDone)
}

@Test(arguments: [
    (1...1, 1...1, UInt16?.some(1)),
    (1...3, 2...5, 3),
    (2...5, 1...3, 3),
    (4...6, 1...3, nil),
    (1...2, 3...4, nil),
    (1...9, 5...5, 5),
] as [(ClosedRange<UInt16>, ClosedRange<UInt16>, UInt16?)])
func highestCommonVersionIsChosen(_ clientRange: ClosedRange<UInt16>, _ serverRange: ClosedRange<UInt16>,
                                  _ expected: UInt16?) throws {
    #expect(highestCommonVersion(clientRange, serverRange) == expected)
    var server = ServerHandshake(shardID: "s", nodeID: "n", versions: serverRange)
    let actions = server.receive(.hello(hello(clientRange)))
    if let expected {
        guard case let .send(.helloAck(ack)) = actions.first else { Issue.record("no ack: \(actions)"); return }
        #expect(ack.chosenProtocolVersion == expected)
    } else {
        let error = WireError.noCommonVersion(ours: serverRange, theirs: clientRange)
        #expect(actions == [.send(.error(ErrorMessage(code: .unsupportedVersion, message: error.description))), .close(error)])
    }
}

@Test func serverRefusesAClientThatExpectsAnotherShard() throws {
    var client = ClientHandshake(hello: hello(shard: "shard-a"))
    var server = ServerHandshake(shardID: "shard-b", nodeID: "sessiond-2")
    let (clientActions, serverActions) = try converse(client: &client, server: &server)
    let error = WireError.wrongShard(expected: "shard-a", actual: "shard-b")
    #expect(serverActions == [.send(.error(ErrorMessage(code: .wrongShard, message: error.description))), .close(error)])
    #expect(clientActions == [.close(.peerError(code: ErrorCode.wrongShard.rawValue, message: error.description))])
}

@Test func clientWithoutExpectationAcceptsAnyShard() throws {
    var client = ClientHandshake(hello: hello())
    var server = ServerHandshake(shardID: "shard-z", nodeID: "n")
    let (clientActions, _) = try converse(client: &client, server: &server)
    guard case let .ready(negotiated)? = clientActions.first else { Issue.record("\(clientActions)"); return }
    #expect(negotiated.shardID == "shard-z")
}

@Test func clientChecksTheAckItself() {
    // A server that ignores the expected shard, or picks a version the client never offered.
    var client = ClientHandshake(hello: hello(1...2, shard: "a"))
    _ = client.start()
    #expect(client.receive(.helloAck(HelloAck(chosenProtocolVersion: 1, shardID: "b", nodeID: "n",
                                              maxFrameLength: 100, maxInFlightBatches: 1)))
        == [.close(.wrongShard(expected: "a", actual: "b"))])
    var other = ClientHandshake(hello: hello(1...2))
    _ = other.start()
    #expect(other.receive(.helloAck(HelloAck(chosenProtocolVersion: 3, shardID: "b", nodeID: "n",
                                             maxFrameLength: 100, maxInFlightBatches: 1)))
        == [.close(.noCommonVersion(ours: 1...2, theirs: 3...3))])
}

@Test func clientRefusesAFrameLimitTooSmallForBatches() {
    let minimum = FrameHeader.minimumNegotiatedFrameLength
    for tooSmall: UInt32 in [0, 100, UInt32(minimum - 1)] {
        var client = ClientHandshake(hello: hello())
        _ = client.start()
        let error = WireError.malformedField(
            name: "HelloAck.maxFrameLength",
            reason: "\(tooSmall) bytes is below the minimum of \(minimum); raise the server's frame limit")
        #expect(client.receive(.helloAck(HelloAck(chosenProtocolVersion: 1, shardID: "b", nodeID: "n",
                                                  maxFrameLength: tooSmall, maxInFlightBatches: 4)))
            == [.send(.error(ErrorMessage(error))), .close(error)])
    }
    var exact = ClientHandshake(hello: hello())
    _ = exact.start()
    let actions = exact.receive(.helloAck(HelloAck(chosenProtocolVersion: 1, shardID: "b", nodeID: "n",
                                                   maxFrameLength: UInt32(minimum), maxInFlightBatches: 4)))
    guard case .ready(let parameters) = actions.first else {
        Issue.record("expected ready, got \(actions)")
        return
    }
    #expect(parameters.maxFrameLength == minimum)
}

@Test(arguments: [(UInt32(0), 1), (1, 1), (8, 8), (64, 64), (65, 64), (UInt32.max, 64)])
func inFlightWindowIsCutToTheClientsOwnLimit(offered: UInt32, expected: Int) {
    var client = ClientHandshake(hello: hello(), maxInFlightBatches: 64)
    _ = client.start()
    let actions = client.receive(.helloAck(HelloAck(chosenProtocolVersion: 1, shardID: "b", nodeID: "n",
                                                    maxFrameLength: 1 << 20, maxInFlightBatches: offered)))
    guard case .ready(let parameters) = actions.first else {
        Issue.record("expected ready, got \(actions)")
        return
    }
    #expect(parameters.maxInFlightBatches == expected)
}

@Test func messagesOutOfOrderCloseTheConnection() {
    var server = ServerHandshake(shardID: "s", nodeID: "n")
    let batch = Message.eventBatch(EventBatch(batchID: BatchID(producer: 1, epoch: 1, sequence: 1), beacons: []))
    let error = WireError.unexpectedMessage(kind: "EventBatch", state: "awaiting Hello")
    #expect(server.receive(batch) == [.send(.error(ErrorMessage(code: .unexpectedMessage, message: error.description))), .close(error)])

    var client = ClientHandshake(hello: hello())
    _ = client.start()
    #expect(client.receive(.ping(Ping(nonce: 1))) == [.close(.unexpectedMessage(kind: "Ping", state: "awaiting HelloAck"))])
    // A second Hello after the handshake is a protocol violation too.
    var done = ServerHandshake(shardID: "s", nodeID: "n")
    _ = done.receive(.hello(hello()))
    #expect(done.receive(.hello(hello())) == [.close(.unexpectedMessage(kind: "Hello", state: "handshake finished"))])
}

@Test func decodingFailureBeforeHandshakeIsReportedToThePeer() {
    var server = ServerHandshake(shardID: "s", nodeID: "n")
    let error = WireError.frameTooLong(length: 1 << 30, limit: 16 << 20)
    #expect(server.decodingFailed(error) == [.send(.error(ErrorMessage(code: .frameTooLong, message: error.description))), .close(error)])
}

@Test func startIsIdempotent() {
    var client = ClientHandshake(hello: hello())
    #expect(client.start() == [.send(.hello(hello()))])
    #expect(client.start() == [])
}
