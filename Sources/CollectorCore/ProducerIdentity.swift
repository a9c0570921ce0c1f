// The first two parts of a batch id (BRIEF "Wire"): a producer id stable per collector data
// folder and an epoch that grows on every start. The third part, the sequence per shard, lives
// in the spool (see `Spool.highestSequence`).
import System

/// Producer id and epoch of this collector process.
public struct ProducerIdentity: Sendable, Equatable {
    public var producer: UInt64
    public var epoch: UInt32

    public init(producer: UInt64, epoch: UInt32) {
        self.producer = producer
        self.epoch = epoch
    }

    static let producerFile = "producer-id"
    static let epochFile = "epoch"

    /// Reads (or creates once) the producer id in `directory`, then increments the epoch and
    /// makes the new epoch durable before returning it, so two starts never share an epoch even
    /// when the process dies right after this call.
    ///
    /// - Parameter random: source of the producer id on first start (injected for tests).
    public static func load(directory: String,
                            random: () -> UInt64 = { UInt64.random(in: 1...UInt64.max) })
        throws(SpoolError) -> ProducerIdentity {
        try fileIO(FileIO.makeDirectory(directory))
        let producerPath = directory + "/" + producerFile
        let producer: UInt64
        if let bytes = try fileIO(FileIO.readFile(producerPath)) {
            guard let value = parseHex(bytes) else {
                throw .corrupt(path: producerPath,
                               reason: "expected 16 hex digits; delete the file only if this folder's spool is empty")
            }
            producer = value
        } else {
            producer = random()
            try fileIO(FileIO.replaceDurably(producerPath, directory: directory, contents: Array(hex(producer).utf8) + [10]))
        }

        let epochPath = directory + "/" + epochFile
        var epoch: UInt32 = 1
        if let bytes = try fileIO(FileIO.readFile(epochPath)) {
            guard let previous = parseDecimal(bytes), previous < UInt64(UInt32.max) else {
                throw .corrupt(path: epochPath, reason: "expected a decimal epoch below \(UInt32.max)")
            }
            epoch = UInt32(previous) + 1
        }
        try fileIO(FileIO.replaceDurably(epochPath, directory: directory, contents: Array(String(epoch).utf8) + [10]))
        return ProducerIdentity(producer: producer, epoch: epoch)
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func parseHex(_ bytes: [UInt8]) -> UInt64? {
        let text = bytes.prefix { $0 != 10 }
        guard text.count == 16, bytes.count <= 17 else { return nil }
        return UInt64(String(decoding: text, as: UTF8.self), radix: 16)
    }

    static func parseDecimal(_ bytes: [UInt8]) -> UInt64? {
        let text = bytes.prefix { $0 != 10 }
        guard !text.isEmpty, text.count <= 20 else { return nil }
        return UInt64(String(decoding: text, as: UTF8.self))
    }
}
