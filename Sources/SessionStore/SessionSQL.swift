import Model

/// A value bound to a `?` of generated SQL.
enum SQLValue: Sendable, Hashable {
    case int(Int64)
    case text(String)
}

/// Generated SQL with its bindings, in the order of the `?`s.
struct SQLQuery: Sendable, Hashable {
    var sql: String
    var bindings: [SQLValue]
}

/// Appends SQL text and bindings together so the `?`s and their values never drift apart.
struct SQLBuilder {
    var sql = ""
    var bindings: [SQLValue] = []

    mutating func text(_ s: String) { sql += s }

    mutating func bind(_ value: SQLValue) {
        sql += "?"
        bindings.append(value)
    }

    mutating func bind(_ n: Int64) { bind(.int(n)) }
    mutating func bind(_ s: String) { bind(.text(s)) }

    var query: SQLQuery { SQLQuery(sql: sql, bindings: bindings) }
}

/// SQL over the store's schema (`sessions`, `session_terms`/`terms`, `user_links`, `events`)
/// for the query API: the typed queries of `SessionFilter.swift` in, SQL text and bindings out;
/// `SessionReader` runs it. Every column is qualified with `sessions.` so the conditions also work in
/// joins with `events`. Each filter compiles to a condition that is 0 or 1, never NULL, so `NOT`
/// selects exactly the complement.
enum SessionSQL {
    /// Term kinds of `terms.kind`.
    static let pageTerm = SessionStore.TermKind.page.rawValue
    static let actionTerm = SessionStore.TermKind.action.rawValue
    static let propTerm = SessionStore.TermKind.prop.rawValue

    /// Extra columns after the store's session columns in list and single-session queries.
    static let extraColumns = "(SELECT ul.user_tag FROM user_links ul WHERE ul.vid = sessions.vid ORDER BY ul.linked_at DESC, ul.user_tag LIMIT 1), sessions.sid"

    /// Which rows a list query reads, in parts the caller merges, so the unchanged rows are read
    /// in the order of an index. Sorting by start reads the sessions whose sort values did not
    /// change since `asOf` (`unchanged`, in the order of the (app, start) index) and the few that
    /// changed. Sorting by duration, errors or actions reads completed sessions whose value did
    /// not change (in the order of the store's (app, column) index, which holds completed
    /// sessions only), live ones whose value did not change (few), and the few that changed. The
    /// changed ones have a row in `session_pins` after `asOf` and sort by the value they had at
    /// `asOf`. `all` reads every row in one query (pinned values for every row).
    enum ListPart: Sendable, CaseIterable {
        case all, unchanged, unchangedCompleted, unchangedLive, changed
    }

    /// `GET /v1/sessions`: one page (limit + 1 rows, the extra one says whether a next page
    /// exists). Selected: `columns`, `sid`, the sort key.
    /// `asOf` is the commit stamp the page is pinned to (`q.asOf` from the cursor, or the newest
    /// stamp of the first page's snapshot).
    /// `popular` says whether a term (page, action, prop) is held by many sessions: such a
    /// filter is checked row by row while the sort index is walked, instead of driving the query
    /// from every session holding it (which then all need sorting).
    static func list(_ q: SessionListQuery, asOf: Int64, columns: String, part: ListPart = .all,
                            popular: (TermLookup) -> Bool = { _ in false }) -> SQLQuery {
        var b = SQLBuilder()
        b.text("SELECT \(qualified(columns)), sessions.sid, ")
        sortKey(q.sort, asOf: asOf, part: part, &b)
        b.text(" FROM sessions WHERE sessions.merged_into IS NULL AND sessions.created_at <= ")
        b.bind(asOf)
        switch part {
        case .all: break
        case .unchanged, .unchangedCompleted, .unchangedLive:
            if part != .unchanged { b.text(part == .unchangedLive ? " AND sessions.live = 1" : " AND sessions.live = 0") }
            b.text(" AND NOT EXISTS (SELECT 1 FROM session_pins p WHERE p.sid = sessions.sid AND p.until_ts > ")
            b.bind(asOf)
            b.text(")")
        case .changed:
            b.text(" AND sessions.sid IN (SELECT p.sid FROM session_pins p WHERE p.until_ts > ")
            b.bind(asOf)
            b.text(")")
        }
        if let from = q.from {
            b.text(" AND sessions.end_ts >= ")
            b.bind(from)
        }
        if let to = q.to {
            b.text(" AND sessions.start_ts < ")
            b.bind(to)
        }
        conditions(q.filters, popular: popular, &b)
        let direction = q.order == .desc ? "DESC" : "ASC"
        if let after = q.after, let sid = Int64(after.id) {
            b.text(" AND (")
            sortKey(q.sort, asOf: asOf, part: part, &b)
            b.text(", sessions.sid) \(q.order == .desc ? "<" : ">") (")
            b.bind(after.value)
            b.text(", ")
            b.bind(sid)
            b.text(")")
        }
        b.text(" ORDER BY ")
        sortKey(q.sort, asOf: asOf, part: part, &b)
        b.text(" \(direction), sessions.sid \(direction) LIMIT ")
        b.bind(Int64(q.limit) + 1)
        return b.query
    }

