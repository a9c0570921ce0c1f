// One epoll event loop on one dedicated thread. Everything a loop owns (connections, timers,
// handlers) is touched only on that thread; other threads hand work in with `execute`.
#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation
import Synchronization
import System

/// Receives the epoll events of one registered descriptor, on the loop thread.
public protocol EventLoopHandler: AnyObject {
    func handleEvents(_ events: UInt32)
    /// The loop is stopping: release the descriptor.
    func loopWillStop()
}

/// A timer scheduled on a loop; cancel it with `EventLoop.cancel(_:)`.
public struct TimerID: Sendable, Hashable {
    let value: UInt64
}

public final class EventLoop: @unchecked Sendable {
    public let name: String
    /// Read once per iteration (its monotonic nanoseconds); tests inject a `ManualClock`'s.
    public let clock: DaemonClock
    /// Edge-triggered (EPOLLET) registration of connections; level-triggered otherwise.
    public let edgeTriggered: Bool

    private let epoll: FileDescriptor
    private let wake: FileDescriptor
    private var handlers: [EventLoopHandler?] = []
    private let tasks = Mutex<[@Sendable () -> Void]>([])
    private let wakePending = Atomic<Bool>(false)
    private var timers = TimerHeap()
    private var nextTimerID: UInt64 = 0
    private var cancelledTimers = Set<UInt64>()
    private var running = true
    private var loopThread: pthread_t?
    private let stopped = DispatchSemaphore(value: 0)
    private var stopHooks: [() -> Void] = []

    /// The loop's time for this iteration (nanoseconds of its clock).
    public private(set) var now: UInt64

    private init(name: String, clock: DaemonClock, edgeTriggered: Bool) throws(SyscallError) {
        self.name = name
        self.clock = clock
        self.edgeTriggered = edgeTriggered
        self.epoll = try Syscalls.epollCreate()
        self.wake = try Syscalls.eventFD()
        self.now = clock.monotonicNanoseconds()
        try Syscalls.epollControl(epoll.rawValue, EPOLL_CTL_ADD, wake.rawValue, events: EPOLLIN.rawValue)
    }

    /// Starts a loop on its own thread (never the Swift concurrency pool: epoll_wait blocks).
    public static func start(name: String, clock: DaemonClock = .system,
                             edgeTriggered: Bool = true) throws(SyscallError) -> EventLoop {
        Syscalls.ignoreSIGPIPE()
        let loop = try EventLoop(name: name, clock: clock, edgeTriggered: edgeTriggered)
        let started = DispatchSemaphore(value: 0)
        let thread = Thread {
            loop.loopThread = pthread_self()
            started.signal()
            loop.run()
        }
        thread.name = name
        thread.start()
        started.wait()
        return loop
    }

    /// True on this loop's own thread.
    public var inEventLoop: Bool {
        guard let loopThread else { return false }
        return pthread_equal(loopThread, pthread_self()) != 0
    }

