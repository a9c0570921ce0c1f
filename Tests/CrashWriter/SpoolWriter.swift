// `crash-writer spool-writer --dir D [--count N]`: a helper for the spool crash test. It
// appends batches with deterministic payloads as fast as group commit allows, prints
// `durable <sequence>` once each is fsynced and `acked <sequence>` for every third one it then
// acknowledges. The test SIGKILLs it and checks that every durable, unacknowledged batch
// replays exactly once with its exact bytes.
#if canImport(Glibc)
import Glibc
#endif
import Model
import CollectorCore
import Dispatch

enum SpoolWriterCommand {
    /// The payload of batch `sequence`: its length and bytes follow from the number alone.
    static func payload(_ sequence: UInt64) -> [UInt8] {
        let count = 50 + Int(sequence % 37) * 53
        return (0..<count).map { UInt8(truncatingIfNeeded: sequence &* 131 &+ UInt64($0) &* 7) }
    }

    static func say(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count, let base = raw.baseAddress {
                let n = write(1, base + offset, raw.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    static func run(_ arguments: [String]) -> Int32 {
        var directory: String?
        var count = UInt64.max
        var index = 0
        while index < arguments.count {
            switch arguments[index] {
            case "--dir" where index + 1 < arguments.count:
                directory = arguments[index + 1]
                index += 2
            case "--count" where index + 1 < arguments.count:
                guard let n = UInt64(arguments[index + 1]) else { return fail("--count needs a number") }
                count = n
                index += 2
            default:
                return fail("usage: crash-writer spool-writer --dir DIR [--count N]")
            }
        }
        guard let directory else { return fail("usage: crash-writer spool-writer --dir DIR [--count N]") }
        do throws(SpoolError) {
            let identity = try ProducerIdentity.load(directory: directory)
            let spool = try Spool(directory: directory + "/spool",
                                  options: SpoolOptions(maxBytes: 1 << 30, segmentBytes: 64 << 10))
            var sequence = spool.replay.highestSequence["s1"] ?? 0
            let window = DispatchSemaphore(value: 32)
            var written: UInt64 = 0
            while written < count {
                window.wait()
                sequence += 1
                written += 1
                let id = BatchID(producer: identity.producer, epoch: identity.epoch, sequence: sequence)
                let refusal = spool.append(id: id, shard: "s1", createdAt: 0, payload: payload(sequence)) { result in
                    defer { window.signal() }
                    guard case let .success(batch) = result else { return }
                    say("durable \(batch.id.sequence)")
                    if batch.id.sequence % 3 == 0 {
                        spool.acknowledge(batch)
                        say("acked \(batch.id.sequence)")
                    }
                }
                if let refusal { return fail("append refused: \(refusal)") }
            }
            spool.close()
            return 0
        } catch {
            return fail("spool-writer: \(error)")
        }
    }

    static func fail(_ message: String) -> Int32 {
        let text = message + "\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        return 2
    }
}
