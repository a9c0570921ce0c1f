#if canImport(Glibc)
import Glibc
#endif
import SessionStore
import Model
import Wire

/// The reference of the store benchmarks: plain SQLite inserts of the same event rows (same
/// encoding, so the same width) into the same `events` table with the same indexes and pragmas,
/// 1000 rows per transaction, one prepared statement. Later benches (sessiond, pipeline) call it
/// in their own process so their ratios share this reference.
public enum RawSQLiteReference {
    public struct Result: Sendable {
        public var rows: Int
        public var seconds: Double
        public var rowsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
    }

    /// Inserts every event of `beacons` into a fresh database at `path` (removed first).
    /// `clock` returns monotonic nanoseconds. `backgroundCheckpoints` as the store's option of that
    /// name, so the reference checkpoints the way the store it is compared with does.
    public static func run(path: String, beacons: [Beacon], durability: Durability = .normal,
                           rowsPerTransaction: Int = 1000, backgroundCheckpoints: Bool = true,
                           clock: () -> UInt64) throws(StoreError) -> Result {
        removeDatabase(at: path)
        let connection = try Connection(path: path)
        try Database.configure(connection, durability: durability, busyTimeoutMilliseconds: 5000,
                               backgroundCheckpoints: backgroundCheckpoints)
        let checkpointer = backgroundCheckpoints ? Checkpointer(path: path) : nil
        try checkpointer?.start()
        defer { checkpointer?.stop() }
        try connection.execute(Schema.eventsTable)
        var visitorIDs: [String: Int64] = [:]
        var body: [UInt8] = []
        body.reserveCapacity(512)
        var rows = 0
        let started = clock()
        var inTransaction = false
        for beacon in beacons {
            let vid: Int64
            if let known = visitorIDs[beacon.visitor] {
                vid = known
            } else {
                vid = Int64(visitorIDs.count + 1)
                visitorIDs[beacon.visitor] = vid
            }
            for event in beacon.events {
                if !inTransaction {
                    try connection.execute("BEGIN IMMEDIATE")
                    inTransaction = true
                }
                let insert = try connection.statement("""
                    INSERT INTO events(vid, env, event_id, ts, type, duration, received_at, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                body.removeAll(keepingCapacity: true)
                EventCodec.encode(event, into: &body)
                try insert.bind(1, vid)
                try insert.bind(2, vid)
                try insert.bind(3, event.id)
                try insert.bind(4, event.ts)
                try insert.bind(5, Int64(event.type.rawValue))
                try insert.bind(6, event.duration)
                try insert.bind(7, beacon.receivedAt)
                try insert.bind(8, blob: body)
                try insert.run()
                rows += 1
                if rows % rowsPerTransaction == 0 {
                    try connection.execute("COMMIT")
                    inTransaction = false
                }
            }
        }
        if inTransaction { try connection.execute("COMMIT") }
        let seconds = Double(clock() &- started) / 1e9
        return Result(rows: rows, seconds: seconds)
    }
}

/// Removes a database file and its WAL and shared-memory files, if present.
public func removeDatabase(at path: String) {
    for suffix in ["", "-wal", "-shm", "-journal"] { _ = unlink(path + suffix) }
}
