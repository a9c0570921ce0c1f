import CSQLite

/// How hard a commit is pushed to the disk (SQLite `PRAGMA synchronous` in WAL mode).
public enum Durability: String, Sendable, CaseIterable {
    /// `synchronous=NORMAL`: a commit is in the WAL file before `apply` returns, so it survives a
    /// crash or kill of the process; the WAL is fsynced only at checkpoints, so a power loss or
    /// kernel crash can lose the last commits (never corrupt the database).
    case normal
    /// `synchronous=FULL`: the WAL is fsynced on every commit, so a commit also survives a power
    /// loss or kernel crash, at the cost of one fsync per batch.
    case full
}

/// Opening and shaping a database file: pragmas and migrations. Used by the writer and by readers.
public enum Database {
    /// Opens the writer connection: WAL, the chosen durability, secure delete, migrations applied.
    public static func openWriter(path: String, durability: Durability = .normal,
                                  busyTimeoutMilliseconds: Int = 5000, backgroundCheckpoints: Bool = false,
                                  now: Int64) throws(StoreError) -> Connection {
        let connection = try Connection(path: path)
        try configure(connection, durability: durability, busyTimeoutMilliseconds: busyTimeoutMilliseconds,
                      backgroundCheckpoints: backgroundCheckpoints)
        try migrate(connection, now: now)
        return connection
    }

    /// Opens a read-only connection for queries on another thread. WAL lets it read a consistent
    /// snapshot while the writer commits. Fails with `schemaTooNew` on a newer file.
    public static func openReader(path: String, busyTimeoutMilliseconds: Int = 5000) throws(StoreError) -> Connection {
        let connection = try Connection(path: path, readOnly: true)
        try connection.execute("PRAGMA busy_timeout=\(busyTimeoutMilliseconds)")
        try connection.execute("PRAGMA query_only=ON")
        let found = try appliedVersion(connection)
        guard found <= Schema.currentVersion else {
            throw .schemaTooNew(path: path, found: found, supported: Schema.currentVersion)
        }
        return connection
    }

    /// The pragmas of the writer (and of the benchmark's raw reference, so both pay the same).
    /// With `backgroundCheckpoints` a `Checkpointer` copies the WAL back and the writer's commits
    /// never do.
    public static func configure(_ connection: Connection, durability: Durability,
                                 busyTimeoutMilliseconds: Int, backgroundCheckpoints: Bool = false) throws(StoreError) {
        try connection.execute("PRAGMA busy_timeout=\(busyTimeoutMilliseconds)")
        let mode = try connection.scalarText("PRAGMA journal_mode=WAL")
        guard mode?.lowercased() == "wal" else {
            throw .sqlite(code: SQLITE_ERROR, message: "journal_mode is \(mode ?? "unknown")",
                          context: "switching \(connection.path) to WAL (is it on a file system without shared memory?)")
        }
        try connection.execute("PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL")")
        // Erasure must leave no trace of an erased id: freed pages are overwritten with zeros,
        // in the database and in the WAL frames that carry them.
        try connection.execute("PRAGMA secure_delete=ON")
        try connection.execute("PRAGMA foreign_keys=ON")
        // Keeps the WAL from growing without bound under a steady write load.
        try connection.execute("PRAGMA wal_autocheckpoint=\(backgroundCheckpoints ? 0 : 4000)")
        try connection.execute("PRAGMA cache_size=-262144")
        try connection.execute("PRAGMA temp_store=MEMORY")
    }

    /// The highest migration applied to this file (0 for a new file).
    public static func appliedVersion(_ connection: Connection) throws(StoreError) -> Int {
        let exists = try connection.scalarInt(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'") ?? 0
        guard exists > 0 else { return 0 }
        return Int(try connection.scalarInt("SELECT max(version) FROM schema_migrations") ?? 0)
    }

    /// Applies every migration the file has not recorded, in order, each in its own transaction
    /// (not only those above its highest: a file may have been written by a build that lacked one
    /// made at the same time, e.g. 5 without 4); refuses a newer file.
    static func migrate(_ connection: Connection, now: Int64) throws(StoreError) {
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations(
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)
            """)
        let found = try appliedVersion(connection)
        guard found <= Schema.currentVersion else {
            throw .schemaTooNew(path: connection.path, found: found, supported: Schema.currentVersion)
        }
        let applied = Set(try appliedMigrations(connection).map(\.0))
        for migration in Schema.all where !applied.contains(migration.version) {
            try connection.transaction { () throws(StoreError) in
                try connection.execute(migration.sql)
                let insert = try connection.statement(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)")
                try insert.bind(1, Int64(migration.version))
                try insert.bind(2, migration.name)
                try insert.bind(3, now)
                try insert.run()
            }
        }
    }

    /// Applied migrations, oldest first: (version, name).
    public static func appliedMigrations(_ connection: Connection) throws(StoreError) -> [(Int, String)] {
        let statement = try connection.statement("SELECT version, name FROM schema_migrations ORDER BY version")
        defer { statement.reset() }
        var result: [(Int, String)] = []
        while try statement.step() { result.append((statement.int(0), statement.text(1))) }
        return result
    }
}
