import Synchronization

/// Keeps the sort values (start, duration, errors, actions) a session had before each change, while
/// paging cursors may need them: a TEMP trigger on the writer connection copies the old values
/// into `session_pins` with the commit stamp of the change. A cursor pinned at stamp S then
/// sorts every session by its value at S (`SessionSQL.sortKey`), so paging returns each session
/// exactly once while sessions keep growing (duration, errors, actions) or late events move
/// their start earlier.
///
/// Recording is switched on by queries (`SessionReader.sessions` on a first page) for
/// `lifetime` (sessiond passes its cursors' lifetime), so ingest pays nothing while nobody pages;
/// rows older than the lifetime are pruned by the writer (`SessionStore.pruneSortPins`).
/// `SessionDatabase` installs the trigger on its writer and hands the pins to its readers.
public final class SortPins: Sendable {
    private final class Until: Sendable {
        let value = Atomic<Int64>(0)
    }

    private let until = Until()
    private let clock: @Sendable () -> Int64
    private let flag: SQLFlag
    /// How long (ms) recording stays on after a first page, and pins are kept.
    public let lifetime: Int64

    /// `clock` is server time in epoch ms; `lifetime` how long a paging cursor may need pins (ms).
    public init(lifetime: Int64, clock: @escaping @Sendable () -> Int64) {
        self.lifetime = lifetime
        self.clock = clock
        let until = until
        flag = SQLFlag { clock() < until.value.load(ordering: .relaxed) }
    }

    /// Installs the trigger on the writer connection (once, at start). The `session_pins` table
    /// and its indexes come from the store's migrations (`Schema`, versions 2 and 5); the trigger is TEMP
    /// because it calls `clickpath_pinning()`, a function only this process registers.
    func install(on writer: Connection) throws(StoreError) {
        try writer.registerFlagFunction("clickpath_pinning", flag)
        try writer.execute("""
            CREATE TEMP TRIGGER IF NOT EXISTS session_pins_keep
            AFTER UPDATE OF start_ts, duration, errors, actions ON main.sessions
            WHEN clickpath_pinning() = 1
              AND (old.start_ts <> new.start_ts OR old.duration <> new.duration OR old.errors <> new.errors
                   OR old.actions <> new.actions)
            BEGIN
              INSERT INTO session_pins(sid, until_ts, start_ts, duration, errors, actions)
              VALUES (old.sid, new.updated_at, old.start_ts, old.duration, old.errors, old.actions);
            END
            """)
    }

    /// Called before a list query picks its stamp: records changes from now on for a lifetime.
    public func activate() {
        let until = clock() &+ lifetime
        var current = self.until.value.load(ordering: .relaxed)
        while current < until {
            let (exchanged, original) = self.until.value.compareExchange(expected: current, desired: until,
                                                                          ordering: .relaxed)
            if exchanged { break }
            current = original
        }
    }

    public var isActive: Bool { clock() < until.value.load(ordering: .relaxed) }

    /// Deletes pins no cursor can need any more (writer thread); returns how many.
    @discardableResult
    func prune(on writer: Connection, now: Int64) throws(StoreError) -> Int {
        let delete = try writer.statement("DELETE FROM session_pins WHERE until_ts < ?")
        try delete.bind(1, now &- lifetime)
        try delete.run()
        return writer.changes
    }
}

extension SessionStore {
    /// Installs the pins' trigger on the writer connection (once, at start) and prunes them from
    /// now on (`pruneSortPins`).
    public func recordSortPins(_ pins: SortPins) throws(StoreError) {
        try pins.install(on: connection)
        sortPins = pins
    }

    /// Deletes pins no cursor can need any more; returns how many (0 without pins).
    @discardableResult
    public func pruneSortPins(now: Int64) throws(StoreError) -> Int {
        guard let sortPins else { return 0 }
        return try sortPins.prune(on: connection, now: now)
    }
}
