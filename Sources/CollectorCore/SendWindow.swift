// What to send to one shard, as a pure state machine and the one owner of unacknowledged
// batches: spooled batches queue in order, at most the window (`maxInFlight`, and never more than
// the shard announced) are unanswered at a time, a lost connection puts the unanswered ones back
// at the front (re-sent byte for byte, same ids), a GoAway drains the window before the
// connection is renewed, and a batch past `--spool-max-age` is dead-lettered instead of sent.
// A fresh batch keeps the frame it was spooled with, so its first send needs no read-back; a
// backlog (more than a window's worth queued) is read back from the spool when its turn comes.
import Model
import Wire

/// sessiond's answer to one batch (Wire `BatchAck`).
public enum ShardAnswer: Sendable, Equatable {
    /// Durable in sessiond.
    case committed
    /// Seen before under the same id; not applied again, but durable.
    case duplicate
    /// Refused for good (e.g. it does not decode); retrying cannot help.
    case rejected(reason: String)
}

/// Why a batch went to the dead-letter file.
public enum DeadLetterCause: Sendable, Equatable, CustomStringConvertible {
    /// sessiond answered `rejected` with this reason.
    case rejected(String)
    /// Older than `--spool-max-age` and never acknowledged.
    case expired(maxAgeMilliseconds: Int64)
    /// The spool could not read the frame back.
    case unreadable(String)

    /// Label value for metrics.
    public var kind: String {
        switch self {
        case .rejected: "rejected"
        case .expired: "expired"
        case .unreadable: "unreadable"
        }
    }

    public var description: String {
        switch self {
        case let .rejected(reason): "rejected by sessiond: \(reason)"
        case let .expired(maxAge): "expired: older than --spool-max-age (\(maxAge / 1000) s) and never acknowledged"
        case let .unreadable(error): "spool could not read the batch back: \(error)"
        }
    }
}

public struct SendWindow: Sendable {
    public enum Action: Sendable, Equatable {
        /// Send the batch's frame: `frame` when still in memory, else read back from the spool.
        case send(SpooledBatch, frame: [UInt8]?)
        /// sessiond has it: mark it acknowledged in the spool.
        case acknowledge(SpooledBatch, ShardAnswer)
        /// Move it to the dead-letter file.
        case deadLetter(SpooledBatch, DeadLetterCause)
        /// A GoAway's window drained: close the connection so that it reconnects.
        case reconnect
    }

    private struct Entry: Sendable {
        var batch: SpooledBatch
        var frame: [UInt8]?
    }

    public let maxInFlight: Int
    /// `--spool-max-age` in milliseconds: an older batch is never sent again.
    public let maxAgeMilliseconds: Int64
    private var queued: [Entry] = []
    private var head = 0
    private var inFlight: [Entry] = []
    /// Unanswered batches allowed on the current connection: `maxInFlight`, or less when the
    /// shard announced less in its handshake.
    public private(set) var window: Int
    public private(set) var isConnected = false
    /// After a GoAway: nothing new is sent until the connection is renewed.
    public private(set) var isDraining = false
    /// While stopped (shutdown without drain), nothing new is sent; answers still count.
    public private(set) var isSending = true

