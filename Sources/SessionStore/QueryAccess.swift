import Model
import CSQLite
import Sessionizer
import Wire

// What `SessionReader`'s queries need of a connection: the columns they select, one-off
// statements and a per-query time limit; and the SQL function behind `SortPins`' trigger.

extension SessionRow {
    /// The column list `read` decodes, in order; column 2 is the visitor's internal `vid`.
    static var selectColumns: String { columns }
    /// How many columns `selectColumns` names.
    static var selectColumnCount: Int32 { columnCount }
}

/// A time limit for the statements of one reader connection: SQLite's progress handler aborts a
/// running statement (it fails with `SQLITE_INTERRUPT`) once `expired` answers true.
public final class QueryDeadline: @unchecked Sendable {
    private let expired: () -> Bool
    /// SQLite virtual-machine steps between two calls of `expired`.
    public let checkEvery: Int32

    /// `expired` is asked every `checkEvery` SQLite VM steps, on the thread running the query.
    public init(checkEvery: Int32 = 1000, expired: @escaping () -> Bool) {
        self.checkEvery = max(1, checkEvery)
        self.expired = expired
    }

    fileprivate func check() -> Int32 { expired() ? 1 : 0 }
}

extension Connection {
    /// Prepares `sql` without caching it (queries whose text varies with their filters must not
    /// fill the statement cache), runs `body`, and finalizes it.
    func withTransientStatement<T>(_ sql: String, _ body: (Statement) throws(StoreError) -> T) throws(StoreError) -> T {
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, 0, &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw error(rc, "preparing \(sql.prefix(160))") }
        let statement = Statement(raw: raw, connection: self, sql: sql)
        defer { statement.finalize() }
        return try body(statement)
    }

    /// Installs (or with nil removes) the time limit of this connection's statements. The caller
    /// keeps `deadline` alive until it removes it or installs another.
    func setDeadline(_ deadline: QueryDeadline?) {
        guard let deadline else {
            sqlite3_progress_handler(handle, 0, nil, nil)
            return
        }
        sqlite3_progress_handler(handle, deadline.checkEvery, { context in
            guard let context else { return 0 }
            return Unmanaged<QueryDeadline>.fromOpaque(context).takeUnretainedValue().check()
        }, Unmanaged.passUnretained(deadline).toOpaque())
    }

}

extension StoreError {
    /// A statement was interrupted: the query ran past its `QueryDeadline`.
    public var isInterrupted: Bool {
        if case .sqlite(let code, _, _) = self { return code & 0xff == SQLITE_INTERRUPT }
        return false
    }
}

extension SessionReader {
    /// Installs (or with nil removes) the time limit of this reader's statements. The caller
    /// keeps `deadline` alive until it removes it or installs another.
    public func setDeadline(_ deadline: QueryDeadline?) {
        connection.setDeadline(deadline)
    }
}

/// A flag the writer's SQL can read (`SELECT name()`), set from any thread.
final class SQLFlag: @unchecked Sendable {
    private let isSet: @Sendable () -> Bool

    init(_ isSet: @escaping @Sendable () -> Bool) {
        self.isSet = isSet
    }

    fileprivate var value: Int64 { isSet() ? 1 : 0 }
}

extension Connection {
    /// Registers a SQL function `name()` answering 1 while `flag` is set, 0 otherwise. The caller
    /// keeps `flag` alive as long as the connection may call the function.
    func registerFlagFunction(_ name: String, _ flag: SQLFlag) throws(StoreError) {
        let rc = sqlite3_create_function_v2(handle, name, 0, SQLITE_UTF8, Unmanaged.passUnretained(flag).toOpaque(), { context, _, _ in
            guard let context, let user = sqlite3_user_data(context) else { return }
            sqlite3_result_int64(context, Unmanaged<SQLFlag>.fromOpaque(user).takeUnretainedValue().value)
        }, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, "registering SQL function \(name)") }
    }
}
