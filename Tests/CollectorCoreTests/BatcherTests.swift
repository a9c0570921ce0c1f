import Testing
@testable import CollectorCore

@Suite struct BatcherTests {
    let ms: UInt64 = 1_000_000

    @Test func defaultsMatchTheContract() {
        let limits = BatchLimits()
        #expect(limits.maxEvents == 1000)
        #expect(limits.maxBytes == 256 * 1024)
        #expect(limits.maxAgeNanoseconds == 20 * ms)
    }

    @Test func flushesWhenTheEventCountIsReached() {
        var batcher = Batcher<Int>(limits: BatchLimits(maxEvents: 10, maxBytes: 1 << 20, maxAgeNanoseconds: 20 * ms))
        #expect(batcher.add(1, events: 4, bytes: 10, now: 0).isEmpty)
        #expect(batcher.add(2, events: 4, bytes: 10, now: 1).isEmpty)
        let flushed = batcher.add(3, events: 2, bytes: 10, now: 2)
        #expect(flushed.count == 1)
        #expect(flushed.first?.items == [1, 2, 3])
        #expect(flushed.first?.events == 10)
        #expect(batcher.isEmpty)
        #expect(batcher.deadline == nil)
    }

    @Test func anItemThatWouldOverflowClosesThePreviousBatchFirst() {
        var batcher = Batcher<Int>(limits: BatchLimits(maxEvents: 10, maxBytes: 100, maxAgeNanoseconds: 20 * ms))
        _ = batcher.add(1, events: 1, bytes: 60, now: 0)
        let flushed = batcher.add(2, events: 1, bytes: 50, now: 1)
        #expect(flushed.map(\.items) == [[1]])
        #expect(flushed.first?.bytes == 60)
        #expect(batcher.pendingEvents == 1)
        // The new batch's age starts with its first item.
        #expect(batcher.deadline == 1 + 20 * ms)
    }

    @Test func anOversizedItemIsABatchOfItsOwn() {
        var batcher = Batcher<Int>(limits: BatchLimits(maxEvents: 10, maxBytes: 100, maxAgeNanoseconds: 20 * ms))
        _ = batcher.add(1, events: 1, bytes: 10, now: 0)
        let flushed = batcher.add(2, events: 50, bytes: 500, now: 1)
        #expect(flushed.map(\.items) == [[1], [2]])
        #expect(batcher.isEmpty)
    }

    @Test func flushesByAgeOnlyOnceTheAgeIsReached() {
        var batcher = Batcher<Int>(limits: BatchLimits(maxEvents: 10, maxBytes: 100, maxAgeNanoseconds: 20 * ms))
        #expect(batcher.tick(now: 0) == nil)
        _ = batcher.add(1, events: 1, bytes: 1, now: 5 * ms)
        _ = batcher.add(2, events: 1, bytes: 1, now: 15 * ms)
        #expect(batcher.deadline == 25 * ms)
        #expect(batcher.tick(now: 25 * ms - 1) == nil)
        #expect(batcher.tick(now: 25 * ms)?.items == [1, 2])
        #expect(batcher.tick(now: 100 * ms) == nil)
    }

    @Test func anItemArrivingPastTheDeadlineFlushesWithIt() {
        var batcher = Batcher<Int>(limits: BatchLimits(maxEvents: 10, maxBytes: 100, maxAgeNanoseconds: 20 * ms))
        _ = batcher.add(1, events: 1, bytes: 1, now: 0)
        #expect(batcher.add(2, events: 1, bytes: 1, now: 30 * ms).map(\.items) == [[1, 2]])
    }

    @Test func takeFlushesWhateverIsPending() {
        var batcher = Batcher<Int>()
        #expect(batcher.take() == nil)
        _ = batcher.add(7, events: 3, bytes: 10, now: 0)
        #expect(batcher.take()?.items == [7])
        #expect(batcher.take() == nil)
    }

    @Test func nonsenseLimitsAreClampedInsteadOfLooping() {
        var batcher = Batcher<Int>(limits: BatchLimits(maxEvents: 0, maxBytes: -5, maxAgeNanoseconds: 0))
        #expect(batcher.add(1, events: 1, bytes: 1, now: 0).map(\.items) == [[1]])
    }
}

extension PendingBatch: Equatable where Item: Equatable {
    public static func == (lhs: PendingBatch, rhs: PendingBatch) -> Bool {
        lhs.items == rhs.items && lhs.events == rhs.events && lhs.bytes == rhs.bytes
    }
}