    /// The sort value of a row as of `asOf`. A session whose value changed after `asOf` takes the
    /// value it had then, from `session_pins` (see `SortPins`), so a session that keeps growing
    /// while a client pages, or whose start a late event moved, keeps its place.
    static func sortKey(_ sort: SortKey, asOf: Int64, part: ListPart, _ b: inout SQLBuilder) {
        let column: String
        switch sort {
        case .start: column = "start_ts"
        case .duration: column = "duration"
        case .errors: column = "errors"
        case .actions: column = "actions"
        }
        switch part {
        case .unchanged, .unchangedCompleted, .unchangedLive:
            b.text("sessions.\(column)")
        case .changed:
            pinned(column, asOf: asOf, &b)
        case .all:
            pinned(column, asOf: asOf, &b)
        }
    }

    static func pinned(_ column: String, asOf: Int64, _ b: inout SQLBuilder) {
        b.text("IFNULL((SELECT p.\(column) FROM session_pins p WHERE p.sid = sessions.sid AND p.until_ts > ")
        b.bind(asOf)
        b.text(" ORDER BY p.until_ts LIMIT 1), sessions.\(column))")
    }

    /// `/v1/stats`: one row per session that started in [from, to) and passes the filters:
    /// start_ts, duration, experience, health, live, end_reason, entry_page, exit_page.
    static func statsSessions(_ q: SessionStatsQuery) -> SQLQuery {
        var b = SQLBuilder()
        b.text("SELECT sessions.start_ts, sessions.duration, sessions.experience, sessions.health, sessions.live, sessions.end_reason, sessions.entry_page, sessions.exit_page FROM sessions")
        statsWhere(q, &b)
        return b.query
    }

    /// `/v1/stats` top errors: the error events (event_id, ts, type, duration, body) of the
    /// sessions `statsSessions` selects.
    static func statsErrors(_ q: SessionStatsQuery) -> SQLQuery {
        var b = SQLBuilder()
        b.text("""
            SELECT e.event_id, e.ts, e.type, e.duration, e.body FROM sessions JOIN events e \
            ON e.vid = sessions.vid AND e.type = \(EventType.error.rawValue) \
            AND (e.ts > sessions.start_ts OR (e.ts = sessions.start_ts AND e.event_id >= sessions.first_event_id)) \
            AND (e.ts < sessions.last_ts OR (e.ts = sessions.last_ts AND e.event_id <= sessions.last_event_id))
            """)
        statsWhere(q, &b)
        b.text(" AND sessions.errors > 0")
        return b.query
    }

    /// `/v1/stats` orphan heartbeats: how many stored orphan heartbeats lie in the range, of the
    /// apps the `app` filters select (`visitors` stands in for `sessions`: it has the `app` column
    /// the app conditions name). Other filters describe sessions and do not apply.
    static func statsOrphanHeartbeats(_ q: SessionStatsQuery) -> SQLQuery {
        var b = SQLBuilder()
        b.text("SELECT count(*) FROM orphan_heartbeats o JOIN visitors sessions ON sessions.vid = o.vid WHERE o.ts >= ")
        b.bind(q.from)
        b.text(" AND o.ts < ")
        b.bind(q.to)
        let apps = positiveApps(q.filters)
        for filter in q.filters {
            guard case .text(.app, _, _) = filter else { continue }
            b.text(" AND ")
            condition(filter, apps: apps, byVisitor: false, popular: { _ in false }, &b)
        }
        return b.query
    }

