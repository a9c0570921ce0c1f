import Sessionizer
import Wire

extension SessionStore {
    /// Writes one visitor's decisions in the order the sessionizer asks for: retired ids, upserts,
    /// placements (reflected in session terms), orphan heartbeats (already stored as events), links.
    /// `newEvents` are the batch's new events of this visitor (for incremental terms).
    /// Returns how many session rows were written.
    func write(_ update: VisitorUpdate, vid: Int64, platform: Platform, newEvents: [TrackedEvent],
               now: Int64) throws(StoreError) -> Int {
        var written = 0
        for retirement in update.retired {
            let retire = try connection.statement("""
                UPDATE sessions SET merged_into = ?, live = 0, revision = revision + 1, updated_at = ?
                WHERE id = ?
                """)
            try retire.bind(1, retirement.mergedInto.description)
            try retire.bind(2, now)
            try retire.bind(3, retirement.id.description)
            try retire.run()
            try deleteTerms(sessionID: retirement.id.description)
            written += connection.changes
        }
        guard !update.upserts.isEmpty || !update.userTags.isEmpty else { return written }
        let rulesID = try ruleSetID(app: update.app, platform: platform).0
        let sortedNew = newEvents.sorted { $0.key < $1.key }
        for record in update.upserts {
            let row = SessionRow(record, rulesID: rulesID)
            let previous = try existing(id: row.id)
            let sid = try upsert(row, vid: vid, now: now)
            try updateTerms(sid: sid, row: row, previous: previous, vid: vid, newEvents: sortedNew)
            written += 1
        }
        for tag in update.userTags {
            let link = try connection.statement(
                "INSERT OR IGNORE INTO user_links(app, user_tag, vid, linked_at) VALUES (?, ?, ?, ?)")
            try link.bind(1, update.app)
            try link.bind(2, tag)
            try link.bind(3, vid)
            try link.bind(4, now)
            try link.run()
        }
        return written
    }

    /// What terms maintenance needs to know of the stored row a record replaces.
    struct PreviousRow {
        var sid: Int64
        var firstEvent: EventKey
        var lastEvent: EventKey
        var eventCount: Int
        var pagesCount: Int
    }

    private func existing(id: String) throws(StoreError) -> PreviousRow? {
        let select = try connection.statement(
            "SELECT sid, start_ts, first_event_id, last_ts, last_event_id, event_count, pages_visited FROM sessions WHERE id = ?")
        defer { select.reset() }
        try select.bind(1, id)
        guard try select.step() else { return nil }
        let pages = try select.withBlob(6) { bytes throws(StoreError) -> Int in
            guard !bytes.isEmpty else { return 0 }
            var reader = EventCodec.Reader(bytes: bytes)
            return try reader.count()
        }
        return PreviousRow(sid: select.int64(0), firstEvent: EventKey(ts: select.int64(1), id: select.text(2)),
                           lastEvent: EventKey(ts: select.int64(3), id: select.text(4)),
                           eventCount: select.int(5), pagesCount: pages)
    }

    private func upsert(_ row: SessionRow, vid: Int64, now: Int64) throws(StoreError) -> Int64 {
        let statement = try connection.statement("""
            INSERT INTO sessions(\(SessionRow.columns), created_at, updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                    ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39,
                    ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?47, ?48, ?49, ?49)
            ON CONFLICT(id) DO UPDATE SET
                user_tag = excluded.user_tag, client_session = excluded.client_session, device = excluded.device,
                start_ts = excluded.start_ts, end_ts = excluded.end_ts, duration = excluded.duration,
                active_time = excluded.active_time, event_count = excluded.event_count, views = excluded.views,
                actions = excluded.actions, requests = excluded.requests, resources = excluded.resources,
                errors = excluded.errors, failed_requests = excluded.failed_requests,
                failed_resources = excluded.failed_resources, crashes = excluded.crashes,
                heartbeats = excluded.heartbeats, frustrated_actions = excluded.frustrated_actions,
                satisfied_ratings = excluded.satisfied_ratings, tolerating_ratings = excluded.tolerating_ratings,
                frustrated_ratings = excluded.frustrated_ratings, last_rating = excluded.last_rating,
                entry_page = excluded.entry_page, exit_page = excluded.exit_page,
                pages_visited = excluded.pages_visited, experience = excluded.experience,
                health = excluded.health, health_reasons = excluded.health_reasons,
                end_reason = excluded.end_reason, live = excluded.live, revision = excluded.revision,
                previous_id = excluded.previous_id, continued = excluded.continued, merged_into = NULL,
                rules_id = excluded.rules_id, first_event_id = excluded.first_event_id,
                last_ts = excluded.last_ts, last_event_id = excluded.last_event_id,
                fingerprint = excluded.fingerprint, browser = excluded.browser, os = excluded.os,
                device_type = excluded.device_type, app_version = excluded.app_version,
                updated_at = excluded.updated_at
            RETURNING sid
            """)
        defer { statement.reset() }
        try row.bind(to: statement, vid: vid)
        try statement.bind(49, now)
        guard try statement.step() else { throw .corruptRow("upsert of session \(row.id) returned no row") }
        return statement.int64(0)
    }

