#if canImport(Glibc)
import Glibc
#endif
import Model
import Dispatch
import Synchronization
import Testing
import Wire
@testable import Transport
import System

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
                return state.batches.count == 1
            }
            let reply = {
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
    @Test func handshakeThenFramesGoOutAsTheyAreSentAndAcksComeBack() throws {
        let loop = try EventLoop.start(name: "wire-test")
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try startWireServer(on: loop, window: 2, recorder: recorder, ack: .later)
        defer { server.stop() }
        let client = makeWireClient(loop: loop, port: server.port, recorder: recorder)
        client.start()
        defer { client.stop() }
        #expect(eventually { client.status.connected })
        for sequence: UInt64 in 1...6 {
            let (_, frame) = batchFrame(sequence)
            client.send(frame: frame)
        }
        #expect(eventually { recorder.read { $0.acks.count } == 6 })
        let state = recorder.read { $0 }
        #expect(state.serverReady.first?.shardID == "s1")
        #expect(state.serverReady.first?.peerNodeID == "collector-1")
        #expect(state.clientReady.first?.peerNodeID == "sessiond-1")
        // The window is announced to the owner, which keeps to it (the collector's SendWindow).
        #expect(state.clientReady.first?.maxInFlightBatches == 2)
        #expect(state.batches.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        #expect(state.acks.map(\.sequence) == [1, 2, 3, 4, 5, 6])
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

    @Test func reconnectsAfterServerRestartAndLeavesResendingToItsOwner() throws {
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
        #expect(eventually { client.status.connected })
        let (id1, frame1) = batchFrame(1)
        client.send(frame: frame1)
        // The first server receives the batch but dies before acknowledging it.
        #expect(eventually { first.read { $0.batches } == [id1] })
        server1.stop()
        #expect(eventually { !clientRecorder.read { $0.disconnects }.isEmpty })
        // A frame sent while the connection is down is dropped, not queued.
        let (_, frame2) = batchFrame(2)
        client.send(frame: frame2)
        // The restarted server, same port: the client comes back and says so; what to re-send
        // is its owner's to decide.
        let second = WireRecorder()
        let server2 = try startWireServer(on: serverLoop, port: port, recorder: second, ack: .immediately)
        defer { server2.stop() }
        #expect(eventually { client.status.connections == 2 && client.status.connected })
        #expect(clientRecorder.read { $0.clientReady.count } == 2)
        let (id3, frame3) = batchFrame(3)
        client.send(frame: frame3)
        #expect(eventually { clientRecorder.read { $0.acks } == [id3] })
        #expect(second.read { $0.batches } == [id3])
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
        let loop = try EventLoop.start(name: "wire-test", clock: clock.clock)
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
        #expect(eventually { client.status.connected })
        for sequence: UInt64 in 1...4 {
            let (_, frame) = batchFrame(sequence)
            client.send(frame: frame)
        }
        #expect(eventually { recorder.read { $0.acks.count } == 1 })
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
        let loop = try EventLoop.start(name: "wire-liveness", clock: clock.clock)
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
        let limit = answerHello ? settings.deadPeerTimeout : settings.handshakeTimeout
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

@Suite struct WireBackoffTests {
    /// A server that handshakes, then answers every batch with an Error and closes (sessiond
    /// whose commits fail). The client's waits grow to the maximum instead of starting over after
    /// each successful handshake; one acknowledged batch starts them over.
    @Test func reconnectsBackOffWhileBatchesFail() throws {
        let loop = try EventLoop.start(name: "wire-backoff")
        defer { loop.stop(); loop.waitUntilStopped() }
        let failing = Atomic<Bool>(true)
        let handlers = WireServerHandlers(message: { connection, message in
            guard case .eventBatch(let batch) = message else { return }
            if failing.load(ordering: .relaxed) {
                connection.send(.error(ErrorMessage(code: .internalError, message: "batch not stored: disk full")))
                connection.close()
            } else {
                connection.send(.batchAck(BatchAck(batchID: batch.batchID, outcome: .committed, acceptedEvents: 0, duplicateEvents: 0)))
            }
        })
        let server = try WireServer.start(identity: WireServerIdentity(shardID: "s1", nodeID: "sessiond-1"), on: [loop],
                                          handlers: handlers)
        defer { server.stop() }
        let waits = Mutex<[Double]>([])
        let acks = Atomic<Int>(0)
        // The owner's part (the collector's SendWindow): the unacknowledged frame is sent again
        // after every handshake until its ack comes.
        let pending = Mutex<[UInt8]?>(nil)
        let owner = Mutex<WireClient?>(nil)
        let client = WireClient(loop: loop, address: SocketAddress(host: "127.0.0.1", port: server.port)!,
                                hello: Hello(role: .collector, nodeID: "c", softwareVersion: "test", expectedShardID: "s1"),
                                backoff: ReconnectBackoff(initial: 0.01, maximum: 0.08, multiplier: 2), random: { 0 },
                                handlers: WireClientHandlers(ready: { _ in
                                    if let frame = pending.withLock({ $0 }) { owner.withLock { $0 }?.send(frame: frame) }
                                }, message: { message in
                                    if case .batchAck = message {
                                        pending.withLock { $0 = nil }
                                        acks.add(1, ordering: .relaxed)
                                    }
                                }, disconnected: { _, retryIn in waits.withLock { $0.append(retryIn) } }))
        owner.withLock { $0 = client }
        let (_, frame) = batchFrame(1)
        pending.withLock { $0 = frame }
        client.start()
        defer { client.stop() }
        #expect(eventually { waits.withLock { $0.count } >= 6 })
        // random 0: each wait is half its cap, 0.01 doubling up to 0.08.
        #expect(Array(waits.withLock { $0 }.prefix(6)) == [0.005, 0.01, 0.02, 0.04, 0.04, 0.04])
        failing.store(false, ordering: .relaxed)
        #expect(eventually { acks.load(ordering: .relaxed) == 1 })
        #expect(eventually { client.status.connected })
        let before = waits.withLock { $0.count }
        failing.store(true, ordering: .relaxed)
        let (_, frame2) = batchFrame(2)
        pending.withLock { $0 = frame2 }
        client.send(frame: frame2)
        #expect(eventually { waits.withLock { $0.count } > before })
        #expect(waits.withLock { $0[before] } == 0.005)
    }
}

@Suite struct WireServerLimitTests {
    /// A client that sends half a Hello and stops: the server closes it at the handshake timeout
    /// (10 s, as the README says), counted from the connect.
    @Test func aTruncatedHelloIsClosedAtTheHandshakeTimeout() throws {
        let clock = ManualClock()
        let loop = try EventLoop.start(name: "wire-hello", clock: clock.clock)
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try WireServer.start(identity: WireServerIdentity(shardID: "s1", nodeID: "n"), on: [loop],
                                          handlers: WireServerHandlers(message: { _, _ in }, closed: { _, reason in
                                              recorder.state.withLock { $0.disconnects.append(reason) }
                                          }))
        defer { server.stop() }
        let hello = try Message.hello(Hello(role: .collector, nodeID: "c", softwareVersion: "t")).encodeFrame()
        let fd = try Loopback.connect(port: server.port)
        defer { close(fd) }
        _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count / 2, Int32(MSG_NOSIGNAL)) }
        settle([loop])
        let limit = WireSettings().handshakeTimeout
        #expect(limit == 10)
        var elapsed = 0.0
        while recorder.read({ $0.disconnects.isEmpty }) && elapsed < 60 {
            clock.advance(bySeconds: 0.5)
            elapsed += 0.5
            settle([loop])
        }
        #expect(elapsed >= limit && elapsed <= limit + 2.5, "closed after \(elapsed) s")
        guard case .timedOut(let what) = recorder.read({ $0.disconnects.first }) else {
            Issue.record("expected a timeout, got \(recorder.read { $0.disconnects })")
            return
        }
        #expect(what.contains("handshake"))
    }

    /// Before the handshake only a small frame is accepted: a length prefix announcing 16 MiB
    /// is refused as soon as its four bytes arrive.
    @Test func aLargeFrameBeforeTheHandshakeIsRefused() throws {
        let loop = try EventLoop.start(name: "wire-prefix")
        defer { loop.stop(); loop.waitUntilStopped() }
        let recorder = WireRecorder()
        let server = try WireServer.start(identity: WireServerIdentity(shardID: "s1", nodeID: "n"), on: [loop],
                                          handlers: WireServerHandlers(message: { _, _ in }, closed: { _, reason in
                                              recorder.state.withLock { $0.disconnects.append(reason) }
                                          }))
        defer { server.stop() }
        let fd = try Loopback.connect(port: server.port)
        defer { close(fd) }
        let prefix: [UInt8] = [0x01, 0x00, 0x00, 0x00]
        _ = prefix.withUnsafeBytes { send(fd, $0.baseAddress, 4, Int32(MSG_NOSIGNAL)) }
        #expect(eventually { !recorder.read { $0.disconnects }.isEmpty })
        guard case .protocolError(.frameTooLong(let length, let limit)) = recorder.read({ $0.disconnects.first }) else {
            Issue.record("expected frameTooLong, got \(recorder.read { $0.disconnects })")
            return
        }
        #expect(length == 1 << 24)
        #expect(limit == WireSettings().maxHandshakeFrameLength)
    }

    /// Over `maxConnections` a connection is told `overloaded` and closed; one closing makes room.
    @Test func connectionsOverTheLimitAreRefused() throws {
        let loop = try EventLoop.start(name: "wire-cap")
        defer { loop.stop(); loop.waitUntilStopped() }
        let refused = Atomic<Int>(0)
        let closed = Atomic<Int>(0)
        var settings = WireSettings()
        settings.maxConnections = 3
        let server = try WireServer.start(identity: WireServerIdentity(shardID: "s1", nodeID: "n"), settings: settings,
                                          on: [loop], handlers: WireServerHandlers(message: { _, _ in },
                                                                                   closed: { _, _ in closed.add(1, ordering: .relaxed) },
                                                                                   refused: { refused.add(1, ordering: .relaxed) }))
        defer { server.stop() }
        let kept = try (0..<3).map { _ in try Loopback.connect(port: server.port) }
        settle([loop])
        let extra = try Loopback.connect(port: server.port)
        #expect(eventually { refused.load(ordering: .relaxed) == 1 })
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(extra, &buffer, buffer.count, 0)
        decoder.append(buffer.prefix(max(0, n)))
        guard case .error(let error)? = try decoder.nextMessage() else {
            Issue.record("expected an Error message")
            return
        }
        #expect(error.code == .overloaded)
        #expect(recv(extra, &buffer, buffer.count, 0) == 0)
        close(extra)
        close(kept[0])
        #expect(eventually { closed.load(ordering: .relaxed) == 1 })
        let another = try Loopback.connect(port: server.port)
        settle([loop])
        #expect(refused.load(ordering: .relaxed) == 1)
        for fd in kept.dropFirst() + [another] { close(fd) }
    }
}
