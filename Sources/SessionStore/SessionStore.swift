#if canImport(Glibc)
import Glibc
#endif
import Config
import Model
import Sessionizer
import System
import Wire

/// The session rules of an application (its config version), asked once per app and platform.
public typealias RulesProvider = @Sendable (_ app: String, _ platform: Platform) -> SessionRules

public struct StoreOptions: Sendable {
    public var durability: Durability
    public var busyTimeoutMilliseconds: Int
    /// How long batch ids are remembered for idempotent retries (BRIEF: `--batch-id-retention`).
    public var batchIDRetention: Int64
    /// Completed sessions (and their events) whose end is older than this are deleted.
    public var retention: Int64
    /// Rows deleted per retention transaction, so the writer is never held for long.
    public var retentionRowsPerTransaction: Int
    /// WAL checkpoints on a thread of their own (`Checkpointer`) instead of inside commits.
    public var backgroundCheckpoints: Bool
    /// The bound of the WAL file (`--wal-limit`): past half of it `boundWAL` truncates the WAL
    /// between two commits, and a WAL SQLite restarts is cut back to it (`journal_size_limit`).
    public var walLimitBytes: Int64

    public init(durability: Durability = .normal, busyTimeoutMilliseconds: Int = 5000,
                batchIDRetention: Int64 = 7 * 24 * hour, retention: Int64 = 35 * 24 * hour,
                retentionRowsPerTransaction: Int = 500, backgroundCheckpoints: Bool = false,
                walLimitBytes: Int64 = StoreOptions.defaultWALLimitBytes) {
        self.durability = durability
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.batchIDRetention = batchIDRetention
        self.retention = retention
        self.retentionRowsPerTransaction = max(1, retentionRowsPerTransaction)
        self.backgroundCheckpoints = backgroundCheckpoints
        self.walLimitBytes = max(1 << 20, walLimitBytes)
    }

    public static let defaultWALLimitBytes: Int64 = 64 << 20
}

/// What `apply` did with a batch.
public struct ApplyResult: Sendable, Hashable {
    public enum Status: Sendable, Hashable {
        /// Applied and committed (durable per the store's `Durability`).
        case committed
        /// The batch id was already stored: nothing changed.
        case duplicate
    }

    public var status: Status
    public var eventsNew: Int
    /// Events already stored (same app, visitor and event id), in this or an earlier batch.
    public var eventsDuplicate: Int
    /// Events of an erased user tag or visitor (tombstoned), dropped.
    public var eventsDropped: Int
    /// Session rows written: created, changed, completed or retired.
    public var sessionsChanged: Int

    public init(status: Status, eventsNew: Int = 0, eventsDuplicate: Int = 0, eventsDropped: Int = 0,
                sessionsChanged: Int = 0) {
        self.status = status
        self.eventsNew = eventsNew
        self.eventsDuplicate = eventsDuplicate
        self.eventsDropped = eventsDropped
        self.sessionsChanged = sessionsChanged
    }
}

/// The durable home of events and sessions: one SQLite file, one writer. Not thread-safe: the
/// owner (sessiond's writer thread) calls every method from one thread. Queries from other
/// threads use their own connections (`SessionReader`); `SessionDatabase` holds both.
public final class SessionStore {
    public let path: String
    public let options: StoreOptions
    /// The writer connection (tests of this module use it on the owner thread).
    let connection: Connection
    /// Copies the WAL back into the file when `options.backgroundCheckpoints` is on.
    let checkpointer: Checkpointer?
    /// The sort pins whose trigger is installed on `connection` (`recordSortPins`).
    var sortPins: SortPins?
    let rules: RulesProvider
    /// The stored id of each app's current rules; a config reload with new numbers stores a new set.
    var ruleSetIDs: [RuleSetKey: (rules: SessionRules, id: Int64)] = [:]
    var termIDs: [TermKey: Int64] = [:]
    var hasTombstones: Bool
    var engine: Sessionizer
    /// Visitors handed to the sessionizer in the open transaction (to resynchronise on failure).
    var touched: [VisitorRef] = []
    /// (session, term) pairs written in the open transaction.
    var termsWritten: Set<SessionTerm> = []
    /// Per live session (by sid), which terms with ids below 64 are stored: bit i is term i.
    /// The first terms an app gets are its common pages, action names and props, which nearly
    /// every batch repeats; this spares their INSERT OR IGNORE. 16 bytes per live session;
    /// dropped when the session completes, with its terms, and on rollback.
    var storedTerms: [Int64: UInt64] = [:]

