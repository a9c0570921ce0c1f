import Foundation
import SessionStore

/// Reader threads, each with its own read-only connection (`QueryService`), so queries never
/// run on an event loop and never wait for the writer (WAL). A bounded queue: when it is full
/// the caller answers 503 at once.
public final class ReaderPool: @unchecked Sendable {
    public typealias Work = @Sendable (QueryService) -> Void

    private let condition = NSCondition()
    private var jobs: [Work] = []
    private var stopping = false
    private let capacity: Int

    public init(path: String, pins: SortPins, threads: Int, capacity: Int) throws(StoreError) {
        self.capacity = capacity
        var services: [QueryService] = []
        for _ in 0..<max(1, threads) { services.append(try QueryService(path: path, pins: pins)) }
        for (i, service) in services.enumerated() {
            nonisolated(unsafe) let owned = service
            let thread = Thread { [self] in run(owned) }
            thread.name = "sessiond-reader-\(i)"
            thread.start()
        }
    }

    /// Queues `work`; false when the queue is full.
    public func submit(_ work: @escaping Work) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard jobs.count < capacity, !stopping else { return false }
        jobs.append(work)
        condition.signal()
        return true
    }

    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run(_ service: QueryService) {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let work = jobs.removeFirst()
            condition.unlock()
            work(service)
        }
    }
}