    // MARK: Terms (page visited, action name, prop value filters)

    /// Keeps `session_terms` equal to the terms of the session's events. When the session only
    /// grew at its end by events of this batch, adds their terms; otherwise (created from stored
    /// events, re-split, merged, shrunk) rebuilds them from its stored events.
    private func updateTerms(sid: Int64, row: SessionRow, previous: PreviousRow?, vid: Int64,
                             newEvents: [TrackedEvent]) throws(StoreError) {
        let appendedFrom: EventKey?
        let knownCount: Int
        if let previous, previous.firstEvent == row.firstEvent {
            appendedFrom = previous.lastEvent
            knownCount = previous.eventCount
        } else if previous == nil {
            appendedFrom = nil
            knownCount = 0
        } else {
            try rebuildTerms(sid: sid, row: row, vid: vid)
            return
        }
        let slice = newEvents.filter { tracked in
            let key = tracked.key
            if let appendedFrom, !(appendedFrom < key) { return false }
            return !(key < row.firstEvent) && !(row.lastEvent < key)
        }
        guard knownCount &+ slice.count == row.eventCount else {
            try rebuildTerms(sid: sid, row: row, vid: vid)
            return
        }
        let firstNewPage = previous == nil ? 0 : min(previous?.pagesCount ?? 0, row.pagesVisited.count)
        for page in row.pagesVisited[firstNewPage...] { try addTerm(sid: sid, app: row.app, kind: .page, value: page) }
        for tracked in slice { try addTerms(of: tracked.event, sid: sid, app: row.app) }
    }

    private func rebuildTerms(sid: Int64, row: SessionRow, vid: Int64) throws(StoreError) {
        try deleteTerms(sid: sid)
        for page in row.pagesVisited { try addTerm(sid: sid, app: row.app, kind: .page, value: page) }
        let history = StoredHistory(connection: connection)
        for tracked in try history.events(vid: vid, from: row.firstEvent, through: row.lastEvent) {
            try addTerms(of: tracked.event, sid: sid, app: row.app)
        }
    }

    private func addTerms(of event: Event, sid: Int64, app: String) throws(StoreError) {
        if event.type == .action, let name = event.name {
            try addTerm(sid: sid, app: app, kind: .action, value: name)
        }
        for (key, value) in event.props {
            try addTerm(sid: sid, app: app, kind: .prop, value: SessionStore.propTerm(key: key, value: value))
        }
    }

    /// How a prop is indexed and how a query must spell it: `key=value` (numbers as Swift prints a
    /// Double, e.g. `3.0`; booleans `true`/`false`).
    public static func propTerm(key: String, value: PropValue) -> String {
        switch value {
        case .string(let text): key + "=" + text
        case .number(let number): key + "=" + String(number)
        case .bool(let flag): key + "=" + (flag ? "true" : "false")
        }
    }

    private func addTerm(sid: Int64, app: String, kind: TermKind, value: String) throws(StoreError) {
        let termID = try self.termID(app: app, kind: kind, value: value)
        let insert = try connection.statement("INSERT OR IGNORE INTO session_terms(sid, term_id) VALUES (?, ?)")
        try insert.bind(1, sid)
        try insert.bind(2, termID)
        try insert.run()
    }

    private func termID(app: String, kind: TermKind, value: String) throws(StoreError) -> Int64 {
        let key = TermKey(app: app, kind: kind, value: value)
        if let known = termIDs[key] { return known }
        let select = try connection.statement("SELECT term_id FROM terms WHERE app = ? AND kind = ? AND value = ?")
        try select.bind(1, app)
        try select.bind(2, kind.rawValue)
        try select.bind(3, value)
        let id: Int64
        if try select.step() {
            id = select.int64(0)
            select.reset()
        } else {
            select.reset()
            let insert = try connection.statement("INSERT INTO terms(app, kind, value) VALUES (?, ?, ?)")
            try insert.bind(1, app)
            try insert.bind(2, kind.rawValue)
            try insert.bind(3, value)
            try insert.run()
            id = connection.lastInsertRowID
        }
        // Bounded: a flood of distinct prop values must not grow the writer's memory without end.
        if termIDs.count >= 50_000 { termIDs.removeAll(keepingCapacity: true) }
        termIDs[key] = id
        return id
    }

    func deleteTerms(sid: Int64) throws(StoreError) {
        let delete = try connection.statement("DELETE FROM session_terms WHERE sid = ?")
        try delete.bind(1, sid)
        try delete.run()
    }

    private func deleteTerms(sessionID: String) throws(StoreError) {
        let delete = try connection.statement(
            "DELETE FROM session_terms WHERE sid = (SELECT sid FROM sessions WHERE id = ?)")
        try delete.bind(1, sessionID)
        try delete.run()
    }
}
