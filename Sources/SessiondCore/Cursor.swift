import SessionStore
import System

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
        return Base64.encodeURL(Array(text.utf8))
    }

    public static func decode(_ text: String) throws(APIError) -> Cursor {
        let invalid = APIError.badParameter("cursor", "cursor is not one this server issued (copy nextCursor exactly), or drop it to start from the first page")
        guard let bytes = Base64.decodeURL(text), let record = validatedString(bytes) else { throw invalid }
        let parts = record.split(separator: "|", maxSplits: 7, omittingEmptySubsequences: false)
        guard parts.count == 8, parts[0] == "c1",
              let asOf = Int64(parts[1]), let clock = Int64(parts[2]), let sort = SortKey(rawValue: String(parts[3])),
              let order = SortOrder(rawValue: String(parts[4])), let value = Int64(parts[5]),
              let fingerprint = UInt64(parts[6], radix: 16) else { throw invalid }
        return Cursor(asOf: asOf, clock: clock, sort: sort, order: order, fingerprint: fingerprint, lastValue: value,
                      lastId: String(parts[7]))
    }
}
