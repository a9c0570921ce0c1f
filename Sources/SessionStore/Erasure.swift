import Model
import Wire

/// Privacy erasure: every session and event of a user tag or visitor is deleted, and a tombstone
/// (a SHA-256 digest of app and id, never the id) makes later events of that id be dropped.
extension SessionStore {
    public enum ErasedKind: Int64, Sendable {
        case visitor = 0
        case userTag = 1
    }

    public struct ErasureResult: Sendable, Hashable {
        public var visitors: Int
        public var sessions: Int
        public var events: Int
    }

    static func digest(app: String, kind: ErasedKind, id: String) -> [UInt8] {
        var message: [UInt8] = Array(app.utf8)
        message.append(0)
        message.append(UInt8(kind.rawValue))
        message.append(0)
        message.append(contentsOf: id.utf8)
        return SHA256.digest(message)
    }

    func isErased(_ beacon: Beacon) throws(StoreError) -> Bool {
        if try hasTombstone(app: beacon.app, kind: .visitor, id: beacon.visitor) { return true }
        if let user = beacon.user, try hasTombstone(app: beacon.app, kind: .userTag, id: user) { return true }
        return false
    }

    public func hasTombstone(app: String, kind: ErasedKind, id: String) throws(StoreError) -> Bool {
        let select = try connection.statement("SELECT 1 FROM tombstones WHERE app = ? AND kind = ? AND id_hash = ?")
        defer { select.reset() }
        try select.bind(1, app)
        try select.bind(2, kind.rawValue)
        try select.bind(3, blob: Self.digest(app: app, kind: kind, id: id))
        return try select.step()
    }

    /// Erases every session and event of a user tag (all visitors ever linked to it) or of one
    /// visitor, leaves a tombstone, drops the visitors' live state, then checkpoints and truncates
    /// the WAL so neither file holds the id afterwards (with `secure_delete` zeroing freed pages).
    public func erase(app: String, kind: ErasedKind, id: String, now: Int64) throws(StoreError) -> ErasureResult {
        let result: ErasureResult
        do {
            result = try eraseInTransaction(app: app, kind: kind, id: id, now: now)
            touched.removeAll(keepingCapacity: true)
        } catch {
            try? resynchronize()
            throw error
        }
        hasTombstones = true
        termIDs.removeAll()
        // Deleted sessions and terms free their ids for reuse.
        storedTerms.removeAll()
        try checkpoint()
        return result
    }

    /// The apps in which a visitor id or user tag is known (what an erasure without `app` covers).
    public func knownApps(_ kind: ErasedKind, id: String) throws(StoreError) -> [String] {
        let sql = kind == .visitor ? "SELECT DISTINCT app FROM visitors WHERE visitor = ?"
                                   : "SELECT DISTINCT app FROM user_links WHERE user_tag = ?"
        let select = try connection.statement(sql)
        defer { select.reset() }
        try select.bind(1, id)
        var apps: [String] = []
        while try select.step() { apps.append(select.text(0)) }
        return apps
    }

    private func eraseInTransaction(app: String, kind: ErasedKind, id: String,
                                    now: Int64) throws(StoreError) -> ErasureResult {
        try connection.transaction { () throws(StoreError) -> ErasureResult in
            var vids: [Int64] = []
            switch kind {
            case .visitor:
                let select = try connection.statement("SELECT vid FROM visitors WHERE app = ? AND visitor = ?")
                try select.bind(1, app)
                try select.bind(2, id)
                while try select.step() { vids.append(select.int64(0)) }
                select.reset()
            case .userTag:
                let select = try connection.statement("SELECT vid FROM user_links WHERE app = ? AND user_tag = ?")
                try select.bind(1, app)
                try select.bind(2, id)
                while try select.step() { vids.append(select.int64(0)) }
                select.reset()
            }
            var result = ErasureResult(visitors: 0, sessions: 0, events: 0)
            for vid in vids {
                let visitor = try connection.statement("SELECT visitor, platform FROM visitors WHERE vid = ?")
                try visitor.bind(1, vid)
                var visitorID: String?
                var platform = Platform.web
                if try visitor.step() {
                    visitorID = visitor.text(0)
                    let raw = visitor.int64(1)
                    guard let known = UInt8(exactly: raw).flatMap(Platform.init(rawValue:)) else {
                        visitor.reset()
                        throw .corruptRow("visitor \(visitor.text(0)): unknown platform \(raw)")
                    }
                    platform = known
                }
                visitor.reset()
                let counts = try deleteVisitor(vid: vid)
                result.sessions += counts.sessions
                result.events += counts.events
                result.visitors += 1
                if let visitorID {
                    touched.append(VisitorRef(app: app, visitor: visitorID, platform: platform))
                    try forgetLiveState(app: app, visitor: visitorID, platform: platform)
                    // The visitor's anonymous events must not come back either.
                    try addTombstone(app: app, kind: .visitor, id: visitorID, now: now)
                }
            }
            try addTombstone(app: app, kind: kind, id: id, now: now)
            // Action names and prop values (which may spell the id) no session refers to any more.
            try connection.execute(
                "DELETE FROM terms WHERE NOT EXISTS (SELECT 1 FROM session_terms st WHERE st.term_id = terms.term_id)")
            return result
        }
    }

    private func addTombstone(app: String, kind: ErasedKind, id: String, now: Int64) throws(StoreError) {
        let insert = try connection.statement(
            "INSERT OR IGNORE INTO tombstones(app, kind, id_hash, erased_at) VALUES (?, ?, ?, ?)")
        try insert.bind(1, app)
        try insert.bind(2, kind.rawValue)
        try insert.bind(3, blob: Self.digest(app: app, kind: kind, id: id))
        try insert.bind(4, now)
        try insert.run()
    }

    /// Deletes everything stored of one visitor.
    func deleteVisitor(vid: Int64) throws(StoreError) -> (sessions: Int, events: Int) {
        let terms = try connection.statement(
            "DELETE FROM session_terms WHERE sid IN (SELECT sid FROM sessions WHERE vid = ?)")
        try terms.bind(1, vid)
        try terms.run()
        let sessions = try connection.statement("DELETE FROM sessions WHERE vid = ?")
        try sessions.bind(1, vid)
        try sessions.run()
        let sessionCount = connection.changes
        let events = try connection.statement("DELETE FROM events WHERE vid = ?")
        try events.bind(1, vid)
        try events.run()
        let eventCount = connection.changes
        for sql in ["DELETE FROM orphan_heartbeats WHERE vid = ?", "DELETE FROM envelopes WHERE vid = ?",
                    "DELETE FROM user_links WHERE vid = ?", "DELETE FROM visitors WHERE vid = ?"] {
            let delete = try connection.statement(sql)
            try delete.bind(1, vid)
            try delete.run()
        }
        return (sessionCount, eventCount)
    }
}
