// Frame layout (all integers big-endian):
//
//   +---------+------+---------+-------+---------------+---------+
//   | length  | kind | version | flags | payload ...   | crc32c  |
//   | u32     | u8   | u16     | u8    | length-8 bytes| u32     |
//   +---------+------+---------+-------+---------------+---------+
//             \______________ length bytes ______________________/
//
// `length` counts every byte after itself; the CRC32C covers kind through payload.

/// The message kinds of the protocol. The raw value is the frame's kind byte.
public enum MessageKind: UInt8, Sendable, Hashable, CaseIterable {
    case hello = 1
    case helloAck = 2
    case error = 3
    case ping = 4
    case pong = 5
    case goAway = 6
    case eventBatch = 16
    case batchAck = 17

    /// The message name used in errors, docs and `Schemas/wire/*.json`.
    public var name: String {
        switch self {
        case .hello: "Hello"
        case .helloAck: "HelloAck"
        case .error: "Error"
        case .ping: "Ping"
        case .pong: "Pong"
        case .goAway: "GoAway"
        case .eventBatch: "EventBatch"
        case .batchAck: "BatchAck"
        }
    }
}

/// Sizes and limits of the frame layout.
public enum FrameHeader {
    /// The u32 length prefix.
    public static let lengthPrefixSize = 4
    /// kind (1) + version (2) + flags (1) + CRC32C (4): the smallest legal length value.
    public static let fixedOverhead = 8
    /// Default bound on the length value: 16 MiB.
    public static let defaultMaxFrameLength = 16 << 20
    /// The smallest frame limit a peer may announce in HelloAck: below it ordinary batches
    /// could not be sent, so a client refuses such an ack instead of failing every frame.
    public static let minimumNegotiatedFrameLength = 64 << 10
    /// No flag bit is defined in protocol version 1.
    public static let knownFlags: UInt8 = 0
}

/// One checked frame: its checksum matched, its kind is known and its flags are understood.
/// The schema version is not checked here: `Message(decoding:)` does that per kind.
public struct Frame: Sendable, Hashable {
    public var kind: MessageKind
    public var version: UInt16
    public var flags: UInt8
    public var payload: [UInt8]

    public init(kind: MessageKind, version: UInt16, flags: UInt8 = 0, payload: [UInt8]) {
        self.kind = kind
        self.version = version
        self.flags = flags
        self.payload = payload
    }

    /// The frame as bytes on the wire, checksum included.
    public func encoded(maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) throws(WireError) -> [UInt8] {
        var writer = FrameWriter(kind: kind, version: version, flags: flags, payloadCapacity: payload.count)
        writer.payload.append(payload)
        return try writer.finish(maxFrameLength: maxFrameLength)
    }

    /// Decodes exactly one frame that fills `bytes` completely.
    public init(bytes: [UInt8], maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) throws(WireError) {
        self = try withBytes(bytes) { (raw) throws(WireError) -> Frame in
            let header = try FrameDecoder.checkComplete(raw, maxFrameLength: maxFrameLength)
            try FrameDecoder.checkNothingAfter(header, in: raw)
            return Frame(kind: header.kind, version: header.version, flags: header.flags,
                         payload: Array(raw[header.payload]))
        }
    }
}

/// Builds one frame in place: reserves the header, lets the caller write the payload, then
/// fills in the length and appends the checksum, so a frame costs one buffer and no copies.
public struct FrameWriter: Sendable {
    public var payload: ByteWriter

    public init(kind: MessageKind, version: UInt16, flags: UInt8 = 0, payloadCapacity: Int = 256) {
        payload = ByteWriter(capacity: payloadCapacity &+ 12)
        payload.uint32(0)
        payload.uint8(kind.rawValue)
        payload.uint16(version)
        payload.uint8(flags)
    }

