import Sessionizer

/// One shard's SQLite file as sessiond uses it, in the manner of GRDB's `DatabasePool`: one type
/// owns the writer, the readers and the SQL functions registered on their connections.
///
/// - `writer`: the one write connection (`SessionStore`), with the sort pins' trigger and its
///   `clickpath_pinning()` function installed. Only the writer thread (sessiond's `BatchWriter`)
///   calls it.
/// - readers: `readerThreads` threads, each owning a read-only `SessionReader`; `read` queues work
///   for them (WAL: they read a snapshot and never wait for the writer).
///
/// Callers pass typed queries in and get rows back; no connection or SQL text leaves this module.
public final class SessionDatabase: @unchecked Sendable {
    public let path: String
    /// The writer. Only the writer thread may use it.
    public let writer: SessionStore
    /// Recording switched on by list queries, pruned by the writer.
    public let sortPins: SortPins
    private let readers: ReaderPool

    /// Opens (creating or migrating) the store at `path` (`SessionStore.init`: live sessions are
    /// rebuilt), installs the sort pins on the writer and starts the reader threads. A full reader
    /// queue holds `readerQueue` jobs. `pinLifetime` is how long a paging cursor may need pins
    /// (ms); `clock` is server time (epoch ms).
    public init(path: String, options: StoreOptions, now: Int64, readerThreads: Int, readerQueue: Int,
                pinLifetime: Int64, clock: @escaping @Sendable () -> Int64,
                rules: @escaping RulesProvider) throws(StoreError) {
        self.path = path
        writer = try SessionStore(path: path, options: options, now: now, rules: rules)
        sortPins = SortPins(lifetime: pinLifetime, clock: clock)
        try writer.recordSortPins(sortPins)
        readers = try ReaderPool(path: path, pins: sortPins, threads: readerThreads, capacity: readerQueue,
                                 busyTimeoutMilliseconds: options.busyTimeoutMilliseconds)
    }

    /// Queues `work` for a reader thread, which runs it with its own `SessionReader`; false when
    /// the queue is full or the readers stopped (nothing runs then).
    public func read(_ work: @escaping @Sendable (SessionReader) -> Void) -> Bool {
        readers.submit(work)
    }

    /// Lets the reader threads finish their queued work and end; later `read`s answer false.
    public func stopReaders() {
        readers.stop()
    }
}
