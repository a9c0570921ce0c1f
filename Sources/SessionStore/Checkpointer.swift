import Dispatch
import Foundation

/// Copies the WAL back into the database file on its own thread and connection. SQLite's
/// automatic checkpoint runs inside the commit that crosses its threshold, so the writer paid
/// for it (about a quarter of its time under load, and most of its p99 commit latency). These
/// checkpoints are PASSIVE: they never wait for the writer or for readers; the writer restarts
/// the WAL from its beginning once a checkpoint has copied all of it.
public final class Checkpointer: @unchecked Sendable {
    public let path: String
    private let intervalSeconds: Double
    private let condition = NSCondition()
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Held around every checkpoint, so the writer's own (TRUNCATE after an erasure) never meets
    /// a background one half way.
    private let exclusion = NSLock()

    /// A connection owned by the checkpoint thread (opened by `start` to report errors there).
    private final class Owned: @unchecked Sendable {
        let connection: Connection
        init(_ connection: Connection) { self.connection = connection }
    }

    public init(path: String, intervalSeconds: Double = 0.5) {
        self.path = path
        self.intervalSeconds = intervalSeconds
    }

    public func start() throws(StoreError) {
        let owned = Owned(try Connection(path: path))
        let thread = Thread { [self] in
            condition.lock()
            while !stopping {
                _ = condition.wait(until: Date(timeIntervalSinceNow: intervalSeconds))
                if stopping { break }
                condition.unlock()
                exclusion.lock()
                try? owned.connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
                exclusion.unlock()
                condition.lock()
            }
            condition.unlock()
            finished.signal()
        }
        thread.name = "sqlite-checkpoint"
        condition.lock()
        self.thread = thread
        condition.unlock()
        thread.start()
    }

    /// Ends the thread after the checkpoint in progress, if any. Idempotent.
    public func stop() {
        condition.lock()
        let running = thread != nil && !stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if running { finished.wait() }
    }

    /// Runs `body` while no background checkpoint runs.
    public func exclusive<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        exclusion.lock()
        defer { exclusion.unlock() }
        return try body()
    }
}
