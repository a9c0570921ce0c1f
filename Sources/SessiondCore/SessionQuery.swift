import Model
import SessionStore
import Wire

// The filter vocabulary (`SessionFilter`, `TextField`, `SortKey`, ...) is SessionStore's: it
// compiles them to SQL. This file parses query parameters into them.

extension TextField {
    /// The closed list of values of an enumerated field; nil for free text.
    public var allowedValues: [String]? {
        switch self {
        case .platform: Platform.allCases.map(\.name)
        case .experience: ["satisfied", "tolerating", "frustrated", "none"]
        case .health: ["tolerable", "abnormal"]
        case .endReason: SessionVocabulary.endReasons
        case .status: ["live", "completed"]
        default: nil
        }
    }
}

/// Words of the session model shared by the query API and its answers.
public enum SessionVocabulary {
    /// BRIEF's closed list of end reasons.
    public static let endReasons = [
        "inactivity", "heartbeat-timeout", "max-duration", "max-actions", "explicit-end",
        "new-session-requested", "client-session-changed", "background", "process-restart", "crash",
        "backstop",
    ]
}

/// A parsed `GET /v1/sessions` (or user/visitor sessions) request. Pure: `now` is a parameter.
public struct SessionQuery: Sendable, Hashable {
    /// Sessions overlapping [from, to): they end at or after `from` and start before `to`.
    public var from: Int64?
    public var to: Int64?
    /// In a canonical order, so equal queries compare (and fingerprint) equal.
    public var filters: [SessionFilter]
    public var sort: SortKey
    public var order: SortOrder
    public var limit: Int
    /// The commit stamp the listing is pinned to (nil on a first page: the executor takes the
    /// newest stamp of its read snapshot). Sessions created after it are left out, and the
    /// `duration`, `errors` and `actions` sorts use each session's value as of this stamp.
    public var asOf: Int64?
    /// Server time of the first page: the `now` of relative times (`from=now-2h`) on every page.
    public var clock: Int64
    /// The last row of the previous page: (sort value, session id); the page starts after it.
    public var after: (value: Int64, id: String)?

    public static let defaultLimit = 50
    public static let maxLimit = 500

    public static func == (lhs: SessionQuery, rhs: SessionQuery) -> Bool {
        lhs.from == rhs.from && lhs.to == rhs.to && lhs.filters == rhs.filters && lhs.sort == rhs.sort
            && lhs.order == rhs.order && lhs.limit == rhs.limit && lhs.asOf == rhs.asOf && lhs.clock == rhs.clock
            && lhs.after?.value == rhs.after?.value && lhs.after?.id == rhs.after?.id
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(filters)
        hasher.combine(asOf)
        hasher.combine(after?.id)
    }

    /// Identifies the query's result set (time range, filters, sort) but not its page: a cursor
    /// carries it so that it is refused with other filters.
    public var fingerprint: UInt64 {
        var h = Fingerprint()
        h.add(from.map { "\($0)" } ?? "-")
        h.add(to.map { "\($0)" } ?? "-")
        h.add(sort.rawValue)
        h.add(order.rawValue)
        for filter in filters { h.add(FilterParser.canonical(filter)) }
        return h.value
    }

    /// The cursor that continues after the row (`value`, `id`) of a page pinned at `asOf`.
    public func cursor(asOf: Int64, afterValue value: Int64, id: String) -> Cursor {
        Cursor(asOf: asOf, clock: clock, sort: sort, order: order, fingerprint: fingerprint, lastValue: value,
               lastId: id)
    }

    /// The page as the store reads it (`SessionReader.sessions`).
    public var listQuery: SessionListQuery {
        SessionListQuery(from: from, to: to, filters: filters, sort: sort, order: order, limit: limit, asOf: asOf,
                         clock: clock, after: after)
    }

