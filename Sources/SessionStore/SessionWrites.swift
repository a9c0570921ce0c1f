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
            let sid = try write(row, previous: previous, vid: vid, now: now)
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

    /// What the write path needs to know of the stored row a record replaces.
    struct PreviousRow {
        var sid: Int64
        var firstEvent: EventKey
        var lastEvent: EventKey
        var eventCount: Int
        var pagesCount: Int
        var live: Bool
        var retired: Bool
        var previousID: String?
        var continued: Bool
        var clientSession: String?
        var device: [UInt8]?
    }

    private func existing(id: String) throws(StoreError) -> PreviousRow? {
        let select = try connection.statement("""
            SELECT sid, start_ts, first_event_id, last_ts, last_event_id, event_count, pages_visited, live,
                   merged_into IS NOT NULL, previous_id, continued, client_session, device
            FROM sessions WHERE id = ?
            """)
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
                           eventCount: select.int(5), pagesCount: pages, live: select.int64(7) != 0,
                           retired: select.int64(8) != 0, previousID: select.optionalText(9),
                           continued: select.int64(10) != 0, clientSession: select.optionalText(11),
                           device: select.isNull(12) ? nil : select.blob(12))
    }

    /// Writes a session row and returns its `sid`. A live session that only grew (the common case:
    /// new events at its end) gets a narrow UPDATE that leaves its identity, start and liveness
    /// alone, so SQLite rewrites the row but none of the filter indexes; anything else (new,
    /// completed, re-split, merged) writes every column.
    private func write(_ row: SessionRow, previous: PreviousRow?, vid: Int64, now: Int64) throws(StoreError) -> Int64 {
        guard let previous else {
            let insert = try connection.statement("""
                INSERT INTO sessions(\(SessionRow.columns), created_at, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                        ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38,
                        ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?47, ?48, ?49, ?49)
                """)
            try row.bind(to: insert, vid: vid)
            try insert.bind(49, now)
            try insert.run()
            return connection.lastInsertRowID
        }
        var deviceBytes: [UInt8]?
        if let device = row.device {
            var bytes: [UInt8] = []
            EnvelopeCodec.encodeDevice(device, into: &bytes)
            deviceBytes = bytes
        }
        let grewWhileLive = previous.live && row.live && !previous.retired && previous.firstEvent == row.firstEvent
            && previous.previousID == row.previousID && previous.continued == row.continued
            && previous.clientSession == row.clientSession && previous.device == deviceBytes
        let sql = grewWhileLive
            ? """
              UPDATE sessions SET user_tag = ?5, end_ts = ?10, duration = ?11, active_time = ?12,
                  event_count = ?13, views = ?14, actions = ?15, requests = ?16, resources = ?17, errors = ?18,
                  failed_requests = ?19, failed_resources = ?20, crashes = ?21, heartbeats = ?22,
                  frustrated_actions = ?23, satisfied_ratings = ?24, tolerating_ratings = ?25,
                  frustrated_ratings = ?26, last_rating = ?27, exit_page = ?29, pages_visited = ?30,
                  experience = ?31, health = ?32, health_reasons = ?33, revision = ?36, rules_id = ?40,
                  last_ts = ?42, last_event_id = ?43, fingerprint = ?44, updated_at = ?49
              WHERE sid = ?50
              """
            : """
              UPDATE sessions SET user_tag = ?5, client_session = ?6, device = ?8, start_ts = ?9, end_ts = ?10,
                  duration = ?11, active_time = ?12, event_count = ?13, views = ?14, actions = ?15,
                  requests = ?16, resources = ?17, errors = ?18, failed_requests = ?19, failed_resources = ?20,
                  crashes = ?21, heartbeats = ?22, frustrated_actions = ?23, satisfied_ratings = ?24,
                  tolerating_ratings = ?25, frustrated_ratings = ?26, last_rating = ?27, entry_page = ?28,
                  exit_page = ?29, pages_visited = ?30, experience = ?31, health = ?32, health_reasons = ?33,
                  end_reason = ?34, live = ?35, revision = ?36, previous_id = ?37, continued = ?38,
                  merged_into = NULL, rules_id = ?40, first_event_id = ?41, last_ts = ?42, last_event_id = ?43,
                  fingerprint = ?44, browser = ?45, os = ?46, device_type = ?47, app_version = ?48,
                  updated_at = ?49
              WHERE sid = ?50
              """
        let update = try connection.statement(sql)
        try row.bind(to: update, vid: vid)
        try update.bind(49, now)
        try update.bind(50, previous.sid)
        try update.run()
        return previous.sid
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
        // Most events repeat their session's terms: skip pairs this transaction already wrote.
        guard termsWritten.insert(SessionTerm(sid: sid, term: termID)).inserted else { return }
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
        termsWritten = termsWritten.filter { $0.sid != sid }
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
