// The two ends of Wire: a server that accepts connections on its loops (sessiond), and a
// client that keeps one connection up, re-sends unacknowledged batches after a reconnect and
// keeps at most the negotiated number of batches in flight (the collector and test clients).
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Dispatch
import Synchronization
import Wire
import System

/// What the server's owner hears, on the connection's loop thread.
public struct WireServerHandlers: Sendable {
    public var ready: @Sendable (WireConnection, NegotiatedConnection) -> Void
    /// Batches, acks, Pongs and GoAway after the handshake (Pings are answered and Errors close
    /// the connection inside).
    public var message: @Sendable (WireConnection, Message) -> Void
    public var closed: @Sendable (WireConnection, WireCloseReason) -> Void
    /// A connection was accepted over `WireSettings.maxConnections` and closed at once.
    public var refused: @Sendable () -> Void

    public init(ready: @escaping @Sendable (WireConnection, NegotiatedConnection) -> Void = { _, _ in },
                message: @escaping @Sendable (WireConnection, Message) -> Void,
                closed: @escaping @Sendable (WireConnection, WireCloseReason) -> Void = { _, _ in },
                refused: @escaping @Sendable () -> Void = {}) {
        self.ready = ready
        self.message = message
        self.closed = closed
        self.refused = refused
    }
}

/// The identity and limits a Wire server announces in its handshake.
public struct WireServerIdentity: Sendable {
    public var shardID: String
    public var nodeID: String
    public var versions: ClosedRange<UInt16>
    /// Batches a client may have unacknowledged on one connection.
    public var maxInFlightBatches: Int

    public init(shardID: String, nodeID: String, versions: ClosedRange<UInt16> = WireProtocol.versions, maxInFlightBatches: Int = 8) {
        self.shardID = shardID
        self.nodeID = nodeID
        self.versions = versions
        self.maxInFlightBatches = maxInFlightBatches
    }
}

public final class WireServer: Sendable {
    public let port: UInt16
    private let listeners: [WireListener]

    /// Listens on `host:port` (0 picks a port) with one SO_REUSEPORT socket per loop. At most
    /// `settings.maxConnections` connections are open at once over all loops: one more gets an
    /// `overloaded` Error and is closed at once.
    public static func start(host: String = "127.0.0.1", port: UInt16 = 0, identity: WireServerIdentity,
                             settings: WireSettings = WireSettings(), on loops: [EventLoop],
                             handlers: WireServerHandlers) throws(SyscallError) -> WireServer {
        guard var address = SocketAddress(host: host, port: port) else {
            throw SyscallError("parse listen address '\(host)'", errno: EINVAL)
        }
        var listeners: [WireListener] = []
        address = try Syscalls.claimAddress(address)
        let open = OpenConnections()
        for loop in loops {
            let socket = try Syscalls.listeningSocket(address, shared: loops.count > 1, backlog: 512)
            listeners.append(WireListener(socket: socket, loop: loop, identity: identity, settings: settings,
                                          handlers: handlers, open: open))
        }
        // Registration can fail (ENOMEM, ENOSPC from epoll): the caller hears it from start().
        do throws(SyscallError) {
            for listener in listeners {
                try listener.loop.runAndWait { () throws(SyscallError) in try listener.activate() }
            }
        } catch {
            for listener in listeners { listener.loop.execute { listener.closeAll() } }
            throw error
        }
        return WireServer(port: address.port, listeners: listeners)
    }

    private init(port: UInt16, listeners: [WireListener]) {
        self.port = port
        self.listeners = listeners
    }

    /// Stops listening and closes every connection. Blocks; do not call it from its loops.
    public func stop() {
        let done = DispatchSemaphore(value: 0)
        for listener in listeners {
            listener.loop.execute {
                listener.closeAll()
                done.signal()
            }
        }
        for _ in listeners { done.wait() }
    }

    /// Sends GoAway on every connection (graceful shutdown); each closes after the drain.
    public func goAway(reason: String, drainMilliseconds: UInt32) {
        for listener in listeners {
            listener.loop.execute {
                for connection in listener.connections.values {
                    connection.goAway(reason: reason, drainMilliseconds: drainMilliseconds)
                }
            }
        }
    }
}

final class WireListener: EventLoopHandler, @unchecked Sendable {
    let loop: EventLoop
    private var socket: FileDescriptor?
    private let fd: Int32
    private let identity: WireServerIdentity
    private let settings: WireSettings
    private let handlers: WireServerHandlers
    var connections: [ObjectIdentifier: WireConnection] = [:]
    private let open: OpenConnections
    /// Sent to a connection over the limit before it is closed.
    private let overloaded: [UInt8]

    init(socket: consuming FileDescriptor, loop: EventLoop, identity: WireServerIdentity, settings: WireSettings,
         handlers: WireServerHandlers, open: OpenConnections) {
        self.fd = socket.rawValue
        self.socket = consume socket
        self.loop = loop
        self.identity = identity
        self.settings = settings
        self.handlers = handlers
        self.open = open
        let message = "\(settings.maxConnections) Wire connections are open, the most this server keeps; retry later"
        overloaded = (try? Message.error(ErrorMessage(code: .overloaded, message: message)).encodeFrame()) ?? []
    }