    static func statsWhere(_ q: SessionStatsQuery, _ b: inout SQLBuilder) {
        b.text(" WHERE sessions.merged_into IS NULL AND sessions.start_ts >= ")
        b.bind(q.from)
        b.text(" AND sessions.start_ts < ")
        b.bind(q.to)
        conditions(q.filters, &b)
    }

    /// `/v1/users/live` and `/v1/users/active`: (app, distinct visitors). `activeSince` nil
    /// counts visitors with a live session.
    static func userCounts(apps: [String], activeSince: Int64?) -> SQLQuery {
        var b = SQLBuilder()
        b.text("SELECT sessions.app, count(DISTINCT sessions.vid) FROM sessions WHERE sessions.merged_into IS NULL AND ")
        if let since = activeSince {
            b.text("sessions.end_ts >= ")
            b.bind(since)
        } else {
            b.text("sessions.live = 1")
        }
        if !apps.isEmpty {
            b.text(" AND sessions.app IN (")
            for (i, app) in apps.enumerated() {
                if i > 0 { b.text(", ") }
                b.bind(app)
            }
            b.text(")")
        }
        b.text(" GROUP BY sessions.app")
        return b.query
    }

    static func qualified(_ columns: String) -> String {
        columns == SessionRow.selectColumns ? qualifiedSelectColumns : qualifying(columns)
    }

    /// The store's columns, qualified once: every list query and probe selects them.
    static let qualifiedSelectColumns = qualifying(SessionRow.selectColumns)

    private static func qualifying(_ columns: String) -> String {
        columns.split(separator: ",").map { "sessions." + $0.trimmingCharacters() }.joined(separator: ", ")
    }

    static func conditions(_ filters: [SessionFilter], popular: (TermLookup) -> Bool = { _ in false },
                           _ b: inout SQLBuilder) {
        let apps = positiveApps(filters)
        let byVisitor = filters.contains(where: narrowsToVisitors)
        for filter in filters {
            b.text(" AND ")
            condition(filter, apps: apps, byVisitor: byVisitor, popular: popular, &b)
        }
    }

    /// The filter keeps only the sessions of named visitors or user tags: they are few, so they
    /// are read through the (vid, start) index. The planner would rather walk an (app, ...) index
    /// in the asked order and test every session of the app, so the app condition is then
    /// written `+sessions.app` (a `+` hides a column from index selection).
    static func narrowsToVisitors(_ filter: SessionFilter) -> Bool {
        guard case .text(let field, let matches, negated: false) = filter, field == .visitor || field == .user,
              !matches.isEmpty else { return false }
        return matches.allSatisfy { if case .exact = $0 { true } else { false } }
    }

    /// One term lookup of a filter: kind, exact values or a prefix, restricted to apps.
    struct TermLookup: Sendable, Hashable {
        var kind: Int64
        var values: [String]
        var prefix: String?
        var apps: [String]?
    }

    /// The positive term lookups of `filters` (what `popular` is asked about).
    static func termLookups(_ filters: [SessionFilter]) -> [TermLookup] {
        let apps = positiveApps(filters)
        var lookups: [TermLookup] = []
        for filter in filters {
            switch filter {
            case .text(let field, let matches, false) where field == .page || field == .action:
                for m in matches {
                    let kind = field == .page ? pageTerm : actionTerm
                    if case .exact(let v) = m { lookups.append(TermLookup(kind: kind, values: [v], prefix: nil, apps: apps)) }
                    if case .prefix(let p) = m { lookups.append(TermLookup(kind: kind, values: [], prefix: p, apps: apps)) }
                }
            case .prop(let key, let matches, false):
                for m in matches {
                    if case .exact(let v) = m { lookups.append(TermLookup(kind: propTerm, values: propValues(key, v), prefix: nil, apps: apps)) }
                    if case .prefix(let p) = m { lookups.append(TermLookup(kind: propTerm, values: [], prefix: key + "=" + p, apps: apps)) }
                }
            default:
                break
            }
        }
        return lookups
    }

    /// Counts (up to `cap`) the sessions holding a term: how `SessionReader` decides `popular`.
    static func termCount(_ lookup: TermLookup, cap: Int64) -> SQLQuery {
        var b = SQLBuilder()
        b.text("SELECT count(*) FROM (SELECT 1 FROM session_terms st WHERE st.term_id IN (")
        termIDs(lookup, &b)
        b.text(") LIMIT ")
        b.bind(cap)
        b.text(")")
        return b.query
    }

