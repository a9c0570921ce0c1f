// What sessiond's query API asks the store for, as typed values: the filter vocabulary, the
// queries (`SessionListQuery`, `SessionStatsQuery`) and the rows they answer. `SessionSQL`
// compiles them to SQL and `SessionReader` runs them; callers never see SQL text.

/// Session fields filtered by text (Schemas/README.md, "Filters and negation").
public enum TextField: String, CaseIterable, Sendable, Hashable {
    case app, visitor, user, platform, browser, os, deviceType, appVersion, experience, health
    case endReason, status, entryPage, exitPage, page, action
}

/// How one filter value matches a session field.
public enum TextMatch: Sendable, Hashable {
    case exact(String)
    /// The value ended in `*`: the field starts with this text (an empty prefix means "has a value").
    case prefix(String)
    /// An empty value (or `experience=none`): the field is not set.
    case missing
}

/// Session numbers with a min/max filter.
public enum NumberField: String, CaseIterable, Sendable, Hashable {
    case errors, actions, duration
}

/// One filter of a session query. Repeated values of one parameter are alternatives (any of);
/// distinct parameters all apply (and). `negated` selects exactly the sessions the filter would not.
public enum SessionFilter: Sendable, Hashable {
    case text(TextField, [TextMatch], negated: Bool)
    /// A session with an event whose props hold `key` with one of the values
    /// (numbers and booleans match by their JSON text).
    case prop(key: String, [TextMatch], negated: Bool)
    case atLeast(NumberField, Int64, negated: Bool)
    case atMost(NumberField, Int64, negated: Bool)
}

public enum SortKey: String, CaseIterable, Sendable, Hashable {
    case start, duration, errors, actions
}

public enum SortOrder: String, CaseIterable, Sendable, Hashable {
    case desc, asc
}


/// One page of `GET /v1/sessions` as the store reads it.
public struct SessionListQuery: Sendable {
    /// Sessions overlapping [from, to): they end at or after `from` and start before `to`.
    public var from: Int64?
    public var to: Int64?
    public var filters: [SessionFilter]
    public var sort: SortKey
    public var order: SortOrder
    public var limit: Int
    /// The commit stamp the listing is pinned to; nil on a first page, which takes the newest
    /// stamp of its read snapshot (or `clock` on an empty store). Sessions created after it are
    /// left out, and the `duration`, `errors` and `actions` sorts use each session's value as of
    /// this stamp (`SortPins`).
    public var asOf: Int64?
    /// Server time of the first page (the stamp of an empty store).
    public var clock: Int64
    /// The last row of the previous page: (sort value, session sid); the page starts after it.
    public var after: (value: Int64, id: String)?

    public init(from: Int64?, to: Int64?, filters: [SessionFilter], sort: SortKey, order: SortOrder, limit: Int,
                asOf: Int64?, clock: Int64, after: (value: Int64, id: String)?) {
        self.from = from
        self.to = to
        self.filters = filters
        self.sort = sort
        self.order = order
        self.limit = limit
        self.asOf = asOf
        self.clock = clock
        self.after = after
    }
}

/// One session of a list page.
public struct ListedSession: Sendable {
    public var row: SessionRow
    /// The visitor's newest user tag, when the session itself has none (anonymous sessions of a
    /// tagged visitor show it too).
    public var linkedTag: String?
    /// The session's sort value as of the page's stamp, and its internal id: a cursor continues
    /// after (sortValue, sid).
    public var sortValue: Int64
    public var sid: Int64
}

/// One page of sessions: `limit` rows at most, pinned at `asOf`; `hasMore` when a next page exists.
public struct SessionPage: Sendable {
    public var sessions: [ListedSession]
    public var asOf: Int64
    public var hasMore: Bool
}

/// A session found by id for `GET /v1/sessions/{id}` and its sub-routes (retired ones included:
/// `row.mergedInto` names the session that holds their events now).
public struct QueriedSession: Sendable {
    public var row: SessionRow
    /// The visitor's internal key (the session's events are read by it).
    public var vid: Int64
    /// The visitor's newest user tag.
    public var linkedTag: String?
}

/// The sessions `/v1/stats` summarises: those that started in [from, to) and pass the filters.
public struct SessionStatsQuery: Sendable, Hashable {
    public var from: Int64
    public var to: Int64
    public var filters: [SessionFilter]

    public init(from: Int64, to: Int64, filters: [SessionFilter]) {
        self.from = from
        self.to = to
        self.filters = filters
    }
}

/// The stored fields `/v1/stats` counts of one session.
public struct StatsSessionRow: Sendable {
    public var start: Int64
    public var duration: Int64
    public var experience: String?
    public var health: String
    public var live: Bool
    public var endReason: String?
    public var entryPage: String?
    public var exitPage: String?
}