    var isListening: Bool { socket != nil }

    /// Loop thread only.
    func activate() throws(SyscallError) {
        try loop.register(fd: fd, events: EPOLLIN.rawValue, handler: self)
    }

    func handleEvents(_ events: UInt32) {
        acceptPending(fd: fd, loop: loop, isListening: { [weak self] in self?.isListening ?? false }) { accepted, peer in
            guard open.claim(limit: settings.maxConnections) else {
                // Accepted only to say why and close: left in the backlog it would wait there.
                _ = overloaded.withUnsafeBytes { raw in try? Syscalls.write(accepted.rawValue, raw.baseAddress!, raw.count) }
                handlers.refused()
                return
            }
            let handshake = ServerHandshake(shardID: identity.shardID, nodeID: identity.nodeID, versions: identity.versions,
                                            maxFrameLength: settings.maxFrameLength, maxInFlightBatches: identity.maxInFlightBatches)
            let connection = WireConnection(socket: accepted, peer: peer, loop: loop, role: .server,
                                            connecting: false, settings: settings, serverHandshake: handshake)
            let handlers = self.handlers
            connection.onReady = { handlers.ready($0, $1) }
            connection.onMessage = { handlers.message($0, $1) }
            let open = self.open
            connection.onClose = { [weak self] connection, reason in
                self?.connections[ObjectIdentifier(connection)] = nil
                open.release()
                handlers.closed(connection, reason)
            }
            connections[ObjectIdentifier(connection)] = connection
            connection.start()
        }
    }

    func closeAll() {
        loop.deregister(fd: fd)
        socket = nil
        for connection in Array(connections.values) { connection.close(.local) }
    }

    func loopWillStop() {
        closeAll()
    }
}

/// Connections open on a server's listeners together (they may run on several loops).
final class OpenConnections: Sendable {
    private let count = Atomic<Int>(0)

    /// Counts one more connection if fewer than `limit` are open.
    func claim(limit: Int) -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release() { count.subtract(1, ordering: .relaxed) }
}

// MARK: - client

/// Capped exponential backoff with jitter: attempt n waits a random time in
/// [cap/2, cap], cap = min(maximum, initial * multiplier^n). Randomness is injected.
public struct ReconnectBackoff: Sendable, Hashable {
    public var initial: Double = 0.1
    public var maximum: Double = 10
    public var multiplier: Double = 2

    public init(initial: Double = 0.1, maximum: Double = 10, multiplier: Double = 2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    /// Seconds to wait before attempt `attempt` (0 = the first retry); `random` is in [0, 1).
    public func delay(attempt: Int, random: Double) -> Double {
        var cap = initial
        for _ in 0..<min(max(attempt, 0), 64) {
            cap *= multiplier
            if cap >= maximum { break }
        }
        cap = min(cap, maximum)
        let unit = min(max(random, 0), 1)
        return cap / 2 + cap / 2 * unit
    }
}

/// What the client's owner hears, on the client's loop thread.
public struct WireClientHandlers: Sendable {
    public var ready: @Sendable (NegotiatedConnection) -> Void
    /// Every message after the handshake (BatchAcks and GoAway included).
    public var message: @Sendable (Message) -> Void
    /// The connection ended; the client reconnects after `retryIn` seconds unless stopped.
    public var disconnected: @Sendable (_ reason: WireCloseReason, _ retryIn: Double) -> Void

    public init(ready: @escaping @Sendable (NegotiatedConnection) -> Void = { _ in },
                message: @escaping @Sendable (Message) -> Void = { _ in },
                disconnected: @escaping @Sendable (WireCloseReason, Double) -> Void = { _, _ in }) {
        self.ready = ready
        self.message = message
        self.disconnected = disconnected
    }
}

/// A point-in-time view of a client, readable from any thread.
public struct WireClientStatus: Sendable, Hashable {
    public var connected = false
    public var connections = 0
    public var pongsReceived = 0
}

/// Keeps one Wire connection to a server up, with reconnects, and moves frames. What is
/// unacknowledged, and so what to re-send after a reconnect, is the owner's (the collector's
/// `SendWindow`): the owner learns the window from `ready` and re-sends from there.
public final class WireClient: @unchecked Sendable {
    public let loop: EventLoop
    public let address: SocketAddress
    private let hello: Hello
    private let settings: WireSettings
    private let backoff: ReconnectBackoff
    private let random: @Sendable () -> Double
    private let handlers: WireClientHandlers
    private let statusBox = Mutex(WireClientStatus())

    // Loop-thread state.
    private var connection: WireConnection?
    private var attempt = 0
    /// A frame went out on this connection and no BatchAck came after it.
    private var awaitingAck = false
    private var stopped = false
    private var connectionCount = 0