    /// The store spells numbers as Swift prints a Double ("3.0"): accept both spellings.
    static func propValues(_ key: String, _ value: String) -> [String] {
        var values = [key + "=" + value]
        if let n = Double(value), n.isFinite, String(n) != value { values.append(key + "=" + String(n)) }
        return values
    }

    /// The apps a query is restricted to, when it names them exactly: lets term lookups use the
    /// (app, kind, value) index of `terms`.
    static func positiveApps(_ filters: [SessionFilter]) -> [String]? {
        for case .text(.app, let matches, negated: false) in filters {
            var apps: [String] = []
            for m in matches {
                guard case .exact(let app) = m else { return nil }
                apps.append(app)
            }
            return apps
        }
        return nil
    }

    static func condition(_ filter: SessionFilter, apps: [String]?, byVisitor: Bool, popular: (TermLookup) -> Bool,
                          _ b: inout SQLBuilder) {
        switch filter {
        case .text(let field, let matches, let negated):
            b.text(negated ? "NOT (" : "(")
            for (i, m) in matches.enumerated() {
                if i > 0 { b.text(" OR ") }
                textCondition(field, m, apps: apps, byVisitor: byVisitor, popular: popular, &b)
            }
            b.text(")")
        case .prop(let key, let matches, let negated):
            b.text(negated ? "NOT (" : "(")
            for (i, m) in matches.enumerated() {
                if i > 0 { b.text(" OR ") }
                switch m {
                case .exact(let value):
                    term(TermLookup(kind: propTerm, values: propValues(key, value), prefix: nil, apps: apps), popular, &b)
                case .prefix(let p):
                    term(TermLookup(kind: propTerm, values: [], prefix: key + "=" + p, apps: apps), popular, &b)
                case .missing:
                    b.text("NOT ")
                    term(TermLookup(kind: propTerm, values: [], prefix: key + "=", apps: apps), { _ in true }, &b)
                }
            }
            b.text(")")
        case .atLeast(let field, let n, let negated):
            b.text(negated ? "NOT (" : "(")
            b.text(numberColumn(field) + " >= ")
            b.bind(n)
            b.text(")")
        case .atMost(let field, let n, let negated):
            b.text(negated ? "NOT (" : "(")
            b.text(numberColumn(field) + " <= ")
            b.bind(n)
            b.text(")")
        }
    }

    static func numberColumn(_ field: NumberField) -> String {
        switch field {
        case .errors: "sessions.errors"
        case .actions: "sessions.actions"
        case .duration: "sessions.duration"
        }
    }

    static func column(_ field: TextField) -> String? {
        switch field {
        case .app: "sessions.app"
        case .visitor: "sessions.visitor"
        case .browser: "sessions.browser"
        case .os: "sessions.os"
        case .deviceType: "sessions.device_type"
        case .appVersion: "sessions.app_version"
        case .experience: "sessions.experience"
        case .health: "sessions.health"
        case .endReason: "sessions.end_reason"
        case .entryPage: "sessions.entry_page"
        case .exitPage: "sessions.exit_page"
        case .user, .platform, .status, .page, .action: nil
        }
    }

