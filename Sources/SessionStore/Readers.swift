import Foundation

/// Reader threads, each with its own read-only connection (`SessionReader`), so queries never
/// run on an event loop and never wait for the writer (WAL). A bounded queue: when it is full
/// `submit` answers false at once (sessiond then answers 503). `SessionDatabase` owns it.
final class ReaderPool: @unchecked Sendable {
    typealias Work = @Sendable (SessionReader) -> Void

    private let condition = NSCondition()
    private var jobs: [Work] = []
    private var stopping = false
    private let capacity: Int

    init(path: String, pins: SortPins, threads: Int, capacity: Int, busyTimeoutMilliseconds: Int) throws(StoreError) {
        self.capacity = capacity
        var readers: [SessionReader] = []
        for _ in 0..<max(1, threads) {
            readers.append(try SessionReader(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds, pins: pins))
        }
        for (i, reader) in readers.enumerated() {
            nonisolated(unsafe) let owned = reader
            let thread = Thread { [self] in run(owned) }
            thread.name = "sessiond-reader-\(i)"
            thread.start()
        }
    }

    /// Queues `work`; false when the queue is full.
    func submit(_ work: @escaping Work) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard jobs.count < capacity, !stopping else { return false }
        jobs.append(work)
        condition.signal()
        return true
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run(_ reader: SessionReader) {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let work = jobs.removeFirst()
            condition.unlock()
            work(reader)
        }
    }
}
