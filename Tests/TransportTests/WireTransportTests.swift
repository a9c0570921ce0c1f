#if canImport(Glibc)
import Model
import Glibc
#endif
import Dispatch
import Synchronization
import Testing
import Wire
@testable import Transport

/// Polls `condition` (every 2 ms, at most `seconds`): waits for an event, never for a timeout.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Syscalls.monotonicNanoseconds() + UInt64(seconds * 1e9)
    while Syscalls.monotonicNanoseconds() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}

/// Two round trips through each loop: events already readable are processed and the timers
/// due at the loop's clock have run (a sync point, not a wait for time to pass).
func settle(_ loops: [EventLoop]) {
    for _ in 0..<2 {
        for loop in loops {
            let done = DispatchSemaphore(value: 0)
            loop.execute { done.signal() }
            done.wait()
        }
    }
}

final class WireRecorder: Sendable {
    struct State {
        var serverReady: [NegotiatedConnection] = []
        var batches: [BatchID] = []
        var clientReady: [NegotiatedConnection] = []
        var acks: [BatchID] = []
        var disconnects: [WireCloseReason] = []
        var outstanding = 0
        var maxOutstanding = 0
        var pausedConnection: WireConnection? = nil
    }
    let state = Mutex(State())
    func read<T>(_ body: (State) -> T) -> T { state.withLock { body($0) } }
}

func batchFrame(_ sequence: UInt64) -> (BatchID, [UInt8]) {
    let id = BatchID(producer: 7, epoch: 1, sequence: sequence)
    let frame = try! EventBatch(batchID: id, beacons: []).encodeFrame()
    return (id, frame)
}

enum AckMode { case immediately, later, never, pauseAfterFirst }

func startWireServer(on loop: EventLoop, port: UInt16 = 0, shard: String = "s1", window: Int = 8,
                     recorder: WireRecorder, ack: AckMode = .immediately) throws -> WireServer {
    let handlers = WireServerHandlers(
        ready: { _, parameters in recorder.state.withLock { $0.serverReady.append(parameters) } },
        message: { connection, message in
            guard case .eventBatch(let batch) = message else { return }
            let first = recorder.state.withLock { state -> Bool in
                state.batches.append(batch.batchID)
                state.outstanding += 1
                state.maxOutstanding = max(state.maxOutstanding, state.outstanding)
                return state.batches.count == 1
            }
            let reply = {
                recorder.state.withLock { $0.outstanding -= 1 }
                connection.send(.batchAck(BatchAck(batchID: batch.batchID, outcome: .committed, acceptedEvents: 0, duplicateEvents: 0)))
            }
            switch ack {
            case .immediately: reply()
            case .later: connection.loop.schedule(afterNanoseconds: 5_000_000) { reply() }
            case .never: break
            case .pauseAfterFirst:
                reply()
                if first {
                    connection.pauseReading()
                    recorder.state.withLock { $0.pausedConnection = connection }
                }
            }
        })
    return try WireServer.start(port: port, identity: WireServerIdentity(shardID: shard, nodeID: "sessiond-1", maxInFlightBatches: window),
                                on: [loop], handlers: handlers)
}

func makeWireClient(loop: EventLoop, port: UInt16, recorder: WireRecorder, hello: Hello? = nil,
                    settings: WireSettings = WireSettings()) -> WireClient {
    let handlers = WireClientHandlers(
        ready: { parameters in recorder.state.withLock { $0.clientReady.append(parameters) } },
        message: { message in
            if case .batchAck(let ack) = message { recorder.state.withLock { $0.acks.append(ack.batchID) } }
        },
        disconnected: { reason, _ in recorder.state.withLock { $0.disconnects.append(reason) } })
    return WireClient(loop: loop, address: SocketAddress(host: "127.0.0.1", port: port)!,
                      hello: hello ?? Hello(role: .collector, nodeID: "collector-1", softwareVersion: "test", expectedShardID: "s1"),
                      settings: settings, backoff: ReconnectBackoff(initial: 0.01, maximum: 0.05), random: { 0.5 },
                      handlers: handlers)
}