    struct SessionTerm: Hashable {
        var sid: Int64
        var term: Int64
    }
    /// How the sessionizer placed events so far (fast path in memory vs recomputation).
    public var sessionizerStats: Sessionizer.Stats { engine.stats }
    /// Live sessions held in the sessionizer's memory.
    public var liveSessionCount: Int { engine.liveSessionCount }

    /// The highest watermark passed to `advance`, persisted in `meta`.
    public internal(set) var watermark: Int64

    struct RuleSetKey: Hashable {
        var app: String
        var platform: Platform
    }

    struct TermKey: Hashable {
        var app: String
        var kind: TermKind
        var value: String
    }

    /// Filterable things a session contains, indexed through `session_terms`.
    public enum TermKind: Int64, Sendable {
        case page = 1
        case action = 2
        case prop = 3
    }

    /// Opens (creating or migrating) the store at `path` and rebuilds the sessionizer's live state
    /// from the stored live sessions, so a restart changes no session.
    /// `sessionIDs` makes session ids (inject a seeded generator in tests).
    public init(path: String, options: StoreOptions = StoreOptions(), now: Int64,
                sessionIDs: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
                rules: @escaping RulesProvider) throws(StoreError) {
        engine = Sessionizer(ids: sessionIDs)
        self.path = path
        self.options = options
        self.rules = rules
        connection = try Database.openWriter(path: path, durability: options.durability,
                                             busyTimeoutMilliseconds: options.busyTimeoutMilliseconds,
                                             backgroundCheckpoints: options.backgroundCheckpoints, now: now)
        try connection.execute("PRAGMA journal_size_limit=\(options.walLimitBytes)")
        checkpointer = options.backgroundCheckpoints ? Checkpointer(path: path) : nil
        hasTombstones = (try connection.scalarInt("SELECT EXISTS(SELECT 1 FROM tombstones)") ?? 0) != 0
        watermark = try connection.scalarInt("SELECT value FROM meta WHERE key = 'watermark'") ?? Int64.min
        try restoreLiveState()
        try checkpointer?.start()
    }

    deinit { checkpointer?.stop() }

