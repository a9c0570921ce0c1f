#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are stored as IPv4,
/// so a dual-stack socket's peer, the proxy list and X-Forwarded-For all compare alike.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(UInt32)
    /// 16 bytes, network order, as two big-endian halves.
    case v6(UInt64, UInt64)

    /// Parses dotted IPv4 or textual IPv6 (no zone, no brackets, no port).
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count <= 45, !text.isEmpty else { return nil }
        var v4 = in_addr()
        var v6 = in6_addr()
        let string = String(text)
        if string.withCString({ inet_pton(AF_INET, $0, &v4) }) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
        } else if string.withCString({ inet_pton(AF_INET6, $0, &v6) }) == 1 {
            self.init(v6Bytes: withUnsafeBytes(of: v6) { Array($0) })
        } else {
            return nil
        }
    }

    /// From 16 network-order bytes (e.g. a `sockaddr_in6`); IPv4-mapped becomes `.v4`.
    public init(v6Bytes bytes: [UInt8]) {
        precondition(bytes.count == 16)
        var high: UInt64 = 0, low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(bytes[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(bytes[index]) }
        if high == 0 && low >> 32 == 0xFFFF {
            self = .v4(UInt32(truncatingIfNeeded: low))
        } else {
            self = .v6(high, low)
        }
    }

    /// Keeps the network part only: /24 for IPv4 (and IPv4-mapped), /48 for IPv6.
    /// This is what leaves the collector; the full address is never stored or forwarded.
    public var masked: IPAddress {
        switch self {
        case .v4(let value): .v4(value & 0xFFFF_FF00)
        case .v6(let high, _): .v6(high & 0xFFFF_FFFF_FFFF_0000, 0)
        }
    }

    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let high, let low):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { bytes in
                for index in 0..<8 {
                    bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(index)))
                    bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(index)))
                }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "::" }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}

/// One CIDR block, e.g. `10.0.0.0/8` or `fd00::/8`; a bare address is a single host.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public let network: IPAddress
    public let prefixLength: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        var isMappedV4Text = false
        if case .v4 = address, parts[0].contains(":") { isMappedV4Text = true }
        let maxLength: Int
        if case .v4 = address { maxLength = 32 } else { maxLength = 128 }
        var length = maxLength
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), parsed >= 0 else { return nil }
            // `::ffff:10.0.0.0/104` is the IPv4 block 10.0.0.0/8.
            let adjusted = isMappedV4Text ? parsed - 96 : parsed
            guard adjusted >= 0, adjusted <= maxLength else { return nil }
            length = adjusted
        }
        prefixLength = length
        network = CIDR.apply(prefix: length, to: address)
    }

    public func contains(_ address: IPAddress) -> Bool {
        switch (network, address) {
        case (.v4, .v4), (.v6, .v6): CIDR.apply(prefix: prefixLength, to: address) == network
        default: false
        }
    }

    public var description: String { "\(network)/\(prefixLength)" }

    private static func apply(prefix: Int, to address: IPAddress) -> IPAddress {
        switch address {
        case .v4(let value):
            return .v4(prefix == 0 ? 0 : value & ~UInt32(0) << UInt32(32 - prefix))
        case .v6(let high, let low):
            if prefix <= 64 {
                return .v6(prefix == 0 ? 0 : high & ~UInt64(0) << UInt64(64 - prefix), 0)
            }
            return .v6(high, prefix == 128 ? low : low & ~UInt64(0) << UInt64(128 - prefix))
        }
    }
}

/// The proxies (load balancers) whose `X-Forwarded-For` the collector believes (`--trusted-proxies`).
public struct TrustedProxies: Sendable, Hashable {
    public let blocks: [CIDR]

    public init(_ blocks: [CIDR] = []) { self.blocks = blocks }

    /// Parses a comma-separated list such as `10.0.0.0/8, 192.168.1.7, fd00::/8`.
    /// Returns the entry that does not parse as the error.
    public static func parse(_ list: String) -> Result<TrustedProxies, ClientAddressError> {
        var blocks: [CIDR] = []
        for entry in list.split(separator: ",") {
            let trimmed = entry.trimmingASCIISpaces()
            if trimmed.isEmpty { continue }
            guard let block = CIDR(trimmed) else { return .failure(.invalidProxyEntry(String(trimmed))) }
            blocks.append(block)
        }
        return .success(TrustedProxies(blocks))
    }

    public func contains(_ address: IPAddress) -> Bool {
        blocks.contains { $0.contains(address) }
    }
}

public enum ClientAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidProxyEntry(String)
    public var description: String {
        switch self {
        case .invalidProxyEntry(let entry):
            "trusted proxy \"\(entry)\" is not an IP address or CIDR block (e.g. 10.0.0.0/8, fd00::/8)"
        }
    }
}

public enum ClientAddress {
    /// The visitor's address: the socket peer, unless the peer is a trusted proxy; then the
    /// rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (entries left of it
    /// were written by the client and cannot be believed). `forwardedFor` is every
    /// `X-Forwarded-For` header value in arrival order. An entry that is not an address stops the
    /// walk at the last hop known good. Not yet masked: call `.masked` before it goes anywhere.
    public static func resolve(peer: IPAddress, forwardedFor: [Substring], trusted: TrustedProxies) -> IPAddress {
        guard trusted.contains(peer), !forwardedFor.isEmpty else { return peer }
        var current = peer
        for header in forwardedFor.reversed() {
            for entry in header.split(separator: ",", omittingEmptySubsequences: true).reversed() {
                guard let address = parseForwardedEntry(entry.trimmingASCIISpaces()) else { return current }
                current = address
                if !trusted.contains(address) { return address }
            }
        }
        return current
    }

    /// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
    static func parseForwardedEntry(_ entry: Substring) -> IPAddress? {
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return nil }
            return IPAddress(entry[entry.index(after: entry.startIndex)..<close])
        }
        if let address = IPAddress(entry) { return address }
        // IPv4 with a port: exactly one colon.
        if let colon = entry.firstIndex(of: ":"), entry.lastIndex(of: ":") == colon,
           case .v4(let value)? = IPAddress(entry[..<colon]) {
            return .v4(value)
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingASCIISpaces() -> SubSequence {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
