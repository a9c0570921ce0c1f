// One Wire connection (collector <-> sessiond) on an event loop, either side. The pure
// handshake state machines and FrameDecoder of `Wire` decide; this class only does the I/O:
// reads frames, performs handshake actions, answers pings, watches for a dead peer, and lets
// the consumer pause reading when it is full (backpressure reaches the sender through TCP).
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Wire
import System

/// Timing and size settings of Wire connections.
public struct WireSettings: Sendable, Hashable {
    /// Seconds without any frame from the peer after which we send a Ping.
    public var pingInterval: Double = 5
    /// Seconds without any frame from the peer (a Pong included) after which it is taken for dead.
    public var deadPeerTimeout: Double = 20
    /// Seconds the handshake may take after the TCP connection is up.
    public var handshakeTimeout: Double = 10
    /// Seconds a client's TCP connect may take.
    public var connectTimeout: Double = 5
    /// Largest frame accepted once the handshake is done (the handshake lowers it to what both
    /// sides allow).
    public var maxFrameLength = FrameHeader.defaultMaxFrameLength
    /// Largest frame accepted before the handshake is done: a Hello or HelloAck fits in a few
    /// hundred bytes, so a peer that has not said who it is cannot make us buffer megabytes.
    public var maxHandshakeFrameLength = 8 * 1024
    /// Wire connections a server keeps open at once, handshakes included (sessiond's
    /// `--max-wire-connections`); one more is accepted and closed at once.
    public var maxConnections = 256

    public init() {}
}

/// Why a Wire connection ended.
public enum WireCloseReason: Sendable, Hashable, CustomStringConvertible {
    /// A protocol failure: ours (we sent the peer an Error first) or the peer's Error message
    /// (`WireError.peerError`), e.g. no common version or the wrong shard.
    case protocolError(WireError)
    /// A socket error (connection refused, reset).
    case io(SyscallError)
    /// The peer closed the connection.
    case peerClosed
    /// The handshake, the connect, or the peer's liveness timed out.
    case timedOut(String)
    /// The peer asked us to go away (GoAway) and the drain finished.
    case goAway(String)
    /// We closed it (stop, shutdown).
    case local

    public var description: String {
        switch self {
        case .protocolError(let error): "protocol error: \(error)"
        case .io(let error): "\(error)"
        case .peerClosed: "peer closed the connection"
        case .timedOut(let what): "timed out: \(what)"
        case .goAway(let reason): "peer sent GoAway: \(reason)"
        case .local: "closed locally"
        }
    }
}

public final class WireConnection: EventLoopHandler, @unchecked Sendable {
    public enum Role: Sendable { case client, server }

    public let loop: EventLoop
    public let role: Role
    public let peer: SocketAddress
    /// What the handshake agreed on; nil until it finished.
    public private(set) var negotiated: NegotiatedConnection?
    /// Pongs received (liveness is working), for tests and metrics.
    public private(set) var pongsReceived = 0
    public private(set) var isClosed = false

    private var socket: FileDescriptor?
    private let fd: Int32
    private let settings: WireSettings
    private var connecting: Bool
    private var serverHandshake: ServerHandshake?
    private var clientHandshake: ClientHandshake?
    private var decoder: FrameDecoder
    private var input = ByteBuffer(capacity: 16 * 1024)
    private var output = ByteBuffer(capacity: 4 * 1024)
    private var paused = false
    private var processing = false
    private var peerClosed = false
    private var closeAfterFlush: WireCloseReason? = nil
    private let openedAt: UInt64
    /// When the TCP connection was up: the handshake timeout counts from here.
    private var connectedAt: UInt64
    private var lastReceived: UInt64
    private var pingNonce: UInt64 = 0

    // Set by the owner (WireServer, WireClient) on the loop thread.
    var onReady: ((WireConnection, NegotiatedConnection) -> Void)?
    var onMessage: ((WireConnection, Message) -> Void)?
    var onClose: ((WireConnection, WireCloseReason) -> Void)?

    init(socket: consuming FileDescriptor, peer: SocketAddress, loop: EventLoop, role: Role, connecting: Bool,
         settings: WireSettings, serverHandshake: ServerHandshake? = nil, clientHandshake: ClientHandshake? = nil) {
        self.fd = socket.rawValue
        self.socket = consume socket
        self.peer = peer
        self.loop = loop
        self.role = role
        self.connecting = connecting
        self.settings = settings
        self.serverHandshake = serverHandshake
        self.clientHandshake = clientHandshake
        self.decoder = FrameDecoder(maxFrameLength: min(settings.maxHandshakeFrameLength, settings.maxFrameLength))
        self.openedAt = loop.now
        self.connectedAt = loop.now
        self.lastReceived = loop.now
    }

