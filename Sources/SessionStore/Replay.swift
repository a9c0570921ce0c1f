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
        /// Stored orphan heartbeats (heartbeats that belong to no session).
        public var orphanHeartbeats = 0
        /// How many differences were found in all.
        public var differenceCount = 0
        /// The first `limit` differences in full, one line each, naming the app, visitor and
        /// session (or event).
        public var differences: [String] = []
        /// How many differences `run` lists in full.
        public var limit = 100

        mutating func add(_ line: String) {
            differenceCount += 1
            if differences.count < limit { differences.append(line) }
        }
    }

    /// Reads the database at `path` on a read-only connection, in one read transaction (a
    /// consistent snapshot even while a writer commits), and checks every visitor: its sessions
    /// against the pure function, every stored field of each; each stored event in exactly one
    /// session or stored as an orphan heartbeat; the filter terms. Every difference is counted;
    /// the first `limit` are listed.
    public static func run(path: String, limit: Int = 100) throws(StoreError) -> Report {
        let connection = try Database.openReader(path: path)
        let version = try Database.appliedVersion(connection)
        guard version >= Schema.currentVersion else {
            throw .invalidArgument("\(path) has schema version \(version), replay needs \(Schema.currentVersion): "
                                   + "start sessiond on it once to migrate it")
        }
        try connection.execute("BEGIN")
        defer { try? connection.execute("COMMIT") }
        let watermark = try connection.scalarInt("SELECT value FROM meta WHERE key = 'watermark'") ?? Int64.min
        let history = StoredHistory(connection: connection)
        var report = Report()
        report.limit = max(0, limit)
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
            let orphans = try storedOrphans(vid: visitor.vid, on: connection)
            report.events += events.count
            report.sessions += stored.count
            report.orphanHeartbeats += orphans.count
            // Each stretch of consecutive sessions made under one rule set is recomputed with
            // that rule set: a completed session keeps the rules it was made with.
            var drafts: [SessionDraft] = []
            var recomputedOrphans: [EventKey] = []
            if stored.isEmpty {
                let rules = try latestRuleSet(app: visitor.app, platform: platform, on: connection)
                    ?? SessionRules.defaults(for: platform)
                let result = sessionize(events, visitor: visitor.visitor, platform: platform, rules: rules,
                                        watermark: watermark)
                drafts = result.sessions
                recomputedOrphans = result.orphanHeartbeats
            } else {
                // Before the first session only orphan heartbeats can be: the placement check says.
                recomputedOrphans = events.lazy.filter { $0.key < stored[0].firstEvent && $0.event.type == .heartbeat }
                    .map(\.key)
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
                let result = sessionize(stretch, visitor: visitor.visitor, platform: platform, rules: rules,
                                        watermark: watermark, firstContinued: continued)
                drafts += result.sessions
                recomputedOrphans += result.orphanHeartbeats
                start = end
            }
            let label = "app \(visitor.app) visitor \(visitor.visitor)"
            if drafts.count != stored.count {
                report.add("\(label): \(stored.count) stored sessions, \(drafts.count) recomputed")
            }
            for (index, (draft, row)) in zip(drafts, stored).enumerated() {
                let expectedPrevious = index == 0 ? row.previousID : stored[index - 1].id
                if row.previousID != expectedPrevious {
                    report.add("\(label) session \(row.id): previous \(row.previousID ?? "null"), expected \(expectedPrevious ?? "null")")
                }
                guard let id = SessionID(hex: row.id) else {
                    report.add("\(label) session \(row.id): id is not 32 hex digits")
                    continue
                }
                let previous = row.previousID.flatMap(SessionID.init(hex:))
                let record = SessionRecord(id: id, revision: Int(row.revision), app: visitor.app,
                                           previousSessionId: previous, summary: draft.summary)
                let expected = SessionRow(record, rulesID: row.rulesID)
                if expected != row {
                    report.add("\(label) session \(row.id): " + describe(stored: row, expected: expected))
                }
            }
            checkPlacement(events: events, sessions: stored, orphans: orphans, label: label, into: &report)
            let storedOrphanKeys = Set(orphans)
            for key in recomputedOrphans where !storedOrphanKeys.contains(key) {
                report.add("\(label) heartbeat \(key): an orphan when recomputed, not stored as one")
            }
            try compareTerms(stored: stored, events: events, vid: visitor.vid, label: label, on: connection,
                             into: &report)
        }
        return report
    }

    /// The visitor's stored orphan heartbeats, in key order.
    private static func storedOrphans(vid: Int64, on connection: Connection) throws(StoreError) -> [EventKey] {
        let select = try connection.statement(
            "SELECT ts, event_id FROM orphan_heartbeats WHERE vid = ? ORDER BY ts, event_id")
        defer { select.reset() }
        try select.bind(1, vid)
        var keys: [EventKey] = []
        while try select.step() { keys.append(EventKey(ts: select.int64(0), id: select.text(1))) }
        return keys
    }

    /// Every stored event is in exactly one session's stretch, or is a heartbeat stored as an
    /// orphan; every stored orphan is such a heartbeat. `events` and `sessions` in key order.
    static func checkPlacement(events: [TrackedEvent], sessions: [SessionRow], orphans: [EventKey], label: String,
                               into report: inout Report) {
        let orphanSet = Set(orphans)
        var next = 0
        var open: [SessionRow] = []
        var seenOrphans = 0
        for tracked in events {
            let key = tracked.key
            while next < sessions.count && !(key < sessions[next].firstEvent) {
                open.append(sessions[next])
                next += 1
            }
            open.removeAll { $0.lastEvent < key }
            let isOrphan = orphanSet.contains(key)
            if isOrphan { seenOrphans += 1 }
            let what = "\(label) event \(key.id) (\(tracked.event.type.name) at \(key.ts))"
            switch (open.count, isOrphan) {
            case (1, false):
                break
            case (0, true) where tracked.event.type == .heartbeat:
                break
            case (0, true):
                report.add("\(what): stored as an orphan heartbeat but it is not a heartbeat")
            case (0, false) where tracked.event.type == .heartbeat:
                report.add("\(what): belongs to no session and is not stored as an orphan heartbeat")
            case (0, false):
                report.add("\(what): belongs to no session")
            case (1, true):
                report.add("\(what): in session \(open[0].id) and stored as an orphan heartbeat")
            default:
                report.add("\(what): in \(open.count) sessions (\(open.map(\.id).joined(separator: ", ")))"
                           + (isOrphan ? " and stored as an orphan heartbeat" : ""))
            }
        }
        if seenOrphans < orphanSet.count {
            let eventKeys = Set(events.map(\.key))
            for key in orphans where !eventKeys.contains(key) {
                report.add("\(label) orphan heartbeat \(key.id) at \(key.ts): stored, but no such event is")
            }
        }
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
            report.add("\(label) session \(id): filter terms differ, missing \(Array(missing)), "
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

    /// Every field that differs, stored vs recomputed: each stored property of `SessionRow` is
    /// compared, so a field added to the row is compared without a change here.
    static func describe(stored: SessionRow, expected: SessionRow) -> String {
        var differing: [String] = []
        for (mine, theirs) in zip(Mirror(reflecting: stored).children, Mirror(reflecting: expected).children) {
            let equal = (mine.value as? AnyHashable).map { $0 == (theirs.value as? AnyHashable) } ?? false
            guard !equal else { continue }
            differing.append("\(mine.label ?? "?") stored \(text(mine.value)), recomputed \(text(theirs.value))")
        }
        return differing.isEmpty ? "the rows differ" : differing.joined(separator: "; ")
    }

    /// A field's value as a difference line shows it: optionals unwrapped, nil as null.
    private static func text(_ value: Any) -> String {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return "null" }
            return text(wrapped)
        }
        if let string = value as? String { return "\"" + string + "\"" }
        return "\(value)"
    }
}
