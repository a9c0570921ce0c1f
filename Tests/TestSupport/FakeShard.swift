import Dispatch
import Synchronization
import Transport
import Model
import Wire

/// A stand-in for sessiond on a real Wire socket: acknowledges every batch as committed (unless
/// told not to) and records what it got.
public final class FakeShard: Sendable {
    public let loop: EventLoop
    public let server: WireServer
    public let batches = Collector<EventBatch>()
    /// Connections that ended (a refused handshake included).
    public let closes = Collector<String>()

    public init(shard: String, port: UInt16 = 0, window: Int = 8, acknowledges: Bool = true) throws {
        loop = try EventLoop.start(name: "fake-sessiond")
        let batches = self.batches
        let closes = self.closes
        server = try WireServer.start(port: port, identity: WireServerIdentity(shardID: shard, nodeID: "fake", maxInFlightBatches: window),
                                      on: [loop], handlers: WireServerHandlers(message: { connection, message in
            guard case let .eventBatch(batch) = message else { return }
            batches.add(batch)
            guard acknowledges else { return }
            connection.send(.batchAck(BatchAck(batchID: batch.batchID, outcome: .committed,
                                               acceptedEvents: UInt32(batch.eventCount), duplicateEvents: 0)))
        }, closed: { _, reason in closes.add("\(reason)") }))
    }

    public func stop() {
        server.stop()
        loop.stop()
    }
}


/// Collects values from callbacks on other threads; `wait(count:)` blocks until that many arrived.
public final class Collector<Value: Sendable>: Sendable {
    public init() {}

    private let values = Mutex<[Value]>([])
    private let arrived = DispatchSemaphore(value: 0)

    public func add(_ value: Value) {
        values.withLock { $0.append(value) }
        arrived.signal()
    }

    /// Waits until `count` values arrived in total. The generous bound only keeps a broken build
    /// from hanging CI; no test depends on how long it takes.
    @discardableResult
    public func wait(count: Int) -> [Value] {
        let deadline = DispatchTime.now() + .seconds(60)
        while values.withLock({ $0.count }) < count {
            if arrived.wait(timeout: deadline) == .timedOut { break }
        }
        return all
    }

    public var all: [Value] { values.withLock { $0 } }
}

