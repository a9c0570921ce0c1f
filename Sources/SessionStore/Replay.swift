import Model
import Config
import Sessionizer
import Wire

/// Recomputes every visitor's sessions from its stored events with the pure `sessionize` and each
/// session's stored rule set (config version), and compares them with the stored session rows. Sessions
/// are a pure function of the events, so any difference is a bug (or a tampered file).
public enum Replay {
    public struct Report: Sendable {
        public var visitors = 0
        public var events = 0
        public var sessions = 0
        /// One line per difference, naming the app, visitor and session.
        public var differences: [String] = []
    }

    /// Reads the database at `path` on a read-only connection, in one read transaction (a
    /// consistent snapshot even while a writer commits). `limit` caps the differences listed.
    public static func run(path: String, limit: Int = 100) throws(StoreError) -> Report {
        let connection = try Database.openReader(path: path)
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let watermark = try connection.scalarInt("SELECT value FROM meta WHERE key = 'watermark'") ?? Int64.min
        let history = StoredHistory(connection: connection)
        var report = Report()
        var visitors: [(vid: Int64, app: String, visitor: String, platform: Int64)] = []
        let select = try connection.statement("SELECT vid, app, visitor, platform FROM visitors ORDER BY vid")
        while try select.step() {
            visitors.append((select.int64(0), select.text(1), select.text(2), select.int64(3)))
        }
        select.reset()
        for visitor in visitors {
            report.visitors += 1
            guard visitor.platform >= 0, visitor.platform <= 255,
                  let platform = Platform(rawValue: UInt8(visitor.platform)) else {
                throw .corruptRow("visitor \(visitor.visitor): unknown platform \(visitor.platform)")
            }
            let stored = try history.sessionRows(vid: visitor.vid, from: EventKey(ts: Int64.min, id: ""))
            let events = try history.events(vid: visitor.vid, from: EventKey(ts: Int64.min, id: ""), through: nil)
            report.events += events.count
            report.sessions += stored.count
            // Each stretch of consecutive sessions made under one rule set is recomputed with
            // that rule set: a completed session keeps the rules it was made with.
            var drafts: [SessionDraft] = []
            if stored.isEmpty {
                let rules = try latestRuleSet(app: visitor.app, platform: platform, on: connection)
                    ?? SessionRules.defaults(for: platform)
                drafts = sessionize(events, visitor: visitor.visitor, platform: platform, rules: rules,
                                    watermark: watermark).sessions
            }
            var start = 0
            while start < stored.count {
                var end = start + 1
                while end < stored.count && stored[end].rulesID == stored[start].rulesID { end += 1 }
                let from = stored[start].firstEvent
                let until = end < stored.count ? stored[end].firstEvent : nil
                let stretch = events.filter { event in !(event.key < from) && (until.map { event.key < $0 } ?? true) }
                let rules = try SessionStore.ruleSet(stored[start].rulesID, on: connection)
                let continued = start > 0 && (stored[start - 1].endReason.flatMap(EndReason.init(rawValue:)).map {
                    isContinuation(after: $0, lastEventTs: stored[start - 1].lastEvent.ts, nextTs: from.ts, rules: rules)
                } ?? false)
                drafts += sessionize(stretch, visitor: visitor.visitor, platform: platform, rules: rules,
                                     watermark: watermark, firstContinued: continued).sessions
                start = end
            }
            let label = "app \(visitor.app) visitor \(visitor.visitor)"
            if drafts.count != stored.count {
                report.differences.append(
                    "\(label): \(stored.count) stored sessions, \(drafts.count) recomputed")
            }
            for (index, (draft, row)) in zip(drafts, stored).enumerated() {
                let expectedPrevious = index == 0 ? row.previousID : stored[index - 1].id
                if row.previousID != expectedPrevious {
                    report.differences.append(
                        "\(label) session \(row.id): previous \(row.previousID ?? "null"), expected \(expectedPrevious ?? "null")")
                }
                guard let id = SessionID(hex: row.id) else {
                    report.differences.append("\(label) session \(row.id): id is not 32 hex digits")
                    continue
                }
                let previous = row.previousID.flatMap(SessionID.init(hex:))
                let record = SessionRecord(id: id, revision: Int(row.revision), app: visitor.app,
                                           previousSessionId: previous, summary: draft.summary)
                let expected = SessionRow(record, rulesID: row.rulesID)
                if expected != row {
                    report.differences.append("\(label) session \(row.id): " + describe(stored: row, expected: expected))
                }
            }
            try compareTerms(stored: stored, events: events, vid: visitor.vid, label: label, on: connection,
                             into: &report)
            if report.differences.count >= limit { break }
        }
        return report
    }

