import Model
import Sessionizer

// The query API's reads: typed queries in (`SessionFilter.swift`), rows out. The SQL comes from
// `SessionSQL`; statements whose text varies with the filters are prepared per call
// (`withTransientStatement`) so they never fill the statement cache.

extension SessionReader {
    // MARK: Lists

    /// One page. A first page (`q.asOf` nil) switches sort pins on and runs in one read
    /// transaction with the choice of its stamp: the newest commit stamp it can see, so every
    /// later change has a later stamp.
    public func sessions(_ q: SessionListQuery) throws(StoreError) -> SessionPage {
        if q.asOf == nil { pins?.activate() }
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let asOf: Int64
        if let pinned = q.asOf {
            asOf = pinned
        } else {
            asOf = try connection.scalarInt("SELECT max(committed_at) FROM batch_ranges") ?? q.clock
        }
        struct Row {
            var row: SessionRow
            var vid: Int64
            var key: Int64
            var sid: Int64
        }
        let base = SessionRow.selectColumnCount
        var popular: Set<SessionSQL.TermLookup> = []
        for lookup in SessionSQL.termLookups(q.filters) where try isPopular(lookup) { popular.insert(lookup) }
        func read(_ part: SessionSQL.ListPart) throws(StoreError) -> [Row] {
            let generated = SessionSQL.list(q, asOf: asOf, columns: SessionRow.selectColumns, part: part,
                                            popular: { popular.contains($0) })
            var rows: [Row] = []
            try connection.withTransientStatement(generated.sql) { statement throws(StoreError) in
                try Self.bind(generated.bindings, statement)
                while try statement.step() {
                    rows.append(Row(row: try SessionRow.read(statement), vid: statement.int64(2),
                                    key: statement.int64(base + 1), sid: statement.int64(base)))
                }
            }
            return rows
        }
        var rows = q.sort == .start ? try read(.unchanged) + read(.changed)
                                    : try read(.unchangedCompleted) + read(.unchangedLive) + read(.changed)
        rows.sort { a, b in
            q.order == .desc ? (a.key, a.sid) > (b.key, b.sid) : (a.key, a.sid) < (b.key, b.sid)
        }
        let more = rows.count > q.limit
        // The visitor's user tag, for the rows of this page only (anonymous sessions of a tagged
        // visitor show it too).
        var page: [ListedSession] = []
        for r in rows.prefix(q.limit) {
            page.append(ListedSession(row: r.row, linkedTag: r.row.userTag == nil ? try linkedTag(vid: r.vid) : nil,
                                      sortValue: r.key, sid: r.sid))
        }
        return SessionPage(sessions: page, asOf: asOf, hasMore: more)
    }

    func isPopular(_ lookup: SessionSQL.TermLookup) throws(StoreError) -> Bool {
        let count = SessionSQL.termCount(lookup, cap: popularTermSessions)
        var n: Int64 = 0
        try connection.withTransientStatement(count.sql) { statement throws(StoreError) in
            try Self.bind(count.bindings, statement)
            if try statement.step() { n = statement.int64(0) }
        }
        return n >= popularTermSessions
    }

    func linkedTag(vid: Int64) throws(StoreError) -> String? {
        let select = try connection.statement(
            "SELECT user_tag FROM user_links WHERE vid = ? ORDER BY linked_at DESC, user_tag LIMIT 1")
        defer { select.reset() }
        try select.bind(1, vid)
        return try select.step() ? select.text(0) : nil
    }

    // MARK: One session

    /// The session `id` with its visitor's key and newest user tag; retired ids included (their
    /// `row.mergedInto` names the session that replaced them).
    public func querySession(id: String) throws(StoreError) -> QueriedSession? {
        let sql = "SELECT \(SessionSQL.qualified(SessionRow.selectColumns)), \(SessionSQL.extraColumns) FROM sessions WHERE sessions.id = ?"
        var found: QueriedSession?
        try connection.withTransientStatement(sql) { statement throws(StoreError) in
            try statement.bind(1, id)
            guard try statement.step() else { return }
            let row = try SessionRow.read(statement)
            found = QueriedSession(row: row, vid: statement.int64(2),
                                   linkedTag: row.mergedInto == nil ? statement.optionalText(SessionRow.selectColumnCount) : nil)
        }
        return found
    }