    /// Parses query parameters. `scope` holds filters fixed by the route (the user tag of
    /// `/v1/users/{tag}/sessions`); `now` is the server time pinned by a first page.
    public static func parse(_ parameters: [(String, String)], now: Int64,
                             scope: [SessionFilter] = []) throws(APIError) -> SessionQuery {
        var single = SingleValues()
        var filters = FilterParser()
        for (name, value) in parameters {
            switch name {
            case "from", "to", "sort", "order", "limit", "cursor":
                try single.set(name, value)
            default:
                guard try filters.add(name, value) else { throw FilterParser.unknown(name) }
            }
        }
        var cursor: Cursor?
        if let text = single["cursor"] {
            let decoded = try Cursor.decode(text)
            guard now &- decoded.clock <= Cursor.lifetime else {
                throw APIError.badParameter("cursor", "this cursor is older than \(Cursor.lifetime / 60_000) minutes and has expired; drop it to start from the first page")
            }
            cursor = decoded
        }
        let clock = cursor?.clock ?? now
        let (from, to) = try resolveRange(single, now: clock)

        var query = SessionQuery(from: from, to: to, filters: try filters.build(adding: scope),
                                 sort: .start, order: .desc, limit: defaultLimit, asOf: cursor?.asOf, clock: clock,
                                 after: nil)
        if let text = single["sort"] {
            guard let sort = SortKey(rawValue: text) else {
                throw APIError.badParameter("sort", "sort must be one of start, duration, errors, actions; got '\(text)'")
            }
            query.sort = sort
        }
        if let text = single["order"] {
            guard let order = SortOrder(rawValue: text) else {
                throw APIError.badParameter("order", "order must be desc or asc; got '\(text)'")
            }
            query.order = order
        }
        if let text = single["limit"] {
            guard let n = TimeSyntax.integer(text[...]), n >= 1, n <= Int64(maxLimit) else {
                throw APIError.badParameter("limit", "limit must be an integer from 1 to \(maxLimit); got '\(text)'")
            }
            query.limit = Int(n)
        }
        if let cursor {
            guard cursor.fingerprint == query.fingerprint, cursor.sort == query.sort, cursor.order == query.order else {
                throw APIError.badParameter("cursor", "this cursor belongs to a query with other filters, time range or sort; repeat the same parameters, or drop the cursor to start again")
            }
            query.after = (cursor.lastValue, cursor.lastId)
        }
        return query
    }

    static func resolveRange(_ single: SingleValues, now: Int64) throws(APIError) -> (Int64?, Int64?) {
        var from: Int64?
        var to: Int64?
        for name in ["from", "to"] {
            guard let text = single[name] else { continue }
            guard let t = TimeSyntax.time(text[...], now: now) else {
                throw APIError.badParameter(name, "\(name) must be epoch milliseconds, an RFC 3339 time like 2026-11-26T14:00:00Z, now or now-2h; got '\(text)'")
            }
            if name == "from" { from = t } else { to = t }
        }
        if let from, let to, from >= to {
            throw APIError.badParameter("to", "to (\(to)) must be later than from (\(from))")
        }
        return (from, to)
    }
}

/// Control parameters that may appear at most once.
struct SingleValues {
    private var values: [String: String] = [:]

    mutating func set(_ name: String, _ value: String) throws(APIError) {
        guard values[name] == nil else {
            throw APIError.badParameter(name, "\(name) is given more than once")
        }
        values[name] = value
    }

    subscript(name: String) -> String? { values[name] }
}

/// Collects filter parameters (`browser=`, `not.browser=`, `!browser=`, `prop.KEY=`, `minErrors=`, ...)
/// and validates them into `SessionFilter`s.
struct FilterParser {
    private struct TextKey: Hashable {
        var field: String
        var prop: Bool
        var negated: Bool
    }

    private var texts: [TextKey: [TextMatch]] = [:]
    private var textOrder: [TextKey] = []
    private var ranges: [String: (SessionFilter, String)] = [:]

    static func unknown(_ name: String) -> APIError {
        APIError(status: 400, code: .unknownParameter,
                 message: "unknown parameter '\(name)'; the query API lists its parameters in Schemas/query-api.openapi.json",
                 parameter: name)
    }

