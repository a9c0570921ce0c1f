// Batching per shard as a pure state machine (the swift-nio way): the caller feeds items and the
// time, the batcher answers with batches to flush. No clocks, no threads.

/// When a shard's pending batch is flushed.
public struct BatchLimits: Sendable, Equatable {
    /// Flush once the batch holds this many events.
    public var maxEvents: Int
    /// Flush once the batch's estimated encoded size reaches this many bytes.
    public var maxBytes: Int
    /// Flush once the oldest item has waited this long (nanoseconds).
    public var maxAgeNanoseconds: UInt64

    public init(maxEvents: Int = 1000, maxBytes: Int = 256 * 1024, maxAgeNanoseconds: UInt64 = 20_000_000) {
        self.maxEvents = max(1, maxEvents)
        self.maxBytes = max(1, maxBytes)
        self.maxAgeNanoseconds = maxAgeNanoseconds
    }
}

/// A batch ready to be encoded and spooled.
public struct PendingBatch<Item>: Sendable where Item: Sendable {
    public var items: [Item]
    public var events: Int
    public var bytes: Int
}

/// The pending batch of one shard.
public struct Batcher<Item: Sendable>: Sendable {
    public let limits: BatchLimits
    private var items: [Item] = []
    private var events = 0
    private var bytes = 0
    private var openedAt: UInt64 = 0

    public init(limits: BatchLimits = BatchLimits()) {
        self.limits = limits
    }

    public var isEmpty: Bool { items.isEmpty }
    public var pendingEvents: Int { events }

    /// When the pending batch must be flushed by age, or nil when nothing is pending.
    public var deadline: UInt64? {
        items.isEmpty ? nil : openedAt &+ limits.maxAgeNanoseconds
    }

    /// Adds an item of `events` events and about `bytes` encoded bytes at monotonic time `now`.
    /// Returns the batches to flush, oldest first (at most two: the previous batch when this item
    /// would overflow it, then this one when it fills a batch by itself).
    public mutating func add(_ item: Item, events itemEvents: Int, bytes itemBytes: Int, now: UInt64) -> [PendingBatch<Item>] {
        var flushed: [PendingBatch<Item>] = []
        if !items.isEmpty
            && (events + itemEvents > limits.maxEvents || bytes + itemBytes > limits.maxBytes) {
            if let batch = take() { flushed.append(batch) }
        }
        if items.isEmpty { openedAt = now }
        items.append(item)
        events += itemEvents
        bytes += itemBytes
        if events >= limits.maxEvents || bytes >= limits.maxBytes || now &- openedAt >= limits.maxAgeNanoseconds {
            if let batch = take() { flushed.append(batch) }
        }
        return flushed
    }

    /// Flushes the pending batch if it reached its age at `now`.
    public mutating func tick(now: UInt64) -> PendingBatch<Item>? {
        guard let deadline, now >= deadline else { return nil }
        return take()
    }

    /// Flushes whatever is pending (shutdown).
    public mutating func take() -> PendingBatch<Item>? {
        guard !items.isEmpty else { return nil }
        let batch = PendingBatch(items: items, events: events, bytes: bytes)
        items = []
        events = 0
        bytes = 0
        return batch
    }
}
