/// Removes secrets and personal data from URLs before they leave the collector: the value of
/// every query parameter whose name is in the list is replaced by `REDACTED` (the parameter is
/// kept, so a page's address keeps its shape and the scrubbing is visible). Names compare
/// case-insensitively after percent-decoding (`?Token=`, `?%74oken=` are caught). Both the query
/// and a query inside the fragment (`#/reset?token=...`, hash-routed single-page apps) are scrubbed.
public struct QueryScrubber: Sendable, Equatable {
    public static let replacement = "REDACTED"

    /// Parameter names scrubbed when the app configures no list of its own.
    public static let defaultNames: [String] = [
        "token", "access_token", "id_token", "refresh_token", "auth", "authorization", "code",
        "password", "passwd", "pwd", "pass", "secret", "client_secret", "api_key", "apikey", "key",
        "signature", "sig", "session", "sessionid", "session_id", "sid", "jwt",
        "email", "e-mail", "mail", "phone", "ssn",
    ]

    /// The default list, built once.
    public static let standard = QueryScrubber()

    /// Lowercased names, as bytes.
    private let names: [[UInt8]]

    public init(names: [String] = QueryScrubber.defaultNames) {
        self.names = names.map { Array($0.utf8).map(asciiLower) }.filter { !$0.isEmpty }
    }

    /// Returns `url` itself (no copy) when nothing needs scrubbing.
    public func scrub(_ url: String) -> String {
        if names.isEmpty { return url }
        var copy = url
        return copy.withUTF8 { bytes in
            guard let output = scrubbed(bytes) else { return url }
            return String(decoding: output, as: UTF8.self)
        }
    }

    /// Scrubs raw URL bytes; `nil` when nothing changed.
    public func scrubbed(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard let question = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.firstIndex(of: UInt8(ascii: "#")) else {
            return nil
        }
        var output: [UInt8]? = nil
        var copiedUpTo = 0
        var index = question
        // `?` starts a query (also inside the fragment); `#` ends it; `&` and `;` separate parameters.
        var inQuery = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "#") {
                inQuery = false
                index += 1
                continue
            }
            if byte == UInt8(ascii: "?") {
                inQuery = true
            } else if !(inQuery && (byte == UInt8(ascii: "&") || byte == UInt8(ascii: ";"))) {
                index += 1
                continue
            }
            let nameStart = index + 1
            var cursor = nameStart
            while cursor < bytes.count, !isParamEnd(bytes[cursor]), bytes[cursor] != UInt8(ascii: "=") { cursor += 1 }
            guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "=") else {
                index = cursor
                continue
            }
            let valueStart = cursor + 1
            var valueEnd = valueStart
            while valueEnd < bytes.count, !isParamEnd(bytes[valueEnd]) { valueEnd += 1 }
            if valueEnd > valueStart, matches(bytes, nameStart..<cursor),
               !equals(bytes, valueStart..<valueEnd, QueryScrubber.replacement) {
                if output == nil { output = []; output?.reserveCapacity(bytes.count) }
                output?.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copiedUpTo..<valueStart]))
                output?.append(contentsOf: QueryScrubber.replacement.utf8)
                copiedUpTo = valueEnd
            }
            index = valueEnd
        }
        guard var result = output else { return nil }
        result.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copiedUpTo...]))
        return result
    }

    @inline(__always)
    private func isParamEnd(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "&") || byte == UInt8(ascii: ";") || byte == UInt8(ascii: "#") || byte == UInt8(ascii: "?")
    }

    /// Percent-decoded, `+` as space, ASCII case folded, compared with each configured name.
    private func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var decoded: [UInt8] = []
        decoded.reserveCapacity(range.count)
        var cursor = range.lowerBound
        while cursor < range.upperBound {
            let byte = bytes[cursor]
            if byte == UInt8(ascii: "%"), cursor + 2 < range.upperBound,
               let high = hexValue(bytes[cursor + 1]), let low = hexValue(bytes[cursor + 2]) {
                decoded.append(asciiLower(high << 4 | low))
                cursor += 3
            } else {
                decoded.append(byte == UInt8(ascii: "+") ? 0x20 : asciiLower(byte))
                cursor += 1
            }
        }
        return names.contains(decoded)
    }

    private func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ text: String) -> Bool {
        range.count == text.utf8.count && zip(bytes[range], text.utf8).allSatisfy { $0 == $1 }
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: byte - 0x30
    case 0x41...0x46: byte - 0x41 + 10
    case 0x61...0x66: byte - 0x61 + 10
    default: nil
    }
}