    /// Records one parameter; false when `name` is not a filter.
    mutating func add(_ name: String, _ value: String) throws(APIError) -> Bool {
        var rest = Substring(name)
        var negated = false
        if rest.hasPrefix("not.") {
            rest = rest.dropFirst(4)
            negated = true
        } else if rest.hasPrefix("!") {
            rest = rest.dropFirst()
            negated = true
        }
        if rest.hasPrefix("prop.") {
            let key = String(rest.dropFirst(5))
            guard !key.isEmpty else {
                throw APIError.badParameter(name, "\(name) needs a property name: prop.KEY=VALUE, e.g. prop.plan=pro")
            }
            append(TextKey(field: key, prop: true, negated: negated), freeText(value))
            return true
        }
        if let field = TextField(rawValue: String(rest)) {
            append(TextKey(field: field.rawValue, prop: false, negated: negated), try match(field, value, name))
            return true
        }
        if let (field, atLeast) = Self.rangeParameter(rest) {
            guard ranges[name] == nil else { throw APIError.badParameter(name, "\(name) is given more than once") }
            let number: Int64?
            if field == .duration {
                number = TimeSyntax.duration(value[...])
            } else {
                number = TimeSyntax.integer(value[...])
            }
            guard let number else {
                let form = field == .duration ? "a duration like 1500, 90s, 5m or 2h" : "a non-negative integer"
                throw APIError.badParameter(name, "\(name) must be \(form); got '\(value)'")
            }
            let filter: SessionFilter = atLeast ? .atLeast(field, number, negated: negated)
                                                : .atMost(field, number, negated: negated)
            ranges[name] = (filter, name)
            return true
        }
        if negated { throw Self.unknown(name) }
        return false
    }

    private mutating func append(_ key: TextKey, _ match: TextMatch) {
        if texts[key] == nil { textOrder.append(key) }
        texts[key, default: []].append(match)
    }

    private static func rangeParameter(_ name: Substring) -> (NumberField, Bool)? {
        for field in NumberField.allCases {
            let suffix = field.rawValue.prefix(1).uppercased() + field.rawValue.dropFirst()
            if name == "min" + suffix { return (field, true) }
            if name == "max" + suffix { return (field, false) }
        }
        return nil
    }

    private func freeText(_ value: String) -> TextMatch {
        if value.isEmpty { return .missing }
        if value.hasSuffix("*") { return .prefix(String(value.dropLast())) }
        return .exact(value)
    }

    private func match(_ field: TextField, _ value: String, _ name: String) throws(APIError) -> TextMatch {
        guard let allowed = field.allowedValues else { return freeText(value) }
        guard allowed.contains(value) else {
            throw APIError.badParameter(name, "\(name) must be one of \(allowed.joined(separator: ", ")); got '\(value)'")
        }
        if field == .experience && value == "none" { return .missing }
        return .exact(value)
    }

    /// The filters in canonical order, `scope` included; refuses contradictory ranges.
    func build(adding scope: [SessionFilter]) throws(APIError) -> [SessionFilter] {
        var filters = scope
        for key in textOrder {
            guard let matches = texts[key] else { continue }
            if key.prop {
                filters.append(.prop(key: key.field, matches, negated: key.negated))
            } else if let field = TextField(rawValue: key.field) {
                filters.append(.text(field, matches, negated: key.negated))
            }
        }
        for field in NumberField.allCases {
            let suffix = field.rawValue.prefix(1).uppercased() + field.rawValue.dropFirst()
            if case .atLeast(_, let lo, false)? = ranges["min" + suffix]?.0,
               case .atMost(_, let hi, false)? = ranges["max" + suffix]?.0, lo > hi {
                throw APIError.badParameter("max" + suffix, "max\(suffix) (\(hi)) is below min\(suffix) (\(lo)); no session can match")
            }
        }
        filters += ranges.values.map(\.0)
        return filters.sorted { Self.canonical($0) < Self.canonical($1) }
    }

    /// A text form of a filter, unique per filter, used for ordering and fingerprints.
    static func canonical(_ filter: SessionFilter) -> String {
        func values(_ matches: [TextMatch]) -> String {
            matches.map { m -> String in
                switch m {
                case .exact(let s): "=" + s.utf8.count.description + ":" + s
                case .prefix(let s): "^" + s.utf8.count.description + ":" + s
                case .missing: "0"
                }
            }.joined(separator: ",")
        }
        switch filter {
        case .text(let field, let matches, let negated):
            return "t:\(field.rawValue):\(negated ? "n" : "p"):" + values(matches)
        case .prop(let key, let matches, let negated):
            return "p:\(key.utf8.count):\(key):\(negated ? "n" : "p"):" + values(matches)
        case .atLeast(let field, let n, let negated):
            return "r:\(field.rawValue):min:\(negated ? "n" : "p"):\(n)"
        case .atMost(let field, let n, let negated):
            return "r:\(field.rawValue):max:\(negated ? "n" : "p"):\(n)"
        }
    }
}

/// FNV-1a 64 over length-separated strings: stable across processes and builds (unlike `Hasher`).
struct Fingerprint {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for b in text.utf8 { mix(b) }
        mix(0xff)
    }

    private mutating func mix(_ b: UInt8) {
        value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3
    }
}
