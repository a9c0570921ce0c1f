import Model
import Sessionizer
import Wire

/// Reads a visitor's events and sessions back for the sessionizer (its slow path: late events,
/// a visitor without live state) and for replay. Runs on the connection it is given, inside the
/// writer's open transaction, so it also sees the events of the batch being applied.
public struct StoredHistory: EventHistory {
    let connection: Connection
    /// A visitor whose only stored events are these (first stored by the open transaction).
    let fresh: (app: String, visitor: String, events: [TrackedEvent])?
    /// The rule set in force for the visitor being sessionized: completed sessions made under
    /// another one keep it.
    let currentRules: Int64?

    init(connection: Connection) {
        self.connection = connection
        fresh = nil
        currentRules = nil
    }

    init(connection: Connection, fresh: (app: String, visitor: String, events: [TrackedEvent])?,
         currentRules: Int64?) {
        self.connection = connection
        self.fresh = fresh
        self.currentRules = currentRules
    }

    private func isFresh(app: String, visitor: String) -> Bool {
        guard let fresh else { return false }
        return fresh.app == app && fresh.visitor == visitor
    }

    /// The visitor's internal id, or nil when the store has never seen it.
    func visitorID(app: String, visitor: String) throws(StoreError) -> Int64? {
        let select = try connection.statement("SELECT vid FROM visitors WHERE app = ? AND visitor = ?")
        defer { select.reset() }
        try select.bind(1, app)
        try select.bind(2, visitor)
        return try select.step() ? select.int64(0) : nil
    }

    public func events(app: String, visitor: String, from: EventKey) throws -> [TrackedEvent] {
        if let fresh, isFresh(app: app, visitor: visitor) {
            return fresh.events.filter { !($0.key < from) }.sorted { $0.key < $1.key }
        }
        guard let vid = try visitorID(app: app, visitor: visitor) else { return [] }
        return try events(vid: vid, from: from, through: nil)
    }

    /// Events of `vid` with keys in `from...through` (open-ended without `through`), in key order.
    func events(vid: Int64, from: EventKey, through: EventKey?) throws(StoreError) -> [TrackedEvent] {
        let sql = through == nil
            ? """
              SELECT event_id, ts, type, duration, body, env FROM events
              WHERE vid = ?1 AND (ts > ?2 OR (ts = ?2 AND event_id >= ?3))
              ORDER BY ts, event_id
              """
            : """
              SELECT event_id, ts, type, duration, body, env FROM events
              WHERE vid = ?1 AND (ts > ?2 OR (ts = ?2 AND event_id >= ?3))
                AND (ts < ?4 OR (ts = ?4 AND event_id <= ?5))
              ORDER BY ts, event_id
              """
        let select = try connection.statement(sql)
        defer { select.reset() }
        try select.bind(1, vid)
        try select.bind(2, from.ts)
        try select.bind(3, from.id)
        if let through {
            try select.bind(4, through.ts)
            try select.bind(5, through.id)
        }
        var envelopes: [Int64: EnvelopeCodec.Envelope] = [:]
        var result: [TrackedEvent] = []
        while try select.step() {
            let env = select.int64(5)
            let envelope: EnvelopeCodec.Envelope
            if let known = envelopes[env] {
                envelope = known
            } else {
                envelope = try self.envelope(env)
                envelopes[env] = envelope
            }
            let event = try Self.readEvent(select, idColumn: 0)
            result.append(TrackedEvent(event: event, clientSession: envelope.clientSession, user: envelope.user,
                                       device: envelope.device))
        }
        return result
    }

    /// Reads columns id, ts, type, duration, body starting at `idColumn`.
    static func readEvent(_ statement: Statement, idColumn: Int32) throws(StoreError) -> Event {
        let id = statement.text(idColumn)
        let typeCode = statement.int64(idColumn + 2)
        guard typeCode >= 0, typeCode <= 255, let type = EventType(rawValue: UInt8(typeCode)) else {
            throw .corruptRow("event \(id): unknown type \(typeCode)")
        }
        var event = Event(id: id, type: type, ts: statement.int64(idColumn + 1),
                          duration: statement.optionalInt64(idColumn + 3))
        try statement.withBlob(idColumn + 4) { bytes throws(StoreError) in
            try EventCodec.decode(bytes, into: &event)
        }
        return event
    }

    func envelope(_ env: Int64) throws(StoreError) -> EnvelopeCodec.Envelope {
        let select = try connection.statement("SELECT body FROM envelopes WHERE env = ?")
        defer { select.reset() }
        try select.bind(1, env)
        guard try select.step() else { throw .corruptRow("event refers to missing envelope \(env)") }
        return try select.withBlob(0) { bytes throws(StoreError) in try EnvelopeCodec.decode(bytes) }
    }

    public func sessions(app: String, visitor: String, from: EventKey) throws -> [StoredSession] {
        if isFresh(app: app, visitor: visitor) { return [] }
        guard let vid = try visitorID(app: app, visitor: visitor) else { return [] }
        return try sessionRows(vid: vid, from: from).map { row throws(StoreError) in try row.stored(currentRules: currentRules) }
    }

    /// Not retired sessions of `vid`: the latest starting at or before `from`, then every later one.
    func sessionRows(vid: Int64, from: EventKey) throws(StoreError) -> [SessionRow] {
        var rows: [SessionRow] = []
        let before = try connection.statement("""
            SELECT \(SessionRow.columns) FROM sessions
            WHERE vid = ?1 AND merged_into IS NULL AND (start_ts < ?2 OR (start_ts = ?2 AND first_event_id <= ?3))
            ORDER BY start_ts DESC, first_event_id DESC LIMIT 1
            """)
        try before.bind(1, vid)
        try before.bind(2, from.ts)
        try before.bind(3, from.id)
        if try before.step() { rows.append(try SessionRow.read(before)) }
        before.reset()
        let after = try connection.statement("""
            SELECT \(SessionRow.columns) FROM sessions
            WHERE vid = ?1 AND merged_into IS NULL AND (start_ts > ?2 OR (start_ts = ?2 AND first_event_id > ?3))
            ORDER BY start_ts, first_event_id
            """)
        defer { after.reset() }
        try after.bind(1, vid)
        try after.bind(2, from.ts)
        try after.bind(3, from.id)
        while try after.step() { rows.append(try SessionRow.read(after)) }
        return rows
    }
}