@Suite struct WireTransportTests {
    @Test func handshakeThenBatchesWithinTheWindow() throws {
        let loop = try EventLoop.start(name: "wire-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try startWireServer(on: loop, window: 2, recorder: recorder, ack: .later)
        defer { server.stop() }
        let client = makeWireClient(loop: loop, port: server.port, recorder: recorder)
        client.start()
        defer { client.stop() }
        for sequence: UInt64 in 1...6 {
            let (id, frame) = batchFrame(sequence)
            client.sendBatch(id: id, frame: frame)
        }
        #expect(eventually { recorder.read { $0.acks.count } == 6 })
        let state = recorder.read { $0 }
        #expect(state.serverReady.first?.shardID == "s1")
        #expect(state.serverReady.first?.peerNodeID == "collector-1")
        #expect(state.clientReady.first?.peerNodeID == "sessiond-1")
        #expect(state.clientReady.first?.maxInFlightBatches == 2)
        #expect(state.batches.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        #expect(state.maxOutstanding <= 2)
        #expect(client.status.inFlightBatches == 0)
    }

    @Test func wrongVersionIsRefused() throws {
        let loop = try EventLoop.start(name: "wire-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try startWireServer(on: loop, recorder: recorder)
        defer { server.stop() }
        let client = makeWireClient(loop: loop, port: server.port, recorder: recorder,
                                    hello: Hello(minProtocolVersion: 7, maxProtocolVersion: 9, role: .collector, nodeID: "c", softwareVersion: "future"))
        client.start()
        defer { client.stop() }
        #expect(eventually { !recorder.read { $0.disconnects }.isEmpty })
        guard case .protocolError(.peerError(let code, let message)) = recorder.read({ $0.disconnects.first }) else {
            Issue.record("expected the server's Error, got \(recorder.read { $0.disconnects })")
            return
        }
        #expect(code == ErrorCode.unsupportedVersion.rawValue)
        #expect(message.contains("version"))
        #expect(recorder.read { $0.serverReady.isEmpty && $0.clientReady.isEmpty })
    }

    @Test func wrongShardIsRefused() throws {
        let loop = try EventLoop.start(name: "wire-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try startWireServer(on: loop, shard: "s1", recorder: recorder)
        defer { server.stop() }
        let client = makeWireClient(loop: loop, port: server.port, recorder: recorder,
                                    hello: Hello(role: .collector, nodeID: "c", softwareVersion: "t", expectedShardID: "s2"))
        client.start()
        defer { client.stop() }
        #expect(eventually { !recorder.read { $0.disconnects }.isEmpty })
        guard case .protocolError(.peerError(let code, _)) = recorder.read({ $0.disconnects.first }) else {
            Issue.record("expected the server's Error, got \(recorder.read { $0.disconnects })")
            return
        }
        #expect(code == ErrorCode.wrongShard.rawValue)
        #expect(recorder.read { $0.clientReady.isEmpty })
    }

    @Test func reconnectsAfterServerRestartAndResendsUnackedBatches() throws {
        let serverLoop = try EventLoop.start(name: "wire-server")
        let clientLoop = try EventLoop.start(name: "wire-client")
        defer {
            clientLoop.stop(); clientLoop.waitUntilStopped()
            serverLoop.stop(); serverLoop.waitUntilStopped()
        }
        let first = WireRecorder()
        let server1 = try startWireServer(on: serverLoop, recorder: first, ack: .never)
        let port = server1.port
        let clientRecorder = WireRecorder()
        let client = makeWireClient(loop: clientLoop, port: port, recorder: clientRecorder)
        client.start()
        defer { client.stop() }
        let (id1, frame1) = batchFrame(1)
        client.sendBatch(id: id1, frame: frame1)
        // The first server receives the batch but dies before acknowledging it.
        #expect(eventually { first.read { $0.batches } == [id1] })
        server1.stop()
        #expect(eventually { !clientRecorder.read { $0.disconnects }.isEmpty })
        let (id2, frame2) = batchFrame(2)
        client.sendBatch(id: id2, frame: frame2)
        // The restarted server, same port: the client comes back and re-sends both.
        let second = WireRecorder()
        let server2 = try startWireServer(on: serverLoop, port: port, recorder: second, ack: .immediately)
        defer { server2.stop() }
        #expect(eventually { clientRecorder.read { $0.acks } == [id1, id2] })
        #expect(second.read { $0.batches } == [id1, id2])
        #expect(client.status.connections == 2)
        #expect(client.status.inFlightBatches == 0)
    }

    @Test func goAwayMakesTheClientReconnect() throws {
        let loop = try EventLoop.start(name: "wire-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try startWireServer(on: loop, recorder: recorder)
        defer { server.stop() }
        let client = makeWireClient(loop: loop, port: server.port, recorder: recorder)
        client.start()
        defer { client.stop() }
        #expect(eventually { client.status.connected })
        server.goAway(reason: "restarting", drainMilliseconds: 1000)
        #expect(eventually { client.status.connections == 2 && client.status.connected })
        guard case .goAway(let reason) = recorder.read({ $0.disconnects.first }) else {
            Issue.record("expected GoAway, got \(recorder.read { $0.disconnects })")
            return
        }
        #expect(reason == "restarting")
    }

    @Test func pingsKeepTheConnectionAlive() throws {
        let clock = ManualClock()
        let loop = try EventLoop.start(name: "wire-test", clock: clock)
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try startWireServer(on: loop, recorder: recorder)
        defer { server.stop() }
        var settings = WireSettings()
        settings.pingInterval = 5
        settings.deadPeerTimeout = 20
        let client = makeWireClient(loop: loop, port: server.port, recorder: recorder, settings: settings)
        client.start()
        defer { client.stop() }
        #expect(eventually { client.status.connected })
        // Three dead-peer timeouts of quiet traffic, one liveness tick at a time.
        for _ in 0..<24 {
            clock.advance(bySeconds: 2.5)
            settle([loop])
        }
        // At least one ping answered per dead-peer period, or the connection would have dropped.
        #expect(eventually { client.status.pongsReceived >= 3 })
        #expect(client.status.connections == 1)
        #expect(recorder.read { $0.disconnects.isEmpty })
    }

    @Test func pausedReadingHoldsBatchesUntilResumed() throws {
        let loop = try EventLoop.start(name: "wire-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try startWireServer(on: loop, window: 8, recorder: recorder, ack: .pauseAfterFirst)
        defer { server.stop() }
        let client = makeWireClient(loop: loop, port: server.port, recorder: recorder)
        client.start()
        defer { client.stop() }
        for sequence: UInt64 in 1...4 {
            let (id, frame) = batchFrame(sequence)
            client.sendBatch(id: id, frame: frame)
        }
        #expect(eventually { recorder.read { $0.acks.count } == 1 && client.status.inFlightBatches == 3 })
        // The three other batches are in the server's socket; a read the pause failed to stop
        // would happen within these loop iterations.
        settle([loop])
        // The consumer is full: nothing more is read until it resumes.
        #expect(recorder.read { $0.batches.count } == 1)
        recorder.read { $0.pausedConnection }?.resumeReading()
        #expect(eventually { recorder.read { $0.acks.count } == 4 })
    }

    @Test func backoffIsCappedExponentialWithJitter() {
        let backoff = ReconnectBackoff(initial: 0.1, maximum: 10, multiplier: 2)
        #expect(backoff.delay(attempt: 0, random: 0) == 0.05)
        #expect(backoff.delay(attempt: 0, random: 0.999_999) < 0.1)
        #expect(backoff.delay(attempt: 3, random: 0) == 0.4)
        #expect(abs(backoff.delay(attempt: 3, random: 0.5) - 0.6) < 1e-9)
        #expect(backoff.delay(attempt: 50, random: 0) == 5)
        #expect(backoff.delay(attempt: 1000, random: 0.999) <= 10)
        #expect(backoff.delay(attempt: -1, random: 2) == 0.1)
    }
}

/// A hand-played server: accepts one connection, optionally answers the Hello, then goes silent.
final class SilentWireServer: @unchecked Sendable {
    let listener: Int32
    let port: UInt16
    var accepted: Int32 = -1

    init() throws {
        (listener, port) = try Loopback.listen(backlog: 4)
    }

    /// Accepts, reads the client's Hello, answers HelloAck when asked to, then never reads again.
    func acceptAndGoSilent(answerHello: Bool) {
        accepted = accept(listener, nil, nil)
        var buffer = [UInt8](repeating: 0, count: 4096)
        _ = recv(accepted, &buffer, buffer.count, 0)
        if answerHello {
            let ack = try! Message.helloAck(HelloAck(chosenProtocolVersion: WireProtocol.versions.upperBound, shardID: "s1",
                                                     nodeID: "silent", maxFrameLength: 1 << 20, maxInFlightBatches: 4)).encodeFrame()
            _ = ack.withUnsafeBytes { send(accepted, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    deinit {
        close(accepted)
        close(listener)
    }
}

@Suite struct WireLivenessTests {
    @Test(arguments: [true, false])
    func silentPeerIsDroppedAfterTheTimeout(answerHello: Bool) throws {
        let clock = ManualClock()
        let loop = try EventLoop.start(name: "wire-liveness", clock: clock)
        defer { loop.stop(); loop.waitUntilStopped() }
        let silent = try SilentWireServer()
        let recorder = WireRecorder()
        var settings = WireSettings()
        settings.pingInterval = 5
        settings.deadPeerTimeout = 20
        settings.handshakeTimeout = 10
        settings.connectTimeout = 5
        let client = makeWireClient(loop: loop, port: silent.port, recorder: recorder, settings: settings)
        client.start()
        defer { client.stop() }
        silent.acceptAndGoSilent(answerHello: answerHello)
        if answerHello { #expect(eventually { recorder.read { $0.clientReady.count } == 1 }) }
        settle([loop])
        // Silent since the clock's start: dropped at the first liveness tick (every 2.5 s) at
        // or past the limit, never before.
        let limit = answerHello ? settings.deadPeerTimeout : settings.connectTimeout + settings.handshakeTimeout
        var elapsed = 0.0
        while recorder.read({ $0.disconnects.isEmpty }) && elapsed < 60 {
            clock.advance(bySeconds: 2.5)
            elapsed += 2.5
            settle([loop])
        }
        #expect(elapsed >= limit && elapsed < limit + 2.5)
        guard case .timedOut(let what) = recorder.read({ $0.disconnects.first }) else {
            Issue.record("expected a timeout, got \(recorder.read { $0.disconnects })")
            return
        }
        #expect(what.contains(answerHello ? "no frame from" : "handshake"))
        #expect(recorder.read { $0.clientReady.count } == (answerHello ? 1 : 0))
    }
}
