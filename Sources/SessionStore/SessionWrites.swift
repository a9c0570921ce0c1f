import Model
import Sessionizer
import Wire

extension SessionStore {
    /// Writes one visitor's decisions in the order the sessionizer asks for: retired ids, upserts,
    /// placements (reflected in session terms and orphan heartbeats), orphan heartbeats (already
    /// stored as events: recorded in `orphan_heartbeats`), links.
    /// `newEvents` are the batch's new events of this visitor (for incremental terms);
    /// `visitorIsNew`: nothing of the visitor was stored before this batch (so no orphan either).
    /// Returns how many session rows were written.
    func write(_ update: VisitorUpdate, vid: Int64, platform: Platform, newEvents: [TrackedEvent],
               visitorIsNew: Bool = false, now: Int64) throws(StoreError) -> Int {
        var written = 0
        for retirement in update.retired {
            let retire = try connection.statement("""
                UPDATE sessions SET merged_into = ?, live = 0, revision = revision + 1, updated_at = ?
                WHERE id = ? RETURNING sid
                """)
            try retire.bind(1, retirement.mergedInto.description)
            try retire.bind(2, now)
            try retire.bind(3, retirement.id.description)
            guard try retire.step() else {
                retire.reset()
                continue
            }
            let sid = retire.int64(0)
            retire.reset()
            try deleteTerms(sid: sid)
            written += 1
        }
        if !update.upserts.isEmpty {
            let rulesID = try ruleSetID(app: update.app, platform: platform).0
            for record in update.upserts {
                let row = SessionRow(record, rulesID: rulesID)
                let placed = update.placements.filter { $0.session == record.id }
                try write(row, placed: placed, vid: vid, newEvents: newEvents, now: now)
                written += 1
                // A stretch placed anew may now hold heartbeats that were orphans (a late event
                // before them opened a session). Events appended to a live session come after its
                // last event, and no orphan follows a live session: nothing to look for there.
                if !visitorIsNew && !Self.appends(placed, to: row) {
                    for placement in placed { try deleteOrphans(vid: vid, from: placement.from, through: placement.to) }
                }
            }
        }
        for heartbeat in update.orphanHeartbeats {
            let insert = try connection.statement(
                "INSERT OR IGNORE INTO orphan_heartbeats(vid, ts, event_id) VALUES (?, ?, ?)")
            try insert.bind(1, vid)
            try insert.bind(2, heartbeat.ts)
            try insert.bind(3, heartbeat.id)
            try insert.run()
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

    /// Writes one session row and keeps its terms, deciding from the sessionizer's placements
    /// (only a slow-path recomputation reads the old row's extent):
    /// - revision 1: a new session, INSERT;
    /// - placed only after its first event: the fast path appended new events to it; while still
    ///   live a narrow UPDATE writes the columns that grow and leaves the filter indexes of the
    ///   others alone. It applies only when the row already holds the first-seen values (entry
    ///   page, client session, device, which the appended events give when the earlier ones
    ///   lacked them); otherwise every column is written. So a
    ///   row's fingerprint is only ever stored with the whole summary it digests, and a later
    ///   recomputation that finds the same fingerprint may rightly skip the write;
    ///   terms come from the appended events;
    /// - anything else (completed by the watermark, recomputed after a late event): every column;
    ///   when its events changed (it has a placement) its terms are rebuilt from its events.
    private func write(_ row: SessionRow, placed: [Placement], vid: Int64, newEvents: [TrackedEvent],
                       now: Int64) throws(StoreError) {
        let appendedFrom = Self.appends(placed, to: row) ? placed[0].from : nil
        // A slow-path recomputation of a stored session: remember its old extent for the terms.
        let previous = row.revision > 1 && appendedFrom == nil && !placed.isEmpty ? try extent(of: row.id) : nil
        let sid: Int64
        if row.revision == 1 {
            let insert = try connection.statement("""
                INSERT INTO sessions(\(SessionRow.columns), created_at, updated_at)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                        ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38,
                        ?39, ?40, ?41, ?42, ?43, ?44, ?45, ?46, ?47, ?48, ?49, ?49)
                """)
            try row.bind(to: insert, vid: vid)
            try insert.bind(49, now)
            try insert.run()
            sid = connection.lastInsertRowID
        } else {
            if appendedFrom != nil && row.live, let grown = try updateGrowth(row, vid: vid, now: now) {
                sid = grown
            } else {
                sid = try updateAll(row, vid: vid, now: now)
            }
        }
        // A completed session gets no more terms on the hot path: forget what is stored.
        defer { if !row.live { storedTerms[sid] = nil } }
        // Terms: incremental when every event they come from is new in this batch.
        if let appendedFrom {
            try addTerms(of: newEvents, from: appendedFrom, through: row.lastEvent, sid: sid, app: row.app)
        } else if !placed.isEmpty {
            let newInSession = newEvents.filter { !($0.key < row.firstEvent) && !(row.lastEvent < $0.key) }
            if let old = previous, old.firstEvent == row.firstEvent, old.lastEvent < row.lastEvent,
               old.eventCount &+ newInSession.count == row.eventCount,
               newInSession.allSatisfy({ old.lastEvent < $0.key }) {
                // Recomputed by the slow path but only grew at its end (e.g. the rating tables of
                // the fast path could not decide): the old terms stay valid.
                try addTerms(of: newInSession, from: old.lastEvent, through: row.lastEvent, sid: sid, app: row.app)
            } else if row.revision == 1, newInSession.count == row.eventCount {
                try addTerms(of: newInSession, from: row.firstEvent, through: row.lastEvent, sid: sid, app: row.app)
            } else {
                try rebuildTerms(sid: sid, row: row, vid: vid)
            }
        }
    }

    /// The narrow UPDATE of a live session that grew: nil when the row does not hold the
    /// session's first-seen values (entry page, client session, device; then nothing was written).
    /// The other columns it leaves out (identity, start, first event, previous session,
    /// `continued`, live and end reason) cannot change when events are appended after the last.
    private func updateGrowth(_ row: SessionRow, vid: Int64, now: Int64) throws(StoreError) -> Int64? {
        let update = try connection.statement("""
            UPDATE sessions SET user_tag = ?5, end_ts = ?10, duration = ?11, active_time = ?12,
                event_count = ?13, views = ?14, actions = ?15, requests = ?16, resources = ?17, errors = ?18,
                failed_requests = ?19, failed_resources = ?20, crashes = ?21, heartbeats = ?22,
                frustrated_actions = ?23, satisfied_ratings = ?24, tolerating_ratings = ?25,
                frustrated_ratings = ?26, last_rating = ?27, exit_page = ?29, pages_visited = ?30,
                experience = ?31, health = ?32, health_reasons = ?33, revision = ?36, rules_id = ?40,
                last_ts = ?42, last_event_id = ?43, fingerprint = ?44, updated_at = ?49
            WHERE id = ?1 AND entry_page IS ?28 AND client_session IS ?6 AND device IS ?8
            RETURNING sid
            """)
        defer { update.reset() }
        try row.bindGrowth(to: update, firstSeen: true)
        try update.bind(49, now)
        return try update.step() ? update.int64(0) : nil
    }

    /// Every column of a stored session.
    private func updateAll(_ row: SessionRow, vid: Int64, now: Int64) throws(StoreError) -> Int64 {
        let update = try connection.statement("""
            UPDATE sessions SET user_tag = ?5, client_session = ?6, device = ?8, start_ts = ?9,
                end_ts = ?10, duration = ?11, active_time = ?12, event_count = ?13, views = ?14,
                actions = ?15, requests = ?16, resources = ?17, errors = ?18, failed_requests = ?19,
                failed_resources = ?20, crashes = ?21, heartbeats = ?22, frustrated_actions = ?23,
                satisfied_ratings = ?24, tolerating_ratings = ?25, frustrated_ratings = ?26,
                last_rating = ?27, entry_page = ?28, exit_page = ?29, pages_visited = ?30,
                experience = ?31, health = ?32, health_reasons = ?33, end_reason = ?34, live = ?35,
                revision = ?36, previous_id = ?37, continued = ?38, merged_into = NULL, rules_id = ?40,
                first_event_id = ?41, last_ts = ?42, last_event_id = ?43, fingerprint = ?44,
                browser = ?45, os = ?46, device_type = ?47, app_version = ?48, updated_at = ?49
            WHERE id = ?1 RETURNING sid
            """)
        defer { update.reset() }
        try row.bind(to: update, vid: vid)
        try update.bind(49, now)
        guard try update.step() else {
            throw .corruptRow("session \(row.id) revision \(row.revision) has no stored row to update")
        }
        return update.int64(0)
    }

    /// The fast path appended new events to a stored session: one placement, after its first event.
    static func appends(_ placed: [Placement], to row: SessionRow) -> Bool {
        placed.count == 1 && row.revision > 1 && row.firstEvent < placed[0].from
    }

    /// Forgets the visitor's orphan heartbeats with keys in `from...through`.
    func deleteOrphans(vid: Int64, from: EventKey, through: EventKey) throws(StoreError) {
        let delete = try connection.statement("""
            DELETE FROM orphan_heartbeats WHERE vid = ?1 AND (ts, event_id) >= (?2, ?3) AND (ts, event_id) <= (?4, ?5)
            """)
        try delete.bind(1, vid)
        try delete.bind(2, from.ts)
        try delete.bind(3, from.id)
        try delete.bind(4, through.ts)
        try delete.bind(5, through.id)
        try delete.run()
    }

    /// The extent of a stored session before this write (slow-path recomputations only).
    struct PreviousExtent {
        var firstEvent: EventKey
        var lastEvent: EventKey
        var eventCount: Int
    }

    private func extent(of id: String) throws(StoreError) -> PreviousExtent? {
        let select = try connection.statement(
            "SELECT start_ts, first_event_id, last_ts, last_event_id, event_count FROM sessions WHERE id = ?")
        defer { select.reset() }
        try select.bind(1, id)
        guard try select.step() else { return nil }
        return PreviousExtent(firstEvent: EventKey(ts: select.int64(0), id: select.text(1)),
                              lastEvent: EventKey(ts: select.int64(2), id: select.text(3)),
                              eventCount: select.int(4))
    }

    // MARK: Terms (page visited, action name, prop value filters)

    private func addTerms(of events: [TrackedEvent], from: EventKey, through: EventKey, sid: Int64,
                          app: String) throws(StoreError) {
        for tracked in events where !(tracked.key < from) && !(through < tracked.key) {
            try addTerms(of: tracked.event, sid: sid, app: app)
        }
    }

    private func rebuildTerms(sid: Int64, row: SessionRow, vid: Int64) throws(StoreError) {
        try deleteTerms(sid: sid)
        let history = StoredHistory(connection: connection)
        for tracked in try history.events(vid: vid, from: row.firstEvent, through: row.lastEvent) {
            try addTerms(of: tracked.event, sid: sid, app: row.app)
        }
    }

    private func addTerms(of event: Event, sid: Int64, app: String) throws(StoreError) {
        try SessionStore.forEachTerm(of: event) { kind, value throws(StoreError) in
            try addTerm(sid: sid, app: app, kind: kind, value: value)
        }
    }

    /// The filterable terms of one event: its page (views), its name (actions), its props.
    static func forEachTerm(of event: Event, _ body: (TermKind, String) throws(StoreError) -> Void) throws(StoreError) {
        switch event.type {
        case .view:
            if let page = page(of: event) { try body(.page, page) }
        case .action:
            if let name = event.name { try body(.action, name) }
        default:
            break
        }
        for (key, value) in event.props { try body(.prop, propTerm(key: key, value: value)) }
    }

    /// The page a view shows, as the sessionizer names it for entry and exit pages: its URL
    /// without query and fragment, else its name.
    public static func page(of view: Event) -> String? {
        if let url = view.url, !url.isEmpty {
            // On UTF-8 bytes: Character iteration costs more than the rest of the term.
            let bytes = url.utf8
            if let cut = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
                return cut == bytes.startIndex ? view.name : String(decoding: bytes[..<cut], as: UTF8.self)
            }
            return url
        }
        return view.name
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
        let bit: UInt64 = termID >= 0 && termID < 64 ? 1 << UInt64(termID) : 0
        if bit != 0 {
            if let stored = storedTerms[sid], stored & bit != 0 { return }
        } else {
            // Most events repeat their session's terms: skip pairs this transaction already wrote.
            guard termsWritten.insert(SessionTerm(sid: sid, term: termID)).inserted else { return }
        }
        let insert = try connection.statement("INSERT OR IGNORE INTO session_terms(sid, term_id) VALUES (?, ?)")
        try insert.bind(1, sid)
        try insert.bind(2, termID)
        try insert.run()
        if bit != 0 { storedTerms[sid, default: 0] |= bit }
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
        storedTerms[sid] = nil
        let delete = try connection.statement("DELETE FROM session_terms WHERE sid = ?")
        try delete.bind(1, sid)
        try delete.run()
    }

}
