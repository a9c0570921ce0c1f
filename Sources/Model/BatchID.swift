// The id of a batch between collector and sessiond (BRIEF "Wire").

/// Makes a retried batch idempotent (Kafka idempotent producer): producer id, epoch, sequence per shard.
public struct BatchID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Stable per collector data folder.
    public var producer: UInt64
    /// Grows on every start of the producer.
    public var epoch: UInt32
    /// Grows per batch, per destination shard.
    public var sequence: UInt64

    public init(producer: UInt64, epoch: UInt32, sequence: UInt64) {
        self.producer = producer
        self.epoch = epoch
        self.sequence = sequence
    }

    public static func < (lhs: BatchID, rhs: BatchID) -> Bool {
        (lhs.producer, lhs.epoch, lhs.sequence) < (rhs.producer, rhs.epoch, rhs.sequence)
    }

    public var description: String { "\(producer)/\(epoch)/\(sequence)" }
}