    public init(maxInFlight: Int = 32, maxAgeMilliseconds: Int64 = 3 * 24 * 3600 * 1000) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxAgeMilliseconds = maxAgeMilliseconds
        window = self.maxInFlight
    }

    public var queuedCount: Int { queued.count - head }
    public var inFlightCount: Int { inFlight.count }
    /// Creation time of the oldest batch not yet acknowledged, epoch ms.
    public var oldestCreatedAt: Int64? {
        let candidates = [inFlight.first?.batch.createdAt, head < queued.count ? queued[head].batch.createdAt : nil].compactMap { $0 }
        return candidates.min()
    }

    /// A durable batch to send after those already queued; `frame` is its spooled frame, kept
    /// for the first send while no more than a window's worth waits (a longer backlog is read
    /// back from the spool, so an outage does not hold the spool in memory).
    public mutating func enqueue(_ batch: SpooledBatch, frame: [UInt8]? = nil, now: Int64) -> [Action] {
        queued.append(Entry(batch: batch, frame: queuedCount < maxInFlight ? frame : nil))
        return pump(now: now)
    }

    /// The connection is up and handshaken; the shard allows `window` unanswered batches.
    public mutating func connected(now: Int64, window announced: Int? = nil) -> [Action] {
        isConnected = true
        isDraining = false
        window = min(maxInFlight, max(1, announced ?? maxInFlight))
        return pump(now: now)
    }

    /// The connection dropped: every unanswered batch goes back to the front, in order, to be
    /// re-sent on the next connection.
    public mutating func disconnected() {
        isConnected = false
        isDraining = false
        guard !inFlight.isEmpty else { return }
        // At `head`, not 0: entries before `head` were already taken.
        queued.insert(contentsOf: inFlight, at: head)
        inFlight.removeAll()
    }

    /// The shard said GoAway: send nothing new, and renew the connection once every batch in
    /// flight is answered (the connection also closes at the GoAway's deadline; what is still
    /// unanswered then is re-sent on the next connection).
    public mutating func goAway() -> [Action] {
        guard isConnected else { return [] }
        isDraining = true
        return reconnectIfDrained()
    }

    public mutating func stopSending() { isSending = false }

    /// sessiond answered the batch `id`. Answers for ids not in flight (a late answer from a
    /// previous connection) are ignored: the batch is either re-queued or already settled.
    public mutating func received(_ outcome: ShardAnswer, for id: BatchID, now: Int64) -> [Action] {
        guard let index = inFlight.firstIndex(where: { $0.batch.id == id }) else { return pump(now: now) }
        let batch = inFlight.remove(at: index).batch
        var actions: [Action]
        switch outcome {
        case .committed, .duplicate:
            actions = [.acknowledge(batch, outcome)]
        case let .rejected(reason):
            actions = [.deadLetter(batch, .rejected(reason))]
        }
        actions += isDraining ? reconnectIfDrained() : pump(now: now)
        return actions
    }

    private mutating func reconnectIfDrained() -> [Action] {
        guard inFlight.isEmpty else { return [] }
        // Until the new connection is up, the window sends nothing.
        isConnected = false
        isDraining = false
        return [.reconnect]
    }

    /// The batch `id` could not be read back from the spool to be sent: it is dead-lettered.
    public mutating func unreadable(_ id: BatchID, error: String, now: Int64) -> [Action] {
        guard let index = inFlight.firstIndex(where: { $0.batch.id == id }) else { return [] }
        let batch = inFlight.remove(at: index).batch
        return [.deadLetter(batch, .unreadable(error))] + (isDraining ? reconnectIfDrained() : pump(now: now))
    }

    /// Sends what the window allows; a batch past the maximum age is dead-lettered instead.
    public mutating func pump(now: Int64) -> [Action] {
        var actions = expire(now: now)
        guard isConnected, isSending, !isDraining else { return actions }
        while inFlight.count < window, head < queued.count {
            let entry = queued[head]
            head += 1
            if isExpired(entry.batch, now: now) {
                actions.append(.deadLetter(entry.batch, .expired(maxAgeMilliseconds: maxAgeMilliseconds)))
                continue
            }
            inFlight.append(entry)
            actions.append(.send(entry.batch, frame: entry.frame))
        }
        compact()
        return actions
    }

    /// Dead-letters expired batches at the front of the queue (also while disconnected, so the
    /// spool frees their space). Batches are queued roughly oldest first, so this stops at the
    /// first young one instead of scanning a long backlog on every tick; every batch is judged
    /// again right before it would be sent, in flight or not.
    public mutating func expire(now: Int64) -> [Action] {
        var actions: [Action] = []
        while head < queued.count, isExpired(queued[head].batch, now: now) {
            actions.append(.deadLetter(queued[head].batch, .expired(maxAgeMilliseconds: maxAgeMilliseconds)))
            head += 1
        }
        compact()
        return actions
    }

    private func isExpired(_ batch: SpooledBatch, now: Int64) -> Bool {
        now &- batch.createdAt > maxAgeMilliseconds
    }

    private mutating func compact() {
        if head > 0 && (head == queued.count || head * 2 >= queued.count) {
            queued.removeFirst(head)
            head = 0
        }
    }
}
