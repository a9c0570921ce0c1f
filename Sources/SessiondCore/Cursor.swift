import SessionStore

/// The opaque `cursor` of session lists: base64url of a versioned text record. It pins `asOf`
/// (a commit stamp) and `clock` (the first page's server time), the sort, the query's fingerprint
/// and the last row returned.
public struct Cursor: Sendable, Hashable {
    /// Cursors are honoured this long after their first page (ms): sessiond keeps the values a
    /// changed session had at `asOf` that long.
    public static let lifetime: Int64 = 3_600_000

    public var asOf: Int64
    public var clock: Int64
    public var sort: SortKey
    public var order: SortOrder
    public var fingerprint: UInt64
    public var lastValue: Int64
    public var lastId: String

    public init(asOf: Int64, clock: Int64, sort: SortKey, order: SortOrder, fingerprint: UInt64, lastValue: Int64,
                lastId: String) {
        self.asOf = asOf
        self.clock = clock
        self.sort = sort
        self.order = order
        self.fingerprint = fingerprint
        self.lastValue = lastValue
        self.lastId = lastId
    }

    public var encoded: String {
        let text = "c1|\(asOf)|\(clock)|\(sort.rawValue)|\(order.rawValue)|\(lastValue)|\(String(fingerprint, radix: 16))|\(lastId)"
        return Base64URL.encode(Array(text.utf8))
    }

    public static func decode(_ text: String) throws(APIError) -> Cursor {
        let invalid = APIError.badParameter("cursor", "cursor is not one this server issued (copy nextCursor exactly), or drop it to start from the first page")
        guard let bytes = Base64URL.decode(text), let record = String(validating: bytes, as: UTF8.self) else { throw invalid }
        let parts = record.split(separator: "|", maxSplits: 7, omittingEmptySubsequences: false)
        guard parts.count == 8, parts[0] == "c1",
              let asOf = Int64(parts[1]), let clock = Int64(parts[2]), let sort = SortKey(rawValue: String(parts[3])),
              let order = SortOrder(rawValue: String(parts[4])), let value = Int64(parts[5]),
              let fingerprint = UInt64(parts[6], radix: 16) else { throw invalid }
        return Cursor(asOf: asOf, clock: clock, sort: sort, order: order, fingerprint: fingerprint, lastValue: value,
                      lastId: String(parts[7]))
    }
}

/// RFC 4648 base64url without padding.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            if i + 1 < bytes.count { out.append(alphabet[Int(n >> 6 & 63)]) }
            if i + 2 < bytes.count { out.append(alphabet[Int(n & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"): v = 62
            case UInt8(ascii: "_"): v = 63
            default: return nil
            }
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                acc &= (1 << UInt32(bits)) - 1
            }
        }
        // A lone trailing character (6 bits) cannot come from our encoder.
        return bits >= 6 ? nil : out
    }
}
