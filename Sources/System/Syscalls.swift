// Every socket, pipe, epoll, eventfd and clock call of both daemons goes through this file (file
// calls through FileIO.swift): EINTR is retried here and errno is mapped to `SyscallError`, so no
// other module reads errno itself.
#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// A failed system call: which call, on which file (empty for sockets) and the errno it returned.
public struct SyscallError: Error, Sendable, Hashable, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Int32

    public init(_ call: String, path: String = "", errno: Int32) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    /// The system's text for the errno ("No such file or directory").
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String {
        "\(call)\(path.isEmpty ? "" : " " + path) failed: \(reason) (errno \(errno))"
    }

    /// The peer went away (reset, broken pipe): an ordinary end of a connection, not a fault.
    public var isConnectionLoss: Bool {
        errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN || errno == ETIMEDOUT
    }
}

/// A file descriptor with exactly one owner. Dropping it closes it; `close()` closes it
/// explicitly and reports the error. It cannot be copied, so it cannot be closed twice.
public struct FileDescriptor: ~Copyable {
    public let rawValue: Int32

    public init(adopting rawValue: Int32) {
        self.rawValue = rawValue
    }

    public consuming func close() throws(SyscallError) {
        let fd = rawValue
        discard self
        // close(2) must not be retried on EINTR on Linux: the descriptor is already released.
        if Glibc.close(fd) != 0 && errno != EINTR {
            throw SyscallError("close", errno: errno)
        }
    }

    deinit {
        _ = Glibc.close(rawValue)
    }
}

/// Both ends of a pipe, each with its single owner.
public struct PipeEnds: ~Copyable {
    public let readEnd: FileDescriptor
    public let writeEnd: FileDescriptor
}

/// The system calls the daemons make, each retrying EINTR and throwing `SyscallError`.
/// Reads and writes on non-blocking descriptors return nil when they would block.
public enum Syscalls {
    /// Gives the pages of freed memory back to the system (`malloc_trim`): glibc keeps freed
    /// large buffers in its arenas, resident, until asked.
    public static func releaseFreedMemory() {
        _ = malloc_trim(0)
    }

    @inline(__always)
    static func check(_ call: @autoclosure () -> String, _ result: Int32) throws(SyscallError) -> Int32 {
        if result >= 0 { return result }
        throw SyscallError(call(), errno: errno)
    }

    /// Ignores SIGPIPE process-wide: a peer that went away must give EPIPE, not kill the daemon.
    public static func ignoreSIGPIPE() {
        _ = signal(SIGPIPE, SIG_IGN)
    }

    /// Raises the soft limit of open descriptors to the hard limit (every connection is one).
    public static func raiseOpenFileLimit() {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }

    /// Catches a signal with a C handler (it must be async-signal-safe).
    static func installSignalHandler(_ number: Int32, _ handler: @convention(c) (Int32) -> Void) {
        _ = signal(number, handler)
    }

    /// Gives a signal its default action back.
    static func restoreSignal(_ number: Int32) {
        _ = signal(number, SIG_DFL)
    }

    /// A non-blocking, close-on-exec pipe.
    static func pipe() throws(SyscallError) -> PipeEnds {
        var fds: [Int32] = [-1, -1]
        _ = try check("pipe", Glibc.pipe(&fds))
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        return PipeEnds(readEnd: FileDescriptor(adopting: fds[0]), writeEnd: FileDescriptor(adopting: fds[1]))
    }

    /// Sends a signal to this process (tests of shutdown handling).
    public static func raiseSignal(_ number: Int32) {
        _ = kill(getpid(), number)
    }

    // MARK: sockets

    public static func socket(ipv6: Bool) throws(SyscallError) -> FileDescriptor {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = try check("socket", Glibc.socket(ipv6 ? AF_INET6 : AF_INET, type, 0))
        return FileDescriptor(adopting: fd)
    }