    /// The filter terms of each session must be exactly those of its events.
    private static func compareTerms(stored: [SessionRow], events: [TrackedEvent], vid: Int64, label: String,
                                     on connection: Connection, into report: inout Report) throws(StoreError) {
        let select = try connection.statement("""
            SELECT s.id, t.kind, t.value FROM sessions s JOIN session_terms st ON st.sid = s.sid
            JOIN terms t ON t.term_id = st.term_id WHERE s.vid = ?
            """)
        try select.bind(1, vid)
        // Terms as bytes: the store's UNIQUE index tells canonically equivalent strings apart.
        var actual: [String: Set<[UInt8]>] = [:]
        while try select.step() {
            actual[select.text(0), default: []].insert(Array("\(select.int64(1)):\(select.text(2))".utf8))
        }
        select.reset()
        var expected: [String: Set<[UInt8]>] = [:]
        for row in stored {
            var terms = Set<[UInt8]>()
            for tracked in events where !(tracked.key < row.firstEvent) && !(row.lastEvent < tracked.key) {
                try SessionStore.forEachTerm(of: tracked.event) { kind, value throws(StoreError) in
                    terms.insert(Array("\(kind.rawValue):\(value)".utf8))
                }
            }
            if !terms.isEmpty { expected[row.id] = terms }
        }
        for id in Set(actual.keys).union(expected.keys) where actual[id] != expected[id] {
            let missing = (expected[id] ?? []).subtracting(actual[id] ?? []).map { String(decoding: $0, as: UTF8.self) }
                .sorted().prefix(3)
            let extra = (actual[id] ?? []).subtracting(expected[id] ?? []).map { String(decoding: $0, as: UTF8.self) }
                .sorted().prefix(3)
            report.differences.append("\(label) session \(id): filter terms differ, missing \(Array(missing)), "
                                      + "extra \(Array(extra))")
        }
    }

    private static func latestRuleSet(app: String, platform: Platform,
                                      on connection: Connection) throws(StoreError) -> SessionRules? {
        let select = try connection.statement(
            "SELECT rules_id FROM rule_sets WHERE app = ? AND platform = ? ORDER BY rules_id DESC LIMIT 1")
        try select.bind(1, app)
        try select.bind(2, Int64(platform.rawValue))
        let id = try select.step() ? select.int64(0) : nil
        select.reset()
        guard let id else { return nil }
        return try SessionStore.ruleSet(id, on: connection)
    }

    /// The first few fields that differ, stored vs recomputed.
    static func describe(stored: SessionRow, expected: SessionRow) -> String {
        let fields: [(String, String, String)] = [
            ("start", "\(stored.start)", "\(expected.start)"),
            ("end", "\(stored.end)", "\(expected.end)"),
            ("first event", stored.firstEventID, expected.firstEventID),
            ("last event", stored.lastEventID, expected.lastEventID),
            ("duration", "\(stored.duration)", "\(expected.duration)"),
            ("active time", "\(stored.activeTime)", "\(expected.activeTime)"),
            ("events", "\(stored.eventCount)", "\(expected.eventCount)"),
            ("views", "\(stored.views)", "\(expected.views)"),
            ("actions", "\(stored.actions)", "\(expected.actions)"),
            ("requests", "\(stored.requests)", "\(expected.requests)"),
            ("errors", "\(stored.errors)", "\(expected.errors)"),
            ("live", "\(stored.live)", "\(expected.live)"),
            ("end reason", stored.endReason ?? "null", expected.endReason ?? "null"),
            ("experience", stored.experience ?? "null", expected.experience ?? "null"),
            ("health", stored.health + " " + stored.healthReasons, expected.health + " " + expected.healthReasons),
            ("continued", "\(stored.continued)", "\(expected.continued)"),
            ("fingerprint", "\(stored.fingerprint)", "\(expected.fingerprint)"),
        ]
        let differing = fields.filter { $0.1 != $0.2 }.prefix(4).map { "\($0.0) stored \($0.1), recomputed \($0.2)" }
        return differing.isEmpty ? "other fields differ" : differing.joined(separator: "; ")
    }
}