    public consuming func finish(maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) throws(WireError) -> [UInt8] {
        var bytes = payload.bytes
        let length = bytes.count &- FrameHeader.lengthPrefixSize &+ 4
        guard length <= maxFrameLength, let length32 = UInt32(exactly: length) else {
            throw .frameTooLong(length: length, limit: maxFrameLength)
        }
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) }
        bytes[0] = UInt8(truncatingIfNeeded: length32 >> 24)
        bytes[1] = UInt8(truncatingIfNeeded: length32 >> 16)
        bytes[2] = UInt8(truncatingIfNeeded: length32 >> 8)
        bytes[3] = UInt8(truncatingIfNeeded: length32)
        bytes.append(UInt8(truncatingIfNeeded: crc >> 24))
        bytes.append(UInt8(truncatingIfNeeded: crc >> 16))
        bytes.append(UInt8(truncatingIfNeeded: crc >> 8))
        bytes.append(UInt8(truncatingIfNeeded: crc))
        return bytes
    }
}

/// Cuts a byte stream into frames. Feed it bytes in any chunking with `append`, then call
/// `next()` (or `nextMessage()`) until it returns nil. Two states as in NIO's
/// `LengthFieldBasedFrameDecoder`: waiting for the length prefix, then for the body. The
/// length is checked against `maxFrameLength` as soon as its four bytes arrive, before any
/// buffer grows for the body. After an error the stream cannot be resynchronised: every later
/// call throws the same error, and the connection should be closed.
public struct FrameDecoder: Sendable {
    public private(set) var maxFrameLength: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var state = State.waitingForLength

    private enum State: Sendable {
        case waitingForLength
        case waitingForBody(length: Int)
        case failed(WireError)
    }

    /// Buffer capacity kept between frames; a larger buffer is freed once empty.
    static let keptCapacity = 256 * 1024

    /// `maxFrameLength` bounds the length prefix's value (the bytes after the prefix).
    public init(maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) {
        self.maxFrameLength = max(FrameHeader.fixedOverhead, maxFrameLength)
    }