    public static func setIntOption(_ fd: Int32, level: Int32, name: Int32, value: Int32) throws(SyscallError) {
        var value = value
        _ = try check("setsockopt", setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)))
    }

    public static func bind(_ fd: Int32, _ address: SocketAddress) throws(SyscallError) {
        let result = address.withSockAddr { Glibc.bind(fd, $0, $1) }
        _ = try check("bind \(address)", result)
    }

    public static func listen(_ fd: Int32, backlog: Int32) throws(SyscallError) {
        _ = try check("listen", Glibc.listen(fd, backlog))
    }

    /// A listening socket on `address`. `shared` sets SO_REUSEPORT so that each of several loops of
    /// this process accepts on its own socket; claim the address first (`claimAddress`), since the
    /// option would also let another process share the port without a word.
    public static func listeningSocket(_ address: SocketAddress, shared: Bool, backlog: Int32) throws(SyscallError) -> FileDescriptor {
        let socket = try socket(ipv6: address.isIPv6)
        try setIntOption(socket.rawValue, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
        if shared { try setIntOption(socket.rawValue, level: SOL_SOCKET, name: SO_REUSEPORT, value: 1) }
        try bind(socket.rawValue, address)
        try listen(socket.rawValue, backlog: backlog)
        return socket
    }

    /// Binds `address` once without SO_REUSEPORT: EADDRINUSE when anything listens there already
    /// (a second daemon on the same port). Returns the address with the port the kernel picked
    /// when `address` asked for port 0.
    public static func claimAddress(_ address: SocketAddress) throws(SyscallError) -> SocketAddress {
        let probe = try socket(ipv6: address.isIPv6)
        try setIntOption(probe.rawValue, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
        try bind(probe.rawValue, address)
        var claimed = address
        if address.port == 0 { claimed = try localAddress(probe.rawValue) }
        try probe.close()
        return claimed
    }

    /// Starts a non-blocking connect. Returns true when already connected, false when in progress.
    public static func connect(_ fd: Int32, _ address: SocketAddress) throws(SyscallError) -> Bool {
        while true {
            let result = address.withSockAddr { Glibc.connect(fd, $0, $1) }
            if result == 0 { return true }
            if errno == EINTR { continue }
            if errno == EINPROGRESS { return false }
            throw SyscallError("connect \(address)", errno: errno)
        }
    }

    /// The pending error of a socket (SO_ERROR), 0 when a non-blocking connect succeeded.
    public static func socketError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        if getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length) != 0 { return errno }
        return value
    }

    public static func localAddress(_ fd: Int32) throws(SyscallError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        _ = try check("getsockname", result)
        return SocketAddress(storage: storage)
    }

    /// Accepts one connection, non-blocking and close-on-exec. Nil when none is pending.
    public static func accept(_ listener: Int32, peer: inout sockaddr_storage) throws(SyscallError) -> FileDescriptor? {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        while true {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept4(listener, $0, &length, flags) }
            }
            if fd >= 0 { return FileDescriptor(adopting: fd) }
            switch errno {
            case EINTR: continue
            // A connection that was reset before we took it: try the next one.
            case ECONNABORTED, EPROTO: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SyscallError("accept4", errno: errno)
            }
        }
    }

    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    // MARK: I/O

    /// Reads up to `count` bytes. 0 means end of stream, nil means it would block.
    @inline(__always)
    public static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(SyscallError) -> Int? {
        while true {
            let n = Glibc.read(fd, buffer, count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SyscallError("read", errno: errno)
            }
        }
    }

    /// Writes up to `count` bytes. Nil means it would block.
    @inline(__always)
    public static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) throws(SyscallError) -> Int? {
        while true {
            let n = Glibc.write(fd, buffer, count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SyscallError("write", errno: errno)
            }
        }
    }

    /// Gathers several buffers into one write. Nil means it would block.
    public static func writev(_ fd: Int32, _ vectors: UnsafePointer<iovec>, _ count: Int32) throws(SyscallError) -> Int? {
        while true {
            let n = Glibc.writev(fd, vectors, count)
            if n >= 0 { return n }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return nil
            default: throw SyscallError("writev", errno: errno)
            }
        }
    }

    // MARK: epoll, eventfd

    public static func epollCreate() throws(SyscallError) -> FileDescriptor {
        FileDescriptor(adopting: try check("epoll_create1", epoll_create1(Int32(EPOLL_CLOEXEC))))
    }

    public static func epollControl(_ epoll: Int32, _ op: Int32, _ fd: Int32, events: UInt32) throws(SyscallError) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        _ = try check("epoll_ctl", epoll_ctl(epoll, op, fd, &event))
    }

    /// Waits for events; 0 events when interrupted by a signal.
    public static func epollWait(_ epoll: Int32, _ events: UnsafeMutablePointer<epoll_event>, _ capacity: Int32, timeoutMs: Int32) throws(SyscallError) -> Int {
        let n = epoll_wait(epoll, events, capacity, timeoutMs)
        if n >= 0 { return Int(n) }
        if errno == EINTR { return 0 }
        throw SyscallError("epoll_wait", errno: errno)
    }

    public static func eventFD() throws(SyscallError) -> FileDescriptor {
        let flags = Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)
        return FileDescriptor(adopting: try check("eventfd", eventfd(0, flags)))
    }

    /// Adds 1 to an eventfd counter (wakes its loop). A full counter already means "wake".
    public static func signalEventFD(_ fd: Int32) {
        var one: UInt64 = 1
        while Glibc.write(fd, &one, 8) < 0 && errno == EINTR {}
    }

    /// Resets an eventfd counter.
    public static func drainEventFD(_ fd: Int32) {
        var value: UInt64 = 0
        while Glibc.read(fd, &value, 8) < 0 && errno == EINTR {}
    }

    // MARK: clocks

    /// CLOCK_MONOTONIC in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// CLOCK_REALTIME in seconds (for the HTTP Date header).
    public static func wallSeconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int(ts.tv_sec)
    }

    /// CLOCK_REALTIME in epoch milliseconds.
    public static func wallMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1000 &+ Int64(ts.tv_nsec) / 1_000_000
    }
}
