import Sessionizer

extension SessionStore {
    public struct RetentionResult: Sendable, Hashable {
        public var sessions: Int = 0
        public var events: Int = 0
        public var transactions: Int = 0
        /// False when `maxTransactions` stopped the run before everything old was gone.
        public var finished: Bool = true
    }

    /// Deletes completed sessions whose end is older than `now - retention`, with their events
    /// (and the visitor's orphan heartbeats before them), oldest first, in transactions of at most
    /// `retentionRowsPerTransaction` rows so the writer is never held for long (a larger session
    /// loses its events in chunks of that size first, its row last). Call it between batches;
    /// `maxTransactions` bounds one call.
    public func runRetention(now: Int64, maxTransactions: Int = Int.max) throws(StoreError) -> RetentionResult {
        let cutoff = now &- options.retention
        var result = RetentionResult()
        while result.transactions < maxTransactions {
            let step = try connection.transaction { () throws(StoreError) -> (sessions: Int, events: Int) in
                try retentionStep(cutoff: cutoff, budget: options.retentionRowsPerTransaction)
            }
            if step.sessions == 0 && step.events == 0 { return result }
            result.transactions += 1
            result.sessions += step.sessions
            result.events += step.events
        }
        result.finished = false
        return result
    }

    private func retentionStep(cutoff: Int64, budget: Int) throws(StoreError) -> (sessions: Int, events: Int) {
        let select = try connection.statement("""
            SELECT sid, vid, last_ts, last_event_id, event_count FROM sessions
            WHERE live = 0 AND end_ts < ? AND merged_into IS NULL ORDER BY end_ts LIMIT ?
            """)
        try select.bind(1, cutoff)
        try select.bind(2, budget)
        var victims: [(sid: Int64, vid: Int64, lastTS: Int64, lastID: String)] = []
        var rows = 0
        while try select.step() {
            // Always take one session, however large, so retention makes progress (in chunks).
            let eventCount = select.int(4)
            if !victims.isEmpty, rows &+ eventCount &+ 1 > budget { break }
            rows = rows &+ eventCount &+ 1
            victims.append((select.int64(0), select.int64(1), select.int64(2), select.text(3)))
        }
        select.reset()
        var events = 0
        if victims.count == 1, let victim = victims.first, rows > budget {
            // One session larger than the budget: its events go `budget` at a time, oldest
            // first, one transaction each; the row (and its terms) goes with the last chunk.
            let chunk = try connection.statement("""
                DELETE FROM events WHERE rowid IN (SELECT rowid FROM events
                    WHERE vid = ?1 AND (ts < ?2 OR (ts = ?2 AND event_id <= ?3)) ORDER BY ts, event_id LIMIT ?4)
                """)
            try chunk.bind(1, victim.vid)
            try chunk.bind(2, victim.lastTS)
            try chunk.bind(3, victim.lastID)
            try chunk.bind(4, budget)
            try chunk.run()
            events = connection.changes
            if events == budget { return (0, events) }
        }
        for victim in victims {
            // Sessions are contiguous in (ts, event id) order and completed ones precede a live
            // one, so everything of the visitor up to this session's last event is older.
            let deleteEvents = try connection.statement("""
                DELETE FROM events WHERE vid = ?1 AND (ts < ?2 OR (ts = ?2 AND event_id <= ?3))
                """)
            try deleteEvents.bind(1, victim.vid)
            try deleteEvents.bind(2, victim.lastTS)
            try deleteEvents.bind(3, victim.lastID)
            try deleteEvents.run()
            events += connection.changes
            try deleteOrphans(vid: victim.vid, from: EventKey(ts: .min, id: ""),
                              through: EventKey(ts: victim.lastTS, id: victim.lastID))
            try deleteTerms(sid: victim.sid)
            let deleteSession = try connection.statement("DELETE FROM sessions WHERE sid = ?")
            try deleteSession.bind(1, victim.sid)
            try deleteSession.run()
        }
        // Retired ids only answer `mergedInto` lookups; they age out with the same horizon.
        let retired = try connection.statement("""
            DELETE FROM sessions WHERE sid IN (
                SELECT sid FROM sessions WHERE merged_into IS NOT NULL AND end_ts < ? LIMIT ?)
            """)
        try retired.bind(1, cutoff)
        try retired.bind(2, budget)
        try retired.run()
        return (victims.count + connection.changes, events)
    }
}