    /// Changes the bound for every frame whose length prefix has not been checked yet; bytes
    /// already buffered are kept (for a limit agreed in the handshake).
    public mutating func setMaxFrameLength(_ limit: Int) {
        maxFrameLength = max(FrameHeader.fixedOverhead, limit)
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count &- readIndex }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compact() {
        if readIndex == buffer.count {
            // A large frame's room is given back once it is consumed, so a connection that
            // once received 16 MiB does not hold them while it idles.
            buffer.removeAll(keepingCapacity: buffer.capacity <= Self.keptCapacity)
            readIndex = 0
        } else if readIndex >= 4096 && readIndex &* 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    /// The next complete frame, or nil when more bytes are needed.
    public mutating func next() throws(WireError) -> Frame? {
        guard let header = try nextFrameRange() else { return nil }
        return Frame(kind: header.kind, version: header.version, flags: header.flags,
                     payload: Array(buffer[header.payload]))
    }

    /// The next complete frame decoded into a message, without copying its payload.
    public mutating func nextMessage() throws(WireError) -> Message? {
        guard let header = try nextFrameRange() else { return nil }
        do {
            return try withBytes(buffer) { (raw) throws(WireError) -> Message in
                try Message(kind: header.kind, version: header.version,
                            payload: UnsafeRawBufferPointer(rebasing: raw[header.payload]))
            }
        } catch {
            state = .failed(error)
            throw error
        }
    }

    /// Call at end of stream: throws `truncated` if part of a frame is still buffered.
    public func finish() throws(WireError) {
        switch state {
        case let .failed(error):
            throw error
        case .waitingForBody:
            throw .truncated(buffered: bufferedByteCount &+ FrameHeader.lengthPrefixSize)
        case .waitingForLength:
            if bufferedByteCount > 0 { throw .truncated(buffered: bufferedByteCount) }
        }
    }

    struct Header {
        var kind: MessageKind
        var version: UInt16
        var flags: UInt8
        var payload: Range<Int>
    }

    private mutating func nextFrameRange() throws(WireError) -> Header? {
        while true {
            switch state {
            case let .failed(error):
                throw error
            case .waitingForLength:
                guard bufferedByteCount >= FrameHeader.lengthPrefixSize else { return nil }
                let raw = UInt32(buffer[readIndex]) << 24 | UInt32(buffer[readIndex &+ 1]) << 16
                    | UInt32(buffer[readIndex &+ 2]) << 8 | UInt32(buffer[readIndex &+ 3])
                guard let length = Int(exactly: raw) else {
                    return try fail(.frameTooLong(length: Int.max, limit: maxFrameLength))
                }
                if length > maxFrameLength { return try fail(.frameTooLong(length: length, limit: maxFrameLength)) }
                if length < FrameHeader.fixedOverhead { return try fail(.frameTooShort(length: length)) }
                readIndex &+= FrameHeader.lengthPrefixSize
                // Nothing is reserved for the body: a peer that announces 16 MiB and sends
                // nothing costs nothing; the buffer grows only with bytes that arrive.
                state = .waitingForBody(length: length)
            case let .waitingForBody(length):
                guard bufferedByteCount >= length else { return nil }
                let start = readIndex
                let end = start &+ length
                readIndex = end
                state = .waitingForLength
                return try check(start: start, end: end)
            }
        }
    }

    private mutating func check(start: Int, end: Int) throws(WireError) -> Header {
        do {
            return try withBytes(buffer) { (raw) throws(WireError) -> Header in
                try Self.verify(raw, start: start, end: end)
            }
        } catch {
            return try fail(error)
        }
    }

    /// Checksum, kind and flags of the frame body `start..<end` (after the length prefix).
    static func verify(_ raw: UnsafeRawBufferPointer, start: Int, end: Int) throws(WireError) -> Header {
        let crcStart = end &- 4
        let expected = UInt32(raw[crcStart]) << 24 | UInt32(raw[crcStart &+ 1]) << 16
            | UInt32(raw[crcStart &+ 2]) << 8 | UInt32(raw[crcStart &+ 3])
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<crcStart]))
        guard expected == actual else { throw .badChecksum(expected: expected, actual: actual) }
        guard let kind = MessageKind(rawValue: raw[start]) else { throw .unknownKind(raw[start]) }
        let version = UInt16(raw[start &+ 1]) << 8 | UInt16(raw[start &+ 2])
        let flags = raw[start &+ 3]
        guard flags & ~FrameHeader.knownFlags == 0 else { throw .unsupportedFlags(flags) }
        return Header(kind: kind, version: version, flags: flags, payload: (start &+ 4)..<crcStart)
    }

    /// Checks the frame at the start of a buffer meant to hold exactly one, in place, with the
    /// errors the incremental path gives for the same bytes. The caller decodes the payload,
    /// then calls `checkNothingAfter`, so errors come in the incremental path's order too.
    static func checkComplete(_ raw: UnsafeRawBufferPointer, maxFrameLength: Int) throws(WireError) -> Header {
        let limit = max(FrameHeader.fixedOverhead, maxFrameLength)
        guard raw.count >= FrameHeader.lengthPrefixSize else { throw .truncated(buffered: raw.count) }
        let prefix = UInt32(raw[0]) << 24 | UInt32(raw[1]) << 16 | UInt32(raw[2]) << 8 | UInt32(raw[3])
        guard let length = Int(exactly: prefix), length <= limit else {
            throw .frameTooLong(length: Int(exactly: prefix) ?? Int.max, limit: limit)
        }
        guard length >= FrameHeader.fixedOverhead else { throw .frameTooShort(length: length) }
        let end = FrameHeader.lengthPrefixSize &+ length
        guard raw.count >= end else { throw .truncated(buffered: raw.count) }
        return try verify(raw, start: FrameHeader.lengthPrefixSize, end: end)
    }

    /// Bytes after the frame are the start of another one that never completes.
    static func checkNothingAfter(_ header: Header, in raw: UnsafeRawBufferPointer) throws(WireError) {
        let end = header.payload.upperBound &+ 4
        guard raw.count == end else { throw .truncated(buffered: raw.count &- end) }
    }

    private mutating func fail<T>(_ error: WireError) throws(WireError) -> T {
        state = .failed(error)
        throw error
    }
}