    /// Registers with the loop and starts the handshake (or waits for the connect to finish).
    func start() {
        try? Syscalls.setIntOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
        do {
            try loop.register(fd: fd, events: EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue, handler: self)
        } catch {
            close(.io(error))
            return
        }
        scheduleTick()
        if !connecting { connected() }
    }

    private func connected() {
        connecting = false
        connectedAt = loop.now
        lastReceived = loop.now
        if var handshake = clientHandshake {
            let actions = handshake.start()
            clientHandshake = handshake
            perform(actions)
        }
    }

    // MARK: public API (any thread)

    /// Sends a message (encoded at the negotiated protocol version). Dropped once closed.
    public func send(_ message: Message) {
        onLoop { $0.enqueue(message) }
    }

    /// Sends an already encoded frame (a spooled batch, re-sent byte for byte).
    public func send(frame: [UInt8]) {
        onLoop { connection in
            connection.output.append(frame)
            connection.flushIfIdle()
        }
    }

    /// Stops reading: frames stay in the socket and TCP pushes back on the sender. For a
    /// consumer that is full; call `resumeReading()` when it has room again.
    public func pauseReading() {
        onLoop { $0.paused = true }
    }

    public func resumeReading() {
        onLoop { connection in
            guard connection.paused, !connection.isClosed else { return }
            connection.paused = false
            connection.processing = true
            connection.deliverDecoded()
            if !connection.paused { connection.readAvailable() }
            connection.processing = false
            connection.flushIfIdle()
            connection.finishIfPeerClosed()
        }
    }

    /// Tells the peer to go away (shutdown): it stops sending new batches, waits for its
    /// in-flight acks up to `drainMilliseconds`, then closes. We close at that deadline anyway.
    public func goAway(reason: String, drainMilliseconds: UInt32) {
        onLoop { connection in
            connection.enqueue(.goAway(GoAway(reason: reason, drainDeadlineMs: drainMilliseconds)))
            connection.loop.schedule(afterNanoseconds: UInt64(drainMilliseconds) * 1_000_000 + 1_000_000) { [weak connection] in
                connection?.close(.local)
            }
        }
    }

    /// Closes the connection (the owner is told through its close handler).
    public func close() {
        onLoop { $0.close(.local) }
    }

    private func onLoop(_ body: @escaping (WireConnection) -> Void) {
        if loop.inEventLoop {
            body(self)
        } else {
            let box = UncheckedBox(body)
            loop.execute { [self] in box.value(self) }
        }
    }

    // MARK: events