    /// `hello.expectedShardID` makes the handshake refuse a server of another shard.
    /// `random` returns numbers in [0, 1) for the backoff jitter (inject a fixed one in tests).
    public init(loop: EventLoop, address: SocketAddress, hello: Hello, settings: WireSettings = WireSettings(),
                backoff: ReconnectBackoff = ReconnectBackoff(),
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
                handlers: WireClientHandlers) {
        self.loop = loop
        self.address = address
        self.hello = hello
        self.settings = settings
        self.backoff = backoff
        self.random = random
        self.handlers = handlers
    }

    public var status: WireClientStatus { statusBox.withLock { $0 } }

    public func start() {
        loop.execute { [self] in connect() }
    }

    /// Closes the connection and stops reconnecting. Unacknowledged batches are dropped here
    /// (the collector still has them in its spool).
    public func stop() {
        loop.execute { [self] in
            stopped = true
            connection?.close(.local)
            connection = nil
            updateStatus()
        }
    }

    /// Sends an encoded frame (a batch, byte for byte) if the connection is up and handshaken;
    /// dropped otherwise: the owner re-sends what is unacknowledged after the next `ready`.
    public func send(frame: [UInt8]) {
        loop.execute { [self] in
            if let connection, connection.negotiated != nil {
                connection.send(frame: frame)
                awaitingAck = true
            }
        }
    }

    /// Closes the current connection and reconnects at once (e.g. after a GoAway drained). On the
    /// loop thread (from a handler) it closes before anything else is read from the connection.
    public func reconnect(reason: String) {
        let close: @Sendable () -> Void = { [self] in connection?.close(.goAway(reason)) }
        if loop.inEventLoop { close() } else { loop.execute(close) }
    }

    /// Sends a message now if connected (dropped otherwise).
    public func send(_ message: Message) {
        loop.execute { [self] in
            if let connection, connection.negotiated != nil { connection.send(message) }
        }
    }

    // MARK: loop thread

    private func connect() {
        guard !stopped, connection == nil else { return }
        let socket: FileDescriptor
        do {
            socket = try Syscalls.socket(ipv6: address.isIPv6)
        } catch {
            scheduleReconnect(.io(error))
            return
        }
        let done: Bool
        do {
            done = try Syscalls.connect(socket.rawValue, address)
        } catch {
            scheduleReconnect(.io(error))
            return
        }
        let connection = WireConnection(socket: socket, peer: address, loop: loop, role: .client, connecting: !done,
                                        settings: settings,
                                        clientHandshake: ClientHandshake(hello: hello, maxFrameLength: settings.maxFrameLength))
        self.connection = connection
        connection.onReady = { [weak self] _, parameters in self?.ready(parameters) }
        connection.onMessage = { [weak self] _, message in self?.received(message) }
        connection.onClose = { [weak self] closed, reason in self?.closed(closed, reason) }
        connection.start()
    }

    private func ready(_ parameters: NegotiatedConnection) {
        awaitingAck = false
        connectionCount += 1
        updateStatus()
        handlers.ready(parameters)
    }

    private func received(_ message: Message) {
        if case .batchAck = message {
            // Progress: the next disconnect retries quickly again.
            attempt = 0
            awaitingAck = false
        }
        if case .goAway(let goAway) = message, let current = connection {
            // The owner stops sending and calls `reconnect` once its window drained; at the
            // deadline the connection closes anyway (the server restarts or hands over).
            loop.schedule(afterNanoseconds: UInt64(goAway.drainDeadlineMs) * 1_000_000) { [weak current] in
                current?.close(.goAway(goAway.reason))
            }
        }
        handlers.message(message)
        updateStatus()
    }

    private func closed(_ closedConnection: WireConnection, _ reason: WireCloseReason) {
        guard connection === closedConnection else { return }
        connection = nil
        // The backoff starts over only after a connection that did its job: a GoAway, a batch
        // acknowledged (see `received`), or one that ended with no frame waiting for an ack. A
        // handshake that succeeds is not enough: a server whose commits fail (a full disk)
        // closes every connection after its first batch, and reconnecting at once would loop
        // many times a second.
        if case .goAway = reason {
            attempt = 0
        } else if closedConnection.negotiated != nil && !awaitingAck {
            attempt = 0
        }
        scheduleReconnect(reason)
    }

    private func scheduleReconnect(_ reason: WireCloseReason) {
        updateStatus()
        guard !stopped else { return }
        let delay = backoff.delay(attempt: attempt, random: random())
        attempt += 1
        handlers.disconnected(reason, delay)
        loop.schedule(afterNanoseconds: UInt64(delay * 1e9)) { [weak self] in self?.connect() }
    }

    private func updateStatus() {
        let snapshot = WireClientStatus(connected: connection?.negotiated != nil, connections: connectionCount,
                                        pongsReceived: connection?.pongsReceived ?? 0)
        statusBox.withLock { $0 = snapshot }
    }
}
