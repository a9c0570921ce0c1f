// The I/O shell around `SendWindow` for one shard: hands frames (in memory, or read back from the
// spool) to the shard's Wire connection and settles answers in the spool. The window owns what
// is unanswered and re-sends it; reconnecting is the connection's job (Transport's
// `WireClient`), which reports `connected(window:)`, `disconnected()`, `goAway()` and each
// `BatchAck`.
import Model
import Synchronization
import Wire
import System

/// The Wire client connection to one shard (Transport's client satisfies it).
public protocol BatchSender: AnyObject, Sendable {
    /// Sends one encoded frame if the connection is up. Must not block; may run on any thread.
    /// If the connection is down the frame is dropped: the batch is re-sent after the next
    /// `ShardSender.connected(window:)`.
    func send(frame: [UInt8], id: BatchID)
    /// Closes the connection so that it reconnects (a GoAway's window drained).
    func reconnect()
}

public final class ShardSender: Sendable {
    public let shard: String

    private struct State {
        var window: SendWindow
        var connection: (any BatchSender)?
        var actions: [SendWindow.Action] = []
        var draining = false
        var reachable = false
    }

    private let state: Mutex<State>
    private let spool: Spool
    private let wallClock: @Sendable () -> Int64
    private let log: Log
    private let onSettled: @Sendable (SpooledBatch, BatchEvent) -> Void
    private let sent: Counter
    private let acknowledged: Counter
    private let duplicates: Counter
    private let metrics: MetricsRegistry
    private let connectedGauge: Gauge
    private let latency: Histogram

    init(shard: String, spool: Spool, window: SendWindow, wallClock: @escaping @Sendable () -> Int64,
         metrics: MetricsRegistry, log: Log, onSettled: @escaping @Sendable (SpooledBatch, BatchEvent) -> Void) {
        self.shard = shard
        self.spool = spool
        self.wallClock = wallClock
        self.log = log
        self.onSettled = onSettled
        self.metrics = metrics
        state = Mutex(State(window: window))
        let labels = [("shard", shard)]
        sent = metrics.counter("clickpath_batches_sent_total", help: "Batch frames sent to sessiond (re-sends included).", labels: labels)
        acknowledged = metrics.counter("clickpath_batches_acknowledged_total", help: "Batches sessiond acknowledged as committed.", labels: labels)
        duplicates = metrics.counter("clickpath_batches_duplicate_total", help: "Batches sessiond acknowledged as duplicates of an earlier send.", labels: labels)
        connectedGauge = metrics.gauge("clickpath_shard_connected", help: "1 while the Wire connection to the shard is up.", labels: labels)
        latency = metrics.histogram("clickpath_batch_ack_seconds", help: "From batch creation to sessiond's acknowledgement.",
                                    bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60], labels: labels)
    }

    /// The connection used from now on.
    public func attach(_ connection: any BatchSender) {
        state.withLock { $0.connection = connection }
    }

    /// The connection is up and handshaken, and the shard allows `window` unanswered batches
    /// (nil: our own limit): send, unanswered batches first.
    public func connected(window: Int? = nil) {
        reachable(true)
        perform { $0.connected(now: wallClock(), window: window) }
    }

    /// The connection dropped: unanswered batches are re-sent on `connected(window:)`.
    public func disconnected() {
        reachable(false)
        perform { $0.disconnected(); return [] }
    }

    /// The shard is going away: send nothing new, reconnect once what is in flight is answered.
    public func goAway() {
        perform { $0.goAway() }
    }

    /// Whether the shard is reachable (for `/readyz` and `clickpath_shard_connected`), without
    /// changing what is sent.
    public func reachable(_ up: Bool) {
        connectedGauge.set(up ? 1 : 0)
        state.withLock { $0.reachable = up }
    }

    /// sessiond's `BatchAck` for `id`.
    public func received(_ outcome: ShardAnswer, for id: BatchID) {
        perform { $0.received(outcome, for: id, now: wallClock()) }
    }

    /// A spooled batch to send; `frame` is what was spooled, so the first send reads nothing back.
    func enqueue(_ batch: SpooledBatch, frame: [UInt8]? = nil) {
        perform { $0.enqueue(batch, frame: frame, now: wallClock()) }
    }

    /// Dead-letters batches past the maximum age, also while the shard is unreachable.
    func expire() {
        perform { $0.expire(now: wallClock()) }
    }

    func stopSending() {
        perform { $0.stopSending(); return [] }
    }

    public var isConnected: Bool { state.withLock { $0.reachable } }
    /// False once shutdown (without drain) stopped new sends.
    public var isSending: Bool { state.withLock { $0.window.isSending } }
    public var inFlightCount: Int { state.withLock { $0.window.inFlightCount } }
    public var queuedCount: Int { state.withLock { $0.window.queuedCount } }
    public var oldestCreatedAt: Int64? { state.withLock { $0.window.oldestCreatedAt } }

    /// Applies `change` and performs the resulting actions in order. One thread performs at a
    /// time; others (and re-entrant calls from the connection) queue their actions for it, so
    /// frames leave in window order and no lock is held while calling out.
    private func perform(_ change: (inout SendWindow) -> [SendWindow.Action]) {
        let leader = state.withLock { s in
            s.actions += change(&s.window)
            if s.draining { return false }
            s.draining = true
            return true
        }
        guard leader else { return }
        while true {
            let (actions, connection) = state.withLock { s in
                let taken = s.actions
                s.actions.removeAll()
                if taken.isEmpty { s.draining = false }
                return (taken, s.connection)
            }
            if actions.isEmpty { return }
            for action in actions { execute(action, connection: connection) }
        }
    }

    private func execute(_ action: SendWindow.Action, connection: (any BatchSender)?) {
        switch action {
        case let .send(batch, inMemory):
            do throws(SpoolError) {
                let frame: [UInt8]
                if let inMemory { frame = inMemory } else { frame = try spool.read(batch) }
                sent.increment()
                connection?.send(frame: frame, id: batch.id)
            } catch {
                let more = state.withLock { $0.window.unreadable(batch.id, error: error.description, now: wallClock()) }
                state.withLock { $0.actions += more }
            }
        case let .acknowledge(batch, outcome):
            if outcome == .duplicate { duplicates.increment() } else { acknowledged.increment() }
            latency.observe(Double(max(0, wallClock() &- batch.createdAt)) / 1000)
            spool.acknowledge(batch)
            onSettled(batch, .shardAnswered(outcome))
        case let .deadLetter(batch, cause):
            metrics.counter("clickpath_batches_dead_lettered_total", help: "Batches moved to the dead-letter file, by cause.",
                            labels: [("shard", shard), ("cause", cause.kind)]).increment()
            log.write("collector: \(batch) moved to the dead-letter file \(spool.deadLetterPath): \(cause)")
            let log = self.log
            spool.deadLetter(batch, reason: cause.description, at: wallClock()) { result in
                if case let .failure(error) = result {
                    log.write("collector: could not dead-letter \(batch), it stays in the spool: \(error)")
                }
            }
            if case let .rejected(reason) = cause {
                onSettled(batch, .shardAnswered(.rejected(reason: reason)))
            } else {
                onSettled(batch, .deadLettered(reason: cause.description))
            }
        case .reconnect:
            connection?.reconnect()
        }
    }
}