    /// Runs `work` on the loop thread soon. Safe from any thread; never blocks on the loop.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        tasks.withLock { $0.append(work) }
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            Syscalls.signalEventFD(wake.rawValue)
        }
    }

    /// Runs `body` on the loop thread and waits for it (directly when called on that thread),
    /// rethrowing its error. The loop must be running; do not call it from another loop.
    public func runAndWait(_ body: @escaping @Sendable () throws(SyscallError) -> Void) throws(SyscallError) {
        if inEventLoop {
            try body()
            return
        }
        let failure = Mutex<SyscallError?>(nil)
        let done = DispatchSemaphore(value: 0)
        execute {
            do throws(SyscallError) {
                try body()
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// One line on standard error, for failures no caller can be told about.
    static func logError(_ message: String) {
        FileHandle.standardError.write(Data("transport: \(message)\n".utf8))
    }

    /// Stops the loop: runs the stop hooks and tells every handler, then the thread ends.
    public func stop() {
        execute { [self] in running = false }
    }

    /// Blocks the caller until the loop thread has finished.
    public func waitUntilStopped() {
        stopped.wait()
        stopped.signal()
    }

    /// Loop thread only: `hook` runs when the loop stops (graceful shutdown).
    public func onStop(_ hook: @escaping () -> Void) {
        stopHooks.append(hook)
    }

    // MARK: descriptors (loop thread only)

    public func register(fd: Int32, events: UInt32, handler: EventLoopHandler) throws(SyscallError) {
        let index = Int(fd)
        if index >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: index + 1 - handlers.count + 64))
        }
        try Syscalls.epollControl(epoll.rawValue, EPOLL_CTL_ADD, fd, events: events)
        handlers[index] = handler
    }

    public func modify(fd: Int32, events: UInt32) throws(SyscallError) {
        try Syscalls.epollControl(epoll.rawValue, EPOLL_CTL_MOD, fd, events: events)
    }

    /// Forgets a descriptor. Call before closing it (closing also removes it from epoll).
    public func deregister(fd: Int32) {
        let index = Int(fd)
        guard index >= 0, index < handlers.count else { return }
        handlers[index] = nil
        try? Syscalls.epollControl(epoll.rawValue, EPOLL_CTL_DEL, fd, events: 0)
    }

    // MARK: timers (loop thread only)

    /// Runs `body` on the loop once its clock reaches `deadline` (nanoseconds).
    @discardableResult
    public func schedule(at deadline: UInt64, _ body: @escaping () -> Void) -> TimerID {
        nextTimerID &+= 1
        timers.push(TimerEntry(deadline: deadline, id: nextTimerID, body: body))
        return TimerID(value: nextTimerID)
    }

    @discardableResult
    public func schedule(afterNanoseconds delay: UInt64, _ body: @escaping () -> Void) -> TimerID {
        schedule(at: now &+ delay, body)
    }

    public func cancel(_ timer: TimerID) {
        cancelledTimers.insert(timer.value)
    }

    // MARK: the loop

    private func run() {
        let capacity: Int32 = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        let wakeFD = wake.rawValue
        while running {
            let count: Int
            do {
                count = try Syscalls.epollWait(epoll.rawValue, events, capacity, timeoutMs: timeoutMs())
            } catch {
                // Cannot happen with a valid epoll descriptor; if it does, stop this loop the
                // graceful way (hooks, handlers closed) and say why, rather than crash the daemon.
                EventLoop.logError("event loop \(name) stopped: \(error)")
                break
            }
            now = clock.monotonicNanoseconds()
            for i in 0..<count {
                let fd = events[i].data.fd
                if fd == wakeFD {
                    runTasks()
                    continue
                }
                let index = Int(fd)
                if index < handlers.count, let handler = handlers[index] {
                    handler.handleEvents(events[i].events)
                }
            }
            runTimers()
        }
        for hook in stopHooks { hook() }
        for case let handler? in handlers { handler.loopWillStop() }
        handlers.removeAll()
        runTasks()
        stopped.signal()
    }

    private func runTasks() {
        // Drain before clearing: an execute() between the two then either sees the flag still
        // set (its task is taken below) or signals the eventfd anew. The other order lost wake-ups.
        Syscalls.drainEventFD(wake.rawValue)
        wakePending.store(false, ordering: .releasing)
        let work = tasks.withLock { pending -> [@Sendable () -> Void] in
            let taken = pending
            pending.removeAll(keepingCapacity: true)
            return taken
        }
        for task in work { task() }
    }

    private func runTimers() {
        while let first = timers.first, first.deadline <= now {
            let entry = timers.pop()
            if cancelledTimers.remove(entry.id) != nil { continue }
            entry.body()
            // A timer body may take time; keep `now` honest for the next deadline it sets.
            now = clock.monotonicNanoseconds()
        }
    }

    private func timeoutMs() -> Int32 {
        if wakePending.load(ordering: .relaxed) { return 0 }
        guard let first = timers.first else { return 1000 }
        let current = clock.monotonicNanoseconds()
        if first.deadline <= current { return 0 }
        let ms = (first.deadline - current + 999_999) / 1_000_000
        return Int32(min(ms, 1000))
    }
}

struct TimerEntry {
    let deadline: UInt64
    let id: UInt64
    let body: () -> Void
}

/// A binary min-heap of timers ordered by deadline, then scheduling order.
struct TimerHeap {
    private var items: [TimerEntry] = []

    var first: TimerEntry? { items.first }
    var count: Int { items.count }

    private static func less(_ a: TimerEntry, _ b: TimerEntry) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.id < b.id)
    }

    mutating func push(_ entry: TimerEntry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !Self.less(items[child], items[parent]) { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> TimerEntry {
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= items.count { break }
                var smallest = left
                let right = left + 1
                if right < items.count && Self.less(items[right], items[left]) { smallest = right }
                if !Self.less(items[smallest], items[parent]) { break }
                items.swapAt(smallest, parent)
                parent = smallest
            }
        }
        return top
    }
}
