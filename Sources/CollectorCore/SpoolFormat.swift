// Byte layout of spool records. Little-endian throughout.
//
//   u32 magic "CPSR"   u32 bodyLength   u32 crc32c(bodyLength bytes ++ body)
//   body: u8 kind, u64 producer, u32 epoch, u64 sequence, then for kind 1 (batch):
//         i64 createdAt (epoch ms), u16 shard length, shard id (UTF-8), the frame bytes as sent.
//   kinds 2 (acknowledged) and 3 (dead-lettered) end after the sequence.
//
// A crash can leave a record half written at the tail of a segment; the magic, the bounded
// length and the checksum detect it and replay cuts the file there.
import Model
import Wire

enum SpoolRecordKind: UInt8 {
    case batch = 1
    case acknowledged = 2
    case deadLettered = 3
}

struct SpoolRecord: Equatable {
    var kind: SpoolRecordKind
    var id: BatchID
    var createdAt: Int64 = 0
    var shard: String = ""
    /// Where the frame bytes start inside the record body, and how many there are.
    var payloadOffsetInBody: Int = 0
    var payloadLength: Int = 0
}

enum SpoolFormat {
    static let magic: UInt32 = 0x5253_5043  // "CPSR" in file byte order
    static let headerSize = 12
    static let idSize = 1 + 8 + 4 + 8
    static let batchFixedSize = idSize + 8 + 2

    static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func get<T: FixedWidthInteger>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer, at offset: Int) -> T? {
        guard offset >= 0, offset <= bytes.count - MemoryLayout<T>.size else { return nil }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + MemoryLayout<T>.size]))
        }
        return T(littleEndian: value)
    }

    /// Appends one complete record (header + body) to `out`.
    static func encode(kind: SpoolRecordKind, id: BatchID, createdAt: Int64 = 0, shard: String = "",
                       payload: [UInt8] = [], into out: inout [UInt8]) {
        var body: [UInt8] = []
        body.reserveCapacity(batchFixedSize + shard.utf8.count + payload.count)
        body.append(kind.rawValue)
        put(id.producer, into: &body)
        put(id.epoch, into: &body)
        put(id.sequence, into: &body)
        if kind == .batch {
            put(createdAt, into: &body)
            put(UInt16(truncatingIfNeeded: shard.utf8.count), into: &body)
            body.append(contentsOf: shard.utf8)
            body.append(contentsOf: payload)
        }
        let length = UInt32(truncatingIfNeeded: body.count)
        var lengthBytes: [UInt8] = []
        put(length, into: &lengthBytes)
        var crc = lengthBytes.withUnsafeBytes { CRC32C.checksum($0) }
        crc = body.withUnsafeBytes { CRC32C.checksum($0, continuing: crc) }
        put(magic, into: &out)
        put(length, into: &out)
        put(crc, into: &out)
        out.append(contentsOf: body)
    }

    static func recordSize(shard: String, payloadCount: Int) -> Int {
        headerSize + batchFixedSize + shard.utf8.count + payloadCount
    }

    static let ackRecordSize = headerSize + idSize

    enum Decoded {
        case record(SpoolRecord, size: Int)
        /// Not a complete, valid record: a torn tail or damage.
        case invalid(String)
        case end
    }

    /// Decodes the record at `offset`.
    static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int, maxBodyBytes: Int) -> Decoded {
        if offset == bytes.count { return .end }
        guard let m = get(UInt32.self, bytes, at: offset),
              let length32 = get(UInt32.self, bytes, at: offset + 4),
              let crc = get(UInt32.self, bytes, at: offset + 8) else {
            return .invalid("record header cut short")
        }
        guard m == magic else { return .invalid("bad record magic") }
        guard let length = Int(exactly: length32), length >= idSize, length <= maxBodyBytes else {
            return .invalid("record length \(length32) out of bounds")
        }
        let bodyStart = offset + headerSize
        guard length <= bytes.count - bodyStart else { return .invalid("record body cut short") }
        let body = UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<bodyStart + length])
        var computed = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[offset + 4..<offset + 8]))
        computed = CRC32C.checksum(body, continuing: computed)
        guard computed == crc else { return .invalid("record checksum mismatch") }
        guard let kind = SpoolRecordKind(rawValue: body[0]),
              let producer = get(UInt64.self, body, at: 1),
              let epoch = get(UInt32.self, body, at: 9),
              let sequence = get(UInt64.self, body, at: 13) else {
            return .invalid("unknown record kind")
        }
        var record = SpoolRecord(kind: kind, id: BatchID(producer: producer, epoch: epoch, sequence: sequence))
        if kind == .batch {
            guard let createdAt = get(Int64.self, body, at: idSize),
                  let shardLength16 = get(UInt16.self, body, at: idSize + 8) else {
                return .invalid("batch record too short")
            }
            let shardLength = Int(shardLength16)
            let shardStart = batchFixedSize
            guard shardLength <= length - shardStart else { return .invalid("shard id overruns record") }
            record.createdAt = createdAt
            record.shard = String(decoding: body[shardStart..<shardStart + shardLength], as: UTF8.self)
            record.payloadOffsetInBody = shardStart + shardLength
            record.payloadLength = length - record.payloadOffsetInBody
        } else if length != idSize {
            return .invalid("ack record of wrong length")
        }
        return .record(record, size: headerSize + length)
    }
}

enum JSONText {
    /// A JSON string literal.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
