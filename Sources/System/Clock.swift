// The daemons' one clock. Every reader of time takes a `DaemonClock` (default `.system`), so a
// test injects a `ManualClock` and never sleeps to wait for a timeout.
import Synchronization

/// Wall time (epoch milliseconds: `receivedAt`, batch creation, the watermark) and monotonic
/// time (nanoseconds: timeouts, ages, latencies).
public struct DaemonClock: Sendable {
    /// Monotonic nanoseconds (CLOCK_MONOTONIC for `.system`).
    public var monotonicNanoseconds: @Sendable () -> UInt64
    /// Wall clock epoch milliseconds (CLOCK_REALTIME for `.system`).
    public var wallMilliseconds: @Sendable () -> Int64

    public init(monotonicNanoseconds: @escaping @Sendable () -> UInt64,
                wallMilliseconds: @escaping @Sendable () -> Int64) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.wallMilliseconds = wallMilliseconds
    }

    public static let system = DaemonClock(monotonicNanoseconds: { Syscalls.monotonicNanoseconds() },
                                           wallMilliseconds: { Syscalls.wallMilliseconds() })

    public func monotonicMilliseconds() -> Int64 { Int64(truncatingIfNeeded: monotonicNanoseconds() / 1_000_000) }
    public func monotonicSeconds() -> Double { Double(monotonicNanoseconds()) / 1e9 }
}

/// A clock that moves only when a test says so. After `advance`, wake a loop that reads it
/// (`loop.execute {}`) so it runs the timers that came due.
public final class ManualClock: Sendable {
    private let monotonic: Atomic<UInt64>
    private let wall: Atomic<Int64>

    public init(start: UInt64 = 1_000_000_000, wallMilliseconds: Int64 = 1_700_000_000_000) {
        monotonic = Atomic(start)
        wall = Atomic(wallMilliseconds)
    }

    public var clock: DaemonClock {
        DaemonClock(monotonicNanoseconds: { self.nanoseconds() }, wallMilliseconds: { self.wallMilliseconds() })
    }

    public func nanoseconds() -> UInt64 { monotonic.load(ordering: .acquiring) }
    public func wallMilliseconds() -> Int64 { wall.load(ordering: .acquiring) }

    public func advance(byNanoseconds delta: UInt64) {
        monotonic.add(delta, ordering: .releasing)
    }

    public func advance(bySeconds seconds: Double) {
        advance(byNanoseconds: UInt64(seconds * 1e9))
    }

    /// Moves the wall clock only.
    public func advance(wallMilliseconds delta: Int64) {
        wall.add(delta, ordering: .releasing)
    }
}
