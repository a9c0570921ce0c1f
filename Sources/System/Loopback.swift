// Blocking loopback sockets for tests, benchmarks and tools: the sockaddr plumbing in one place.
// The loops never use these (their sockets are non-blocking).
#if canImport(Glibc)
import Glibc
import CLinux
#endif

public enum Loopback {
    /// A blocking TCP connection to 127.0.0.1:`port` with TCP_NODELAY. The caller closes it.
    public static func connect(port: UInt16) throws(SyscallError) -> Int32 {
        let address = SocketAddress(addressBytes: [127, 0, 0, 1], port: port)
        let fd = try Syscalls.check("socket", Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0))
        if address.withSockAddr({ Glibc.connect(fd, $0, $1) }) != 0 {
            let error = SyscallError("connect \(address)", errno: errno)
            Glibc.close(fd)
            throw error
        }
        try? Syscalls.setIntOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
        return fd
    }

    /// A blocking listening socket on 127.0.0.1 (`port` 0 picks a free one) and its port.
    /// The caller closes it.
    public static func listen(port: UInt16 = 0, backlog: Int32 = 16) throws(SyscallError) -> (fd: Int32, port: UInt16) {
        let fd = try Syscalls.check("socket", Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0))
        do throws(SyscallError) {
            try Syscalls.bind(fd, SocketAddress(addressBytes: [127, 0, 0, 1], port: port))
            try Syscalls.listen(fd, backlog: backlog)
            return (fd, try Syscalls.localAddress(fd).port)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }
}