    /// The session's events in timeline order (ts, then event id).
    public func events(of session: QueriedSession) throws(StoreError) -> [Event] {
        try StoredHistory(connection: connection)
            .events(vid: session.vid, from: session.row.firstEvent, through: session.row.lastEvent)
            .map(\.event)
    }

    /// The session rules (config version) stored as rule set `id`: those a session was computed
    /// with (`SessionRow.rulesID`).
    public func ruleSet(_ id: Int64) throws(StoreError) -> SessionRules {
        if let known = ruleSets[id] { return known }
        let rules = try SessionStore.ruleSet(id, on: connection)
        ruleSets[id] = rules
        return rules
    }

    /// The id of the visitor's next session after `session` (by start, then first event).
    public func nextSessionID(after session: QueriedSession) throws(StoreError) -> String? {
        var next: String?
        let sql = """
            SELECT id FROM sessions WHERE vid = ? AND merged_into IS NULL
            AND (start_ts > ? OR (start_ts = ? AND first_event_id > ?)) ORDER BY start_ts, first_event_id LIMIT 1
            """
        try connection.withTransientStatement(sql) { statement throws(StoreError) in
            try statement.bind(1, session.vid)
            try statement.bind(2, session.row.start)
            try statement.bind(3, session.row.start)
            try statement.bind(4, session.row.firstEventID)
            if try statement.step() { next = statement.text(0) }
        }
        return next
    }

    // MARK: Counts and stats

    /// Distinct visitors per app: with a live session (`activeSince` nil) or with a session that
    /// ended at or after `activeSince`. Every app of `apps` is in the answer (0 when none).
    public func userCounts(apps: [String], activeSince: Int64?) throws(StoreError) -> [String: Int64] {
        let generated = SessionSQL.userCounts(apps: apps, activeSince: activeSince)
        var counts: [String: Int64] = [:]
        for app in apps { counts[app] = 0 }
        try connection.withTransientStatement(generated.sql) { statement throws(StoreError) in
            try Self.bind(generated.bindings, statement)
            while try statement.step() { counts[statement.text(0)] = statement.int64(1) }
        }
        return counts
    }

    /// Calls `each` with every session `q` selects.
    public func statsSessions(_ q: SessionStatsQuery, _ each: (StatsSessionRow) -> Void) throws(StoreError) {
        let sessions = SessionSQL.statsSessions(q)
        try connection.withTransientStatement(sessions.sql) { statement throws(StoreError) in
            try Self.bind(sessions.bindings, statement)
            while try statement.step() {
                each(StatsSessionRow(start: statement.int64(0), duration: statement.int64(1),
                                     experience: statement.optionalText(2), health: statement.text(3),
                                     live: statement.int64(4) != 0, endReason: statement.optionalText(5),
                                     entryPage: statement.optionalText(6), exitPage: statement.optionalText(7)))
            }
        }
    }

    /// Calls `each` with every error event of the sessions `q` selects.
    public func statsErrors(_ q: SessionStatsQuery, _ each: (Event) -> Void) throws(StoreError) {
        let errors = SessionSQL.statsErrors(q)
        try connection.withTransientStatement(errors.sql) { statement throws(StoreError) in
            try Self.bind(errors.bindings, statement)
            while try statement.step() { each(try StoredHistory.readEvent(statement, idColumn: 0)) }
        }
    }

    /// Stored heartbeats that belong to no session in [q.from, q.to), of the apps `q`'s `app`
    /// filters select (other filters describe sessions and do not apply).
    public func orphanHeartbeats(_ q: SessionStatsQuery) throws(StoreError) -> Int64 {
        let orphans = SessionSQL.statsOrphanHeartbeats(q)
        var n: Int64 = 0
        try connection.withTransientStatement(orphans.sql) { statement throws(StoreError) in
            try Self.bind(orphans.bindings, statement)
            if try statement.step() { n = statement.int64(0) }
        }
        return n
    }

    /// Live sessions (not retired), for `/metrics`.
    public func liveSessionCount() throws(StoreError) -> Int64? {
        try connection.scalarInt("SELECT count(*) FROM sessions WHERE live = 1 AND merged_into IS NULL")
    }

    // MARK: Helpers

    static func bind(_ values: [SQLValue], _ statement: Statement) throws(StoreError) {
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            switch v {
            case .int(let n): try statement.bind(index, n)
            case .text(let s): try statement.bind(index, s)
            }
        }
    }
}