    public func handleEvents(_ events: UInt32) {
        if isClosed { return }
        if connecting {
            guard events & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 else { return }
            let error = Syscalls.socketError(fd)
            if error != 0 {
                close(.io(SyscallError("connect \(peer)", errno: error)))
                return
            }
            connected()
        }
        processing = true
        if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readAvailable()
        }
        processing = false
        if isClosed { return }
        flush()
        finishIfPeerClosed()
    }

    public func loopWillStop() {
        close(.local)
    }

    private func readAvailable() {
        while !isClosed && !paused {
            input.start = 0
            input.end = 0
            let count: Int?
            do {
                count = try Syscalls.read(fd, input.writePointer, input.writable)
            } catch {
                close(.io(error))
                return
            }
            guard let count else { return }
            if count == 0 {
                peerClosed = true
                return
            }
            lastReceived = loop.now
            decoder.append(UnsafeRawBufferPointer(start: input.readPointer, count: count))
            deliverDecoded()
        }
    }

    /// Hands every complete frame to the handshake or the owner, until paused.
    private func deliverDecoded() {
        while !isClosed && !paused {
            let message: Message?
            do {
                message = try decoder.nextMessage()
            } catch {
                fail(error)
                return
            }
            guard let message else { return }
            handle(message)
        }
    }

    private func handle(_ message: Message) {
        guard negotiated != nil else {
            if var handshake = serverHandshake {
                let actions = handshake.receive(message)
                serverHandshake = handshake
                perform(actions)
            } else if var handshake = clientHandshake {
                let actions = handshake.receive(message)
                clientHandshake = handshake
                perform(actions)
            }
            return
        }
        switch message {
        case .ping(let ping):
            enqueue(.pong(Pong(nonce: ping.nonce)))
        case .pong:
            pongsReceived += 1
            onMessage?(self, message)
        case .error(let error):
            close(.protocolError(.peerError(code: error.code.rawValue, message: error.message)))
        case .hello, .helloAck:
            fail(.unexpectedMessage(kind: message.kind.name, state: "connection established"))
        default:
            onMessage?(self, message)
        }
    }

    /// A protocol failure on our side: tell the peer why, then close.
    private func fail(_ error: WireError) {
        if negotiated == nil, var handshake = serverHandshake {
            let actions = handshake.decodingFailed(error)
            serverHandshake = handshake
            perform(actions)
            return
        }
        enqueue(.error(ErrorMessage(error)))
        closeAfterFlush = .protocolError(error)
        flush()
    }

    private func perform(_ actions: [HandshakeAction]) {
        for action in actions {
            switch action {
            case .send(let message):
                enqueue(message)
            case .close(let error):
                closeAfterFlush = .protocolError(error)
                flush()
                return
            case .ready(let parameters):
                negotiated = parameters
                // Frames the peer sent right behind its handshake stay buffered; from the next
                // length prefix on, the negotiated limit applies.
                decoder.setMaxFrameLength(parameters.maxFrameLength)
                onReady?(self, parameters)
            }
        }
        flushIfIdle()
    }

    private func enqueue(_ message: Message) {
        guard !isClosed else { return }
        let version = negotiated?.protocolVersion ?? WireProtocol.versions.upperBound
        let limit = negotiated?.maxFrameLength ?? settings.maxFrameLength
        do {
            output.append(try message.encodeFrame(protocolVersion: version, maxFrameLength: limit))
        } catch {
            // Our own message does not fit the peer's limits: a bug or a misconfiguration.
            close(.protocolError(error))
            return
        }
        flushIfIdle()
    }

    private func flushIfIdle() {
        if !processing && !connecting { flush() }
    }

    private func flush() {
        while !isClosed && !connecting && output.readable > 0 {
            let written: Int?
            do {
                written = try Syscalls.write(fd, output.readPointer, output.readable)
            } catch {
                close(.io(error))
                return
            }
            guard let written else { break }
            output.consume(written)
        }
        // After an Error message: close whether or not the peer took all of it (a peer that
        // does not read must not keep the connection).
        if let reason = closeAfterFlush { close(reason) }
        if output.capacity > 1 << 20 && output.readable == 0 { output.shrink(to: 4096) }
    }

    private func finishIfPeerClosed() {
        if peerClosed && !isClosed { close(.peerClosed) }
    }

    // MARK: liveness

    private func scheduleTick() {
        let interval = max(min(settings.pingInterval, settings.handshakeTimeout, settings.connectTimeout) / 2, 0.001)
        loop.schedule(afterNanoseconds: UInt64(interval * 1e9)) { [weak self] in self?.tick() }
    }

    private func tick() {
        guard !isClosed else { return }
        let now = loop.now
        let silent = Double(now &- lastReceived) / 1e9
        if connecting {
            if Double(now &- openedAt) / 1e9 >= settings.connectTimeout {
                close(.timedOut("connect to \(peer) took over \(settings.connectTimeout) s"))
                return
            }
        } else if negotiated == nil {
            if Double(now &- connectedAt) / 1e9 >= settings.handshakeTimeout {
                close(.timedOut("handshake with \(peer) took over \(settings.handshakeTimeout) s"))
                return
            }
        } else if silent >= settings.deadPeerTimeout {
            close(.timedOut("no frame from \(peer) for \(settings.deadPeerTimeout) s"))
            return
        } else if silent >= settings.pingInterval {
            pingNonce &+= 1
            enqueue(.ping(Ping(nonce: pingNonce)))
        }
        scheduleTick()
    }

    // MARK: closing

    func close(_ reason: WireCloseReason) {
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(fd: fd)
        socket = nil
        input.deallocate()
        output.deallocate()
        let handler = onClose
        onReady = nil
        onMessage = nil
        onClose = nil
        handler?(self, reason)
    }
}

/// Carries a non-Sendable closure to the loop thread, where it alone runs.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