    /// Copies the whole WAL into the database file and truncates it (after an erasure, and when
    /// the writer stops), never at the same time as a background checkpoint.
    public func checkpoint() throws(StoreError) {
        let run = { [connection] () throws(StoreError) in try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        if let checkpointer { try checkpointer.exclusive(run) } else { try run() }
    }

    /// Bytes in the WAL file now (0 without one).
    public var walBytes: Int64 { FileIO.size(path + "-wal") }

    /// What `boundWAL` did.
    public enum WALBound: Sendable, Equatable {
        /// The WAL is below half its limit: nothing to do.
        case withinBound
        /// The WAL was copied into the database and truncated to zero bytes.
        case truncated
        /// A reader still used the WAL after the busy timeout: it stays, the next call tries again.
        case busy
    }

    /// Keeps the WAL below `options.walLimitBytes` under continuous ingest. A background PASSIVE
    /// checkpoint copies frames but never restarts the WAL while commits follow each other: the
    /// writer appends behind it forever (a 2 GB WAL after a minute of load). So once the WAL
    /// passes half its limit, the writer itself (call it between commits, on the writer thread)
    /// takes a TRUNCATE checkpoint: it copies the frames the background one has not yet
    /// copied, waits (busy timeout) for queries still reading old frames, and empties the file.
    /// Half the limit leaves room for the commits that arrive before the next call.
    @discardableResult
    public func boundWAL() throws(StoreError) -> WALBound {
        guard walBytes > options.walLimitBytes / 2 else { return .withinBound }
        let run = { [connection] () throws(StoreError) -> Int64? in
            try connection.scalarInt("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let busy: Int64?
        if let checkpointer { busy = try checkpointer.exclusive(run) } else { busy = try run() }
        return busy == 0 ? .truncated : .busy
    }

    // MARK: Batches

    /// Applies one batch in one transaction: new events (deduplicated on app, visitor, event id),
    /// every session they change, visitor and user-tag links, and the batch id. A batch id already
    /// stored answers `duplicate` and changes nothing. On any error nothing of the batch is stored.
    public func apply(batch: BatchID, beacons: [Beacon], now: Int64) throws(StoreError) -> ApplyResult {
        try apply(batches: [(batch, beacons)], now: now)[0]
    }

    /// Applies several batches in one transaction, in order (group commit: one commit for the
    /// batches that queued up while the previous commit was written). Each keeps its own result;
    /// an id stored before or earlier in the group answers `duplicate`. On any error nothing of
    /// any of them is stored (the caller may then apply them one by one).
    public func apply(batches: [(id: BatchID, beacons: [Beacon])], now: Int64) throws(StoreError) -> [ApplyResult] {
        do {
            termsWritten.removeAll(keepingCapacity: true)
            let results = try connection.transaction { () throws(StoreError) -> [ApplyResult] in
                var results: [ApplyResult] = []
                results.reserveCapacity(batches.count)
                for batch in batches { results.append(try applyInTransaction(batch: batch.id, beacons: batch.beacons, now: now)) }
                return results
            }
            touched.removeAll(keepingCapacity: true)
            return results
        } catch {
            try? resynchronize()
            throw error
        }
    }

    private func applyInTransaction(batch: BatchID, beacons: [Beacon], now: Int64) throws(StoreError) -> ApplyResult {
        if try isStored(batch) { return ApplyResult(status: .duplicate) }
        var result = ApplyResult(status: .committed)
        var work = BatchWork()
        for beacon in beacons {
            if hasTombstones, try isErased(beacon) {
                result.eventsDropped += beacon.events.count
                continue
            }
            try insertEvents(of: beacon, into: &work, result: &result)
        }
        result.sessionsChanged = try sessionize(work, now: now)
        try record(batch, events: result.eventsNew, now: now)
        return result
    }

    func isStored(_ batch: BatchID) throws(StoreError) -> Bool {
        let (producer, epoch, sequence) = Self.key(batch)
        guard let range = try firstRange(producer, epoch, endingAtOrAfter: sequence) else { return false }
        return range.first <= sequence
    }

    /// Stores the batch id: it joins the range ending just before it and the one starting just
    /// after it, so consecutive sequences stay one row.
    private func record(_ batch: BatchID, events: Int, now: Int64) throws(StoreError) {
        let (producer, epoch, sequence) = Self.key(batch)
        var joined = BatchRange(first: sequence, last: sequence, events: Int64(events))
        if sequence > Int64.min, let before = try firstRange(producer, epoch, endingAtOrAfter: sequence - 1),
           before.last == sequence - 1 {
            joined.first = before.first
            joined.events &+= before.events
            try deleteRange(producer, epoch, last: before.last)
        }
        if sequence < Int64.max, let after = try firstRange(producer, epoch, endingAtOrAfter: sequence + 1),
           after.first == sequence + 1 {
            joined.last = after.last
            joined.events &+= after.events
            try deleteRange(producer, epoch, last: after.last)
        }
        let insert = try connection.statement("""
            INSERT INTO batch_ranges(producer, epoch, first_sequence, last_sequence, committed_at, events)
            VALUES (?, ?, ?, ?, ?, ?)
            """)
        try insert.bind(1, producer)
        try insert.bind(2, epoch)
        try insert.bind(3, joined.first)
        try insert.bind(4, joined.last)
        try insert.bind(5, now)
        try insert.bind(6, joined.events)
        try insert.run()
    }

    struct BatchRange {
        var first: Int64
        var last: Int64
        var events: Int64
    }

    /// (producer, epoch, sequence) as stored: 64-bit values keep their bits.
    private static func key(_ batch: BatchID) -> (Int64, Int64, Int64) {
        (Int64(bitPattern: batch.producer), Int64(batch.epoch), Int64(bitPattern: batch.sequence))
    }

    /// The range of the producer epoch with the lowest last sequence at or after `sequence`.
    private func firstRange(_ producer: Int64, _ epoch: Int64, endingAtOrAfter sequence: Int64) throws(StoreError) -> BatchRange? {
        let select = try connection.statement("""
            SELECT first_sequence, last_sequence, events FROM batch_ranges
            WHERE producer = ? AND epoch = ? AND last_sequence >= ? ORDER BY last_sequence LIMIT 1
            """)
        defer { select.reset() }
        try select.bind(1, producer)
        try select.bind(2, epoch)
        try select.bind(3, sequence)
        guard try select.step() else { return nil }
        return BatchRange(first: select.int64(0), last: select.int64(1), events: select.int64(2))
    }

    private func deleteRange(_ producer: Int64, _ epoch: Int64, last: Int64) throws(StoreError) {
        let delete = try connection.statement(
            "DELETE FROM batch_ranges WHERE producer = ? AND epoch = ? AND last_sequence = ?")
        try delete.bind(1, producer)
        try delete.bind(2, epoch)
        try delete.bind(3, last)
        try delete.run()
    }

    /// Whether `batch` was committed (for tools and tests).
    public func contains(_ batch: BatchID) throws(StoreError) -> Bool { try isStored(batch) }

    /// The new events of one visitor in the batch being applied, with their context.
    struct VisitorWork {
        var app: String
        var visitor: String
        var vid: Int64
        var platform: Platform
        /// First seen in this batch: nothing of it was stored before.
        var isNew: Bool
        var events: [TrackedEvent] = []
    }

    struct BatchWork {
        var visitors: [Int64: Int] = [:]
        var order: [VisitorWork] = []
        var envelopes: [EnvelopeKey: Int64] = [:]
    }

    struct EnvelopeKey: Hashable {
        var vid: Int64
        var body: [UInt8]
    }

    private func insertEvents(of beacon: Beacon, into work: inout BatchWork,
                              result: inout ApplyResult) throws(StoreError) {
        let (vid, isNew) = try visitorID(app: beacon.app, visitor: beacon.visitor, platform: beacon.platform)
        let envelope = EnvelopeCodec.Envelope(clientSession: beacon.session, user: beacon.user, device: beacon.device)
        let env = try envelopeID(vid: vid, body: EnvelopeCodec.encode(envelope), cache: &work.envelopes)
        let index: Int
        if let known = work.visitors[vid] {
            index = known
        } else {
            index = work.order.count
            work.visitors[vid] = index
            work.order.append(VisitorWork(app: beacon.app, visitor: beacon.visitor, vid: vid, platform: beacon.platform,
                                         isNew: isNew))
        }
        let insert = try connection.statement("""
            INSERT OR IGNORE INTO events(vid, env, event_id, ts, type, duration, received_at, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var body: [UInt8] = []
        body.reserveCapacity(256)
        for event in beacon.events {
            body.removeAll(keepingCapacity: true)
            EventCodec.encode(event, into: &body)
            try insert.bind(1, vid)
            try insert.bind(2, env)
            try insert.bind(3, event.id)
            try insert.bind(4, event.ts)
            try insert.bind(5, Int64(event.type.rawValue))
            try insert.bind(6, event.duration)
            try insert.bind(7, beacon.receivedAt)
            try insert.bind(8, blob: body)
            try insert.run()
            if connection.changes == 1 {
                result.eventsNew += 1
                work.order[index].events.append(TrackedEvent(event: event, clientSession: beacon.session,
                                                             user: beacon.user, device: beacon.device))
            } else {
                result.eventsDuplicate += 1
            }
        }
    }

    /// The visitor's internal id, created if needed; `created` when it was not stored before.
    func visitorID(app: String, visitor: String, platform: Platform) throws(StoreError) -> (vid: Int64, created: Bool) {
        let select = try connection.statement("SELECT vid FROM visitors WHERE app = ? AND visitor = ?")
        try select.bind(1, app)
        try select.bind(2, visitor)
        if try select.step() {
            defer { select.reset() }
            return (select.int64(0), false)
        }
        select.reset()
        let insert = try connection.statement("INSERT INTO visitors(app, visitor, platform) VALUES (?, ?, ?)")
        try insert.bind(1, app)
        try insert.bind(2, visitor)
        try insert.bind(3, Int64(platform.rawValue))
        try insert.run()
        return (connection.lastInsertRowID, true)
    }

    private func envelopeID(vid: Int64, body: [UInt8], cache: inout [EnvelopeKey: Int64]) throws(StoreError) -> Int64 {
        let key = EnvelopeKey(vid: vid, body: body)
        if let known = cache[key] { return known }
        let select = try connection.statement("SELECT env FROM envelopes WHERE vid = ? AND body = ?")
        try select.bind(1, vid)
        try select.bind(2, blob: body)
        let env: Int64
        if try select.step() {
            env = select.int64(0)
            select.reset()
        } else {
            select.reset()
            let insert = try connection.statement("INSERT INTO envelopes(vid, body) VALUES (?, ?)")
            try insert.bind(1, vid)
            try insert.bind(2, blob: body)
            try insert.run()
            env = connection.lastInsertRowID
        }
        cache[key] = env
        return env
    }

    // MARK: Rule sets

    /// The stored rule set id (config version) for an app's current rules, stored on first use.
    func ruleSetID(app: String, platform: Platform) throws(StoreError) -> (Int64, SessionRules) {
        let current = rules(app, platform)
        let key = RuleSetKey(app: app, platform: platform)
        if let known = ruleSetIDs[key], known.rules == current { return (known.id, current) }
        let body = RulesCodec.encode(current)
        let select = try connection.statement("SELECT rules_id FROM rule_sets WHERE app = ? AND platform = ? AND body = ?")
        try select.bind(1, app)
        try select.bind(2, Int64(platform.rawValue))
        try select.bind(3, blob: body)
        let id: Int64
        if try select.step() {
            id = select.int64(0)
            select.reset()
        } else {
            select.reset()
            let insert = try connection.statement(
                "INSERT INTO rule_sets(app, platform, body, rules_version, created_at) VALUES (?, ?, ?, ?, ?)")
            try insert.bind(1, app)
            try insert.bind(2, Int64(platform.rawValue))
            try insert.bind(3, blob: body)
            // Config's `rulesVersion` of these rules, so a session can be matched to apps.json.
            try insert.bind(4, Int64(bitPattern: current.fingerprint(platform: platform)))
            try insert.bind(5, watermark == Int64.min ? 0 : watermark)
            try insert.run()
            id = connection.lastInsertRowID
        }
        ruleSetIDs[key] = (current, id)
        return (id, current)
    }

    /// A stored rule set by id (replay uses it to recompute with the numbers of the time).
    static func ruleSet(_ id: Int64, on connection: Connection) throws(StoreError) -> SessionRules {
        let select = try connection.statement("SELECT body FROM rule_sets WHERE rules_id = ?")
        defer { select.reset() }
        try select.bind(1, id)
        guard try select.step() else { throw .corruptRow("rule set \(id) is missing") }
        return try select.withBlob(0) { bytes throws(StoreError) in try RulesCodec.decode(bytes) }
    }

    // MARK: Batch ids

    /// Fresh statistics let the planner pick the right partial index (e.g. live sessions by app,
    /// not every session of the app); sampled (`analysis_limit`), so it takes milliseconds.
    public func refreshStatistics() throws(StoreError) {
        try connection.execute("PRAGMA analysis_limit=1000; ANALYZE")
    }

    /// Stored sessions with the live flag (retired ones included), for tools.
    public func storedLiveSessionCount() throws(StoreError) -> Int {
        Int(try connection.scalarInt("SELECT count(*) FROM sessions WHERE live = 1") ?? 0)
    }

    /// The highest batch sequence stored for `producer` (any epoch), nil when none.
    public func lastStoredSequence(producer: UInt64) throws(StoreError) -> Int64? {
        let select = try connection.statement("SELECT max(last_sequence) FROM batch_ranges WHERE producer = ?")
        defer { select.reset() }
        try select.bind(1, Int64(bitPattern: producer))
        guard try select.step() else { return nil }
        return select.optionalInt64(0)
    }

    /// Forgets the ranges of batch ids whose newest commit is older than `now - batchIDRetention`
    /// (a range still growing keeps its older ids too), at most `limit` ranges per call.
    @discardableResult
    public func pruneBatchIDs(now: Int64, limit: Int = 1000) throws(StoreError) -> Int {
        let cutoff = now &- options.batchIDRetention
        return try connection.transaction { () throws(StoreError) -> Int in
            let delete = try connection.statement("""
                DELETE FROM batch_ranges WHERE (producer, epoch, last_sequence) IN (
                    SELECT producer, epoch, last_sequence FROM batch_ranges WHERE committed_at < ?
                    ORDER BY committed_at LIMIT ?)
                """)
            try delete.bind(1, cutoff)
            try delete.bind(2, max(1, limit))
            try delete.run()
            return connection.changes
        }
    }
}
