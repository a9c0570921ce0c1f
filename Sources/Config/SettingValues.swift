/// A listening or connecting address: `host:port`, `[v6]:port`, or `:port` for every interface.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Parsers of setting values, shared by flags and environment variables. Each returns nil and
/// leaves the message to the caller, who knows the flag's name.
public enum SettingValues {
    /// `20ms`, `30s`, `5m`, `2h`, `3d`, `1h30m`, `500us`, `0`. Units: ns, us, ms, s, m, h, d.
    public static func duration(_ text: String) -> Duration? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        if bytes == [0x30] { return .zero }
        var total: Int64 = 0
        var i = 0
        while i < bytes.count {
            var number: Int64 = 0
            let start = i
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                let (times10, o1) = number.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(Int64(bytes[i] - 0x30))
                if o1 || o2 { return nil }
                number = next
                i += 1
            }
            guard i > start else { return nil }
            let unitStart = i
            while i < bytes.count, !(bytes[i] >= 0x30 && bytes[i] <= 0x39) { i += 1 }
            let unit = String(decoding: bytes[unitStart..<i], as: UTF8.self)
            let nanosecondsPerUnit: Int64
            switch unit {
            case "ns": nanosecondsPerUnit = 1
            case "us", "µs": nanosecondsPerUnit = 1_000
            case "ms": nanosecondsPerUnit = 1_000_000
            case "s": nanosecondsPerUnit = 1_000_000_000
            case "m": nanosecondsPerUnit = 60_000_000_000
            case "h": nanosecondsPerUnit = 3_600_000_000_000
            case "d": nanosecondsPerUnit = 86_400_000_000_000
            default: return nil
            }
            let (part, o1) = number.multipliedReportingOverflow(by: nanosecondsPerUnit)
            let (sum, o2) = total.addingReportingOverflow(part)
            if o1 || o2 { return nil }
            total = sum
        }
        return .nanoseconds(total)
    }

    /// Renders a duration the way `duration(_:)` reads it, largest units first (`1h30m`).
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return "\(duration)" }
        var nanoseconds = seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
        if nanoseconds == 0 { return "0" }
        var text = ""
        for (unit, size) in [("d", Int64(86_400_000_000_000)), ("h", 3_600_000_000_000), ("m", 60_000_000_000),
                             ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000), ("ns", 1)] where nanoseconds >= size {
            text += "\(nanoseconds / size)\(unit)"
            nanoseconds %= size
        }
        return text
    }

    /// `4096`, `512B`, `64KiB`, `10MB`, `1GiB`, `2TiB`. KB/MB/GB/TB are powers of 1000;
    /// KiB/MiB/GiB/TiB and the short K/M/G/T are powers of 1024. Case-insensitive.
    public static func size(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        var i = 0
        var number = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (times10, o1) = number.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int(bytes[i] - 0x30))
            if o1 || o2 { return nil }
            number = next
            i += 1
        }
        guard i > 0 else { return nil }
        let unit = String(decoding: bytes[i...], as: UTF8.self).lowercased()
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "kb": multiplier = 1_000
        case "mb": multiplier = 1_000_000
        case "gb": multiplier = 1_000_000_000
        case "tb": multiplier = 1_000_000_000_000
        case "k", "kib": multiplier = 1 << 10
        case "m", "mib": multiplier = 1 << 20
        case "g", "gib": multiplier = 1 << 30
        case "t", "tib": multiplier = 1 << 40
        default: return nil
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : value
    }

    /// Renders a size the way `size(_:)` reads it (`1GiB`, `1500`).
    public static func format(size: Int) -> String {
        for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] where size != 0 && size % (1 << shift) == 0 {
            return "\(size >> shift)\(unit)"
        }
        return String(size)
    }

    /// `host:port`, `[ipv6]:port`, `:port` (loopback, as 127.0.0.1: every interface is only ever
    /// an explicit `0.0.0.0:port` or `[::]:port`). Port 0 asks the system for a free port.
    public static func hostPort(_ text: String) -> HostPort? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard !host.isEmpty, host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
        }
        guard !portText.isEmpty, portText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let port = UInt16(portText) else { return nil }
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x2D || byte == 0x3A || byte == 0x25 || byte == 0x5F
        }
        guard allowed else { return nil }
        return HostPort(host: host.isEmpty ? "127.0.0.1" : String(host), port: port)
    }

    /// Comma-separated, each entry trimmed of spaces, empty entries dropped.
    public static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }

    /// true/false, 1/0, yes/no, on/off (case-insensitive).
    public static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "1", "yes", "on": true
        case "false", "0", "no", "off": false
        default: nil
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
