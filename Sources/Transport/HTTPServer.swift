// The HTTP/1.1 server: one listening socket per loop (SO_REUSEPORT, so the kernel spreads
// connections), connections parsed and answered on their loop.
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Dispatch
import Synchronization
import System

public struct HTTPServerConfiguration: Sendable {
    /// Numeric address to listen on ("127.0.0.1", "0.0.0.0", "::").
    public var host = "127.0.0.1"
    /// 0 picks a free port; `HTTPServer.port` tells which.
    public var port: UInt16 = 0
    /// Event loops (threads), each accepting on its own socket.
    public var loopCount = 1
    public var limits = HTTPLimits()
    /// Edge-triggered epoll (fewer epoll_ctl calls); level-triggered when false.
    public var edgeTriggered = true
    public var backlog: Int32 = 1024
    /// The clock of the loops the server starts (timeouts).
    public var clock: DaemonClock = .system
    /// Name prefix of the loop threads.
    public var name = "http"

    public init() {}
}

/// State shared by the loops of one server.
final class HTTPServerShared: Sendable {
    let router: HTTPRouter
    let limits: HTTPLimits
    let connectionCount = Atomic<Int>(0)
    let busyResponse: [UInt8]

    init(router: HTTPRouter, limits: HTTPLimits) {
        self.router = router
        self.limits = limits
        let body = "{\"error\":\"server busy: too many connections, retry later\"}\n"
        self.busyResponse = Array(("HTTP/1.1 503 Service Unavailable\r\nRetry-After: \(limits.retryAfterSeconds)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
    }
}

public final class HTTPServer: Sendable {
    /// The bound port (the real one when configured with 0).
    public let port: UInt16
    public let loops: [EventLoop]
    private let ownsLoops: Bool
    let listeners: [HTTPListener]
    let shared: HTTPServerShared

    /// Open connections right now, over all loops.
    public var connectionCount: Int { shared.connectionCount.load(ordering: .relaxed) }

    /// Starts listening. With `loops` nil the server starts `configuration.loopCount` loops of
    /// its own and stops them in `stop()`; otherwise it serves on the given loops.
    public static func start(_ configuration: HTTPServerConfiguration, router: HTTPRouter,
                             on loops: [EventLoop]? = nil) throws(SyscallError) -> HTTPServer {
        guard let address = SocketAddress(host: configuration.host, port: configuration.port) else {
            throw SyscallError("parse listen address '\(configuration.host)'", errno: EINVAL)
        }
        var ownLoops: [EventLoop] = []
        let serverLoops: [EventLoop]
        if let loops {
            serverLoops = loops
        } else {
            for index in 0..<max(configuration.loopCount, 1) {
                ownLoops.append(try EventLoop.start(name: "\(configuration.name)-\(index)", clock: configuration.clock,
                                                    edgeTriggered: configuration.edgeTriggered))
            }
            serverLoops = ownLoops
        }
        Syscalls.raiseOpenFileLimit()
        let shared = HTTPServerShared(router: router, limits: configuration.limits)
        var listeners: [HTTPListener] = []
        var bound = address
        do throws(SyscallError) {
            bound = try Syscalls.claimAddress(address)
            for loop in serverLoops {
                let socket = try Syscalls.listeningSocket(bound, shared: serverLoops.count > 1,
                                                          backlog: configuration.backlog)
                let listener = HTTPListener(socket: socket, loop: loop, shared: shared)
                listeners.append(listener)
            }
        } catch {
            for loop in ownLoops { loop.stop(); loop.waitUntilStopped() }
            throw error
        }
        // Registration can fail (ENOMEM, ENOSPC from epoll): the caller hears it from start().
        do throws(SyscallError) {
            for listener in listeners {
                try listener.loop.runAndWait { () throws(SyscallError) in try listener.activate() }
            }
        } catch {
            for listener in listeners { listener.loop.execute { listener.closeListener() } }
            for loop in ownLoops { loop.stop(); loop.waitUntilStopped() }
            throw error
        }
        return HTTPServer(port: bound.port, loops: serverLoops, ownsLoops: loops == nil, listeners: listeners, shared: shared)
    }

    private init(port: UInt16, loops: [EventLoop], ownsLoops: Bool, listeners: [HTTPListener], shared: HTTPServerShared) {
        self.port = port
        self.loops = loops
        self.ownsLoops = ownsLoops
        self.listeners = listeners
        self.shared = shared
    }

    /// Stops accepting new connections (graceful shutdown: open connections keep being served
    /// until `stop()`). Blocks; do not call it from one of the server's loops.
    public func stopAccepting() {
        let closed = DispatchSemaphore(value: 0)
        for listener in listeners {
            listener.loop.execute {
                listener.closeListener()
                closed.signal()
            }
        }
        for _ in listeners { closed.wait() }
    }

    /// Stops accepting and closes every connection; stops the loops the server started.
    /// Blocks until done; do not call it from one of the server's loops.
    public func stop() {
        let closed = DispatchSemaphore(value: 0)
        for listener in listeners {
            listener.loop.execute {
                listener.closeAll()
                closed.signal()
            }
        }
        for _ in listeners { closed.wait() }
        if ownsLoops {
            for loop in loops { loop.stop() }
            for loop in loops { loop.waitUntilStopped() }
        }
    }
}

/// The listening socket of one loop plus the connections it accepted.
final class HTTPListener: EventLoopHandler, @unchecked Sendable {
    let loop: EventLoop
    let shared: HTTPServerShared
    private var socket: FileDescriptor?
    private let fd: Int32
    var connections: [UInt64: HTTPConnection] = [:]
    private var nextSerial: UInt64 = 0
    var date = HTTPDate()

    init(socket: consuming FileDescriptor, loop: EventLoop, shared: HTTPServerShared) {
        self.fd = socket.rawValue
        self.socket = consume socket
        self.loop = loop
        self.shared = shared
    }

    var isListening: Bool { socket != nil }

    /// Loop thread only.
    func activate() throws(SyscallError) {
        try loop.register(fd: fd, events: EPOLLIN.rawValue, handler: self)
    }

    func handleEvents(_ events: UInt32) {
        acceptPending(fd: fd, loop: loop, isListening: { [weak self] in self?.isListening ?? false }) { socket, peer in
            let limit = shared.limits.maxConnections
            if shared.connectionCount.wrappingAdd(1, ordering: .relaxed).newValue > limit {
                shared.connectionCount.wrappingSubtract(1, ordering: .relaxed)
                refuse(socket)
                return
            }
            nextSerial &+= 1
            let connection = HTTPConnection(socket: socket, peer: peer, listener: self, serial: nextSerial)
            connections[nextSerial] = connection
            connection.start()
        }
    }

    /// Answers 503 with Retry-After to a connection over the limit and closes it.
    private func refuse(_ socket: consuming FileDescriptor) {
        let raw = socket.rawValue
        var scratch = [UInt8](repeating: 0, count: 4096)
        _ = try? Syscalls.read(raw, &scratch, scratch.count)
        _ = shared.busyResponse.withUnsafeBytes { try? Syscalls.write(raw, $0.baseAddress!, $0.count) }
        Syscalls.shutdownWrite(raw)
        _ = try? Syscalls.read(raw, &scratch, scratch.count)
        _ = consume socket
    }

    func connectionClosed(_ connection: HTTPConnection) {
        connections[connection.serial] = nil
        shared.connectionCount.wrappingSubtract(1, ordering: .relaxed)
    }

    func closeListener() {
        guard socket != nil else { return }
        loop.deregister(fd: fd)
        socket = nil
    }

    /// A connection's timer fired: find it by serial (timers do not hold connections, so a closed
    /// one is freed at once and no weak reference slows down reference counting).
    func timerFired(serial: UInt64, at deadline: UInt64) {
        connections[serial]?.timerFired(deadline)
    }

    func closeAll() {
        closeListener()
        for connection in Array(connections.values) { connection.close() }
    }

    func loopWillStop() {
        closeAll()
    }
}

/// Accepts every pending connection of a listener (HTTP and Wire) while it is listening. When
/// accept fails for lack of descriptors or memory, the listener leaves epoll for 100 ms.
func acceptPending(fd: Int32, loop: EventLoop, isListening: @escaping () -> Bool,
                   _ accepted: (consuming FileDescriptor, SocketAddress) -> Void) {
    var peer = sockaddr_storage()
    while isListening() {
        let socket: FileDescriptor?
        do {
            socket = try Syscalls.accept(fd, peer: &peer)
        } catch {
            // EMFILE/ENFILE/ENOBUFS: the pending connection keeps the level-triggered listener
            // readable, so stop listening for 100 ms instead of spinning; the backlog waits.
            try? loop.modify(fd: fd, events: 0)
            loop.schedule(afterNanoseconds: 100_000_000) {
                if isListening() { try? loop.modify(fd: fd, events: EPOLLIN.rawValue) }
            }
            return
        }
        guard let socket else { return }
        accepted(socket, SocketAddress(storage: peer))
    }
}

/// The Date header value, formatted once per second per loop.
struct HTTPDate {
    private var second = -1
    private(set) var bytes: [UInt8] = []

    mutating func current() -> [UInt8] {
        let now = Syscalls.wallSeconds()
        if now != second {
            second = now
            bytes = Array(HTTPDate.format(now).utf8)
        }
        return bytes
    }

    /// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") from epoch seconds, without libc.
    static func format(_ epoch: Int) -> String {
        let days = epoch >= 0 ? epoch / 86400 : (epoch - 86399) / 86400
        let secs = epoch - days * 86400
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7 // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(names[weekday]), \(two(day)) \(months[month - 1]) \(year) \(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60)) GMT"
    }
}

/// Reason phrases of the statuses the server and handlers use.
func reasonPhrase(_ status: Int) -> StaticString {
    switch status {
    case 100: "Continue"
    case 200: "OK"
    case 201: "Created"
    case 202: "Accepted"
    case 204: "No Content"
    case 206: "Partial Content"
    case 301: "Moved Permanently"
    case 302: "Found"
    case 304: "Not Modified"
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 408: "Request Timeout"
    case 409: "Conflict"
    case 410: "Gone"
    case 411: "Length Required"
    case 413: "Content Too Large"
    case 414: "URI Too Long"
    case 415: "Unsupported Media Type"
    case 417: "Expectation Failed"
    case 422: "Unprocessable Content"
    case 429: "Too Many Requests"
    case 431: "Request Header Fields Too Large"
    case 500: "Internal Server Error"
    case 501: "Not Implemented"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 504: "Gateway Timeout"
    case 505: "HTTP Version Not Supported"
    default: "Unknown"
    }
}
