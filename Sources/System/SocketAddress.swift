// Socket addresses as values. Only Glibc: the fuzzers compile this file with the HTTP parser.
#if canImport(Glibc)
import Glibc
#endif

/// The socket address of a peer or of a bound socket (IPv4 or IPv6).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 address bytes, network order.
    public let addressBytes: [UInt8]
    public let port: UInt16

    public var isIPv6: Bool { addressBytes.count == 16 }

    /// The address without the port, as `inet_ntop` writes it ("127.0.0.1", "::1").
    public var host: String {
        var text = [CChar](repeating: 0, count: 64)
        let family = isIPv6 ? AF_INET6 : AF_INET
        let ok = addressBytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &text, socklen_t(text.count)) != nil
        }
        guard ok else { return "?" }
        let length = text.firstIndex(of: 0) ?? text.count
        return String(decoding: text[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Parses a numeric IPv4 or IPv6 host ("127.0.0.1", "::1"); nil for names.
    public init?(host: String, port: UInt16) {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            self.addressBytes = withUnsafeBytes(of: v4) { Array($0) }
            self.port = port
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            self.addressBytes = withUnsafeBytes(of: v6) { Array($0) }
            self.port = port
            return
        }
        return nil
    }

    public init(addressBytes: [UInt8], port: UInt16) {
        self.addressBytes = addressBytes
        self.port = port
    }

    public init(storage: sockaddr_storage) {
        var storage = storage
        if Int32(storage.ss_family) == AF_INET6 {
            let sin6 = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            self.addressBytes = withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }
            self.port = UInt16(bigEndian: sin6.sin6_port)
        } else {
            let sin = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            self.addressBytes = withUnsafeBytes(of: sin.sin_addr) { Array($0) }
            self.port = UInt16(bigEndian: sin.sin_port)
        }
    }

    /// Calls `body` with this address as a `sockaddr` of the right length.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if isIPv6 {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: addressBytes) }
            return withUnsafePointer(to: &sin6) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: addressBytes) }
        return withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }
}