    static func textCondition(_ field: TextField, _ m: TextMatch, apps: [String]?, byVisitor: Bool,
                              popular: (TermLookup) -> Bool, _ b: inout SQLBuilder) {
        switch field {
        case .platform:
            // The parser only lets platform names through; an unknown one matches nothing.
            guard case .exact(let name) = m, let platform = Platform(name: name) else { b.text("0"); return }
            b.text("sessions.platform = ")
            b.bind(Int64(platform.rawValue))
        case .status:
            guard case .exact(let status) = m else { b.text("0"); return }
            b.text(status == "live" ? "sessions.live = 1" : "sessions.live = 0")
        case .visitor:
            guard case .exact(let visitor) = m else {
                columnCondition(field, m, hidden: false, &b)
                return
            }
            // Through the (app, visitor) index of `visitors` and the (vid, start) index of
            // `sessions`: comparing `sessions.visitor` would read every session of the app.
            b.text("sessions.vid IN (SELECT v.vid FROM visitors v WHERE ")
            appScope("v.app", apps, &b)
            b.text(" AND v.visitor = ")
            b.bind(visitor)
            b.text(")")
        case .user:
            switch m {
            case .exact(let tag):
                // Through the (app, user_tag, vid) key of `user_links`.
                b.text("sessions.vid IN (SELECT ul.vid FROM user_links ul WHERE ")
                appScope("ul.app", apps, &b)
                b.text(" AND ul.user_tag = ")
                b.bind(tag)
                b.text(")")
            case .prefix(let p):
                b.text("sessions.vid IN (SELECT ul.vid FROM user_links ul WHERE ")
                prefixMatch("ul.user_tag", p, &b)
                b.text(")")
            case .missing:
                b.text("sessions.vid NOT IN (SELECT ul.vid FROM user_links ul)")
            }
        case .page, .action:
            let kind = field == .page ? pageTerm : actionTerm
            switch m {
            case .exact(let value): term(TermLookup(kind: kind, values: [value], prefix: nil, apps: apps), popular, &b)
            case .prefix(let p): term(TermLookup(kind: kind, values: [], prefix: p, apps: apps), popular, &b)
            case .missing:
                b.text("NOT ")
                term(TermLookup(kind: kind, values: [], prefix: "", apps: apps), { _ in true }, &b)
            }
        default:
            columnCondition(field, m, hidden: byVisitor && field == .app, &b)
        }
    }

    /// A match on the session's own column of the field; `hidden` keeps it from choosing an index.
    static func columnCondition(_ field: TextField, _ m: TextMatch, hidden: Bool, _ b: inout SQLBuilder) {
        guard let column = column(field) else { b.text("0"); return }
        let col = hidden ? "+" + column : column
        switch m {
        case .exact(let value):
            b.text(col + " IS ")
            b.bind(value)
        case .prefix(let p):
            b.text("(\(col) IS NOT NULL AND ")
            prefixMatch(col, p, &b)
            b.text(")")
        case .missing:
            b.text(col + " IS NULL")
        }
    }

    /// `column` is one of the query's apps, or of every app holding sessions (`rule_sets` has a
    /// row per app and platform that wrote a session), so an (app, ...) index can be used.
    static func appScope(_ column: String, _ apps: [String]?, _ b: inout SQLBuilder) {
        b.text(column + " IN (")
        if let apps, !apps.isEmpty {
            for (i, app) in apps.enumerated() {
                if i > 0 { b.text(", ") }
                b.bind(app)
            }
        } else {
            b.text("SELECT DISTINCT r.app FROM rule_sets r")
        }
        b.text(")")
    }

    /// `substr` counts characters as SQLite does (Unicode scalars), not Swift grapheme clusters.
    static func prefixMatch(_ col: String, _ prefix: String, _ b: inout SQLBuilder) {
        b.text("substr(\(col), 1, ")
        b.bind(Int64(prefix.unicodeScalars.count))
        b.text(") = ")
        b.bind(prefix)
    }

    /// The session holds a term of the lookup. A popular term is checked per row (the primary
    /// key (sid, term_id) of `session_terms`); a rare one drives the query from its sessions.
    static func term(_ lookup: TermLookup, _ popular: (TermLookup) -> Bool, _ b: inout SQLBuilder) {
        if popular(lookup) {
            b.text("EXISTS (SELECT 1 FROM session_terms st WHERE st.sid = sessions.sid AND st.term_id IN (")
        } else {
            b.text("sessions.sid IN (SELECT st.sid FROM session_terms st WHERE st.term_id IN (")
        }
        termIDs(lookup, &b)
        b.text("))")
    }

    static func termIDs(_ lookup: TermLookup, _ b: inout SQLBuilder) {
        b.text("SELECT t.term_id FROM terms t WHERE ")
        if let apps = lookup.apps, !apps.isEmpty {
            b.text("t.app IN (")
            for (i, app) in apps.enumerated() {
                if i > 0 { b.text(", ") }
                b.bind(app)
            }
            b.text(") AND ")
        }
        b.text("t.kind = ")
        b.bind(lookup.kind)
        if let prefix = lookup.prefix {
            b.text(" AND ")
            prefixMatch("t.value", prefix, &b)
        } else {
            b.text(" AND t.value IN (")
            for (i, v) in lookup.values.enumerated() {
                if i > 0 { b.text(", ") }
                b.bind(v)
            }
            b.text(")")
        }
    }
}

private extension Substring {
    func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\n" }).reversed().drop(while: { $0 == " " || $0 == "\n" }).reversed())
    }
}
