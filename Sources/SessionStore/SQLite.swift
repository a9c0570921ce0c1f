import CSQLite

/// Every failure of the store, with a message an operator can act on.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite answered `code`; `message` is `sqlite3_errmsg` at that moment, `context` what we did.
    case sqlite(code: Int32, message: String, context: String)
    /// The file was written by a newer Clickpath whose schema this build does not know.
    case schemaTooNew(path: String, found: Int, supported: Int)
    /// A stored value could not be decoded (a damaged row or a foreign file).
    case corruptRow(String)
    /// A caller passed something the store cannot hold.
    case invalidArgument(String)
    /// The sessionizer could not place a batch (it failed reading the visitor's history).
    case sessionizer(String)

    public var description: String {
        switch self {
        case let .sqlite(code, message, context):
            "sqlite error \(code) (\(message)) while \(context)"
        case let .schemaTooNew(path, found, supported):
            "database \(path) has schema version \(found) but this build supports up to \(supported);"
                + " run a newer Clickpath or restore a backup"
        case let .corruptRow(what): "corrupt row: \(what)"
        case let .invalidArgument(what): "invalid argument: \(what)"
        case let .sessionizer(message): message
        }
    }
}

/// One SQLite connection. Public only for the benchmarks' raw-SQLite reference
/// (`Benchmarks/clickpath-bench`); the store's own connections (`SessionStore`'s writer,
/// `SessionReader`s) are internal and never leave this module. Not thread-safe by design: one owner thread (the writer, or one reader).
/// Prepared statements are cached by SQL text and reused for the connection's lifetime.
public final class Connection {
    let handle: OpaquePointer
    public let path: String
    private var cache: [String: Statement] = [:]

    /// Opens (and creates unless `readOnly`) the database at `path`.
    public init(path: String, readOnly: Bool = false) throws(StoreError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw .sqlite(code: rc, message: message, context: "opening \(path)")
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        for statement in cache.values { statement.finalize() }
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ rc: Int32, _ context: @autoclosure () -> String) -> StoreError {
        .sqlite(code: rc, message: String(cString: sqlite3_errmsg(handle)), context: context())
    }

    /// Runs one or more statements without results (DDL, pragmas that return nothing useful).
    public func execute(_ sql: String) throws(StoreError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, "executing \(sql.prefix(120))") }
    }

    /// The cached prepared statement for `sql`, reset and with its bindings cleared.
    public func statement(_ sql: String) throws(StoreError) -> Statement {
        if let cached = cache[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw error(rc, "preparing \(sql.prefix(160))") }
        let statement = Statement(raw: raw, connection: self, sql: sql)
        cache[sql] = statement
        return statement
    }

    /// A single integer from a query such as a pragma or `SELECT count(*)`.
    public func scalarInt(_ sql: String) throws(StoreError) -> Int64? {
        let statement = try statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    /// A single text value from a query, e.g. `PRAGMA journal_mode`.
    public func scalarText(_ sql: String) throws(StoreError) -> String? {
        let statement = try statement(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in `BEGIN IMMEDIATE … COMMIT`; any error rolls the whole transaction back.
    public func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }
}

/// A prepared statement owned by its connection's cache. Bind indexes are 1-based, columns 0-based.
public final class Statement {
    private let raw: OpaquePointer
    private unowned let connection: Connection
    let sql: String

    init(raw: OpaquePointer, connection: Connection, sql: String) {
        self.raw = raw
        self.connection = connection
        self.sql = sql
    }

    func finalize() { sqlite3_finalize(raw) }

    /// Makes the statement ready for new bindings; previous errors were already reported by `step`.
    public func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    private func check(_ rc: Int32, _ index: Int32) throws(StoreError) {
        guard rc == SQLITE_OK else { throw connection.error(rc, "binding parameter \(index) of \(sql.prefix(120))") }
    }

    public func bind(_ index: Int32, _ value: Int64) throws(StoreError) {
        try check(sqlite3_bind_int64(raw, index, value), index)
    }

    public func bind(_ index: Int32, _ value: Int64?) throws(StoreError) {
        if let value { try bind(index, value) } else { try bindNull(index) }
    }

    public func bind(_ index: Int32, _ value: Int) throws(StoreError) { try bind(index, Int64(value)) }

    public func bind(_ index: Int32, _ value: Bool) throws(StoreError) { try bind(index, Int64(value ? 1 : 0)) }

    public func bind(_ index: Int32, _ value: Double) throws(StoreError) {
        try check(sqlite3_bind_double(raw, index, value), index)
    }

    private func length(_ count: Int, _ index: Int32) throws(StoreError) -> Int32 {
        guard let length = Int32(exactly: count) else {
            throw .invalidArgument("parameter \(index) of \(sql.prefix(80)) is \(count) bytes, more than SQLite takes")
        }
        return length
    }

    public func bind(_ index: Int32, _ value: String) throws(StoreError) {
        var value = value
        let count = try length(value.utf8.count, index)
        let rc = value.withUTF8 { bytes in
            // An empty string must bind as '' (not NULL): SQLite needs a non-null pointer.
            UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).withMemoryRebound(
                to: CChar.self, capacity: max(bytes.count, 1)
            ) { pointer in
                sqlite3_bind_text(raw, index, pointer, count, clickpath_sqlite_transient())
            }
        }
        try check(rc, index)
    }

    public func bind(_ index: Int32, _ value: String?) throws(StoreError) {
        if let value { try bind(index, value) } else { try bindNull(index) }
    }

    public func bind(_ index: Int32, blob: [UInt8]) throws(StoreError) {
        let count = try length(blob.count, index)
        let rc = blob.withUnsafeBytes { bytes in
            // A zero-length blob must still be a blob, not NULL: SQLite needs a non-null pointer.
            sqlite3_bind_blob(raw, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1),
                              count, clickpath_sqlite_transient())
        }
        try check(rc, index)
    }

    public func bindNull(_ index: Int32) throws(StoreError) {
        try check(sqlite3_bind_null(raw, index), index)
    }

    /// Steps once: `true` when a row is available, `false` when done.
    @discardableResult
    public func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let failure = connection.error(rc, "running \(sql.prefix(160))")
            sqlite3_reset(raw)
            throw failure
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    public func run() throws(StoreError) {
        defer { reset() }
        while try step() {}
    }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }
    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(raw, column)) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }
    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    public func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(raw, column) else { return "" }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    public func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Reads a blob column in place, without copying it out.
    public func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws(StoreError) -> T) throws(StoreError) -> T {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
