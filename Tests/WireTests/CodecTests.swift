import Model
import System
import Testing
@testable import Wire

// MARK: CRC32C

/// RFC 3720 (iSCSI) appendix B.4 vectors and the classic check value.
@Test(arguments: [
    (Array("123456789".utf8), UInt32(0xE306_9283)),
    ([], 0),
    ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
    ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
    ((0...31).map { UInt8($0) }, 0x46DD_794E),
    ((0...31).reversed().map { UInt8($0) }, 0x113F_DB5C),
] as [([UInt8], UInt32)])
func crc32cKnownVectors(_ input: [UInt8], _ expected: UInt32) {
    #expect(CRC32C.checksum(input) == expected)
}

@Test func crc32cContinuesAcrossSplits() {
    let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let whole = CRC32C.checksum(data)
    for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
        let first = CRC32C.checksum(data[0..<split])
        #expect(CRC32C.checksum(data[split...], continuing: first) == whole)
    }
}

// MARK: Varints and cursor

@Test(arguments: [UInt64(0), 1, 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), UInt64.max])
func uvarintRoundTrips(_ value: UInt64) throws {
    var writer = ByteWriter()
    writer.uvarint(value)
    let decoded = try withBytes(writer.bytes) { (raw) throws(WireError) -> UInt64 in
        var reader = ByteReader(raw)
        let value = try reader.uvarint("v")
        #expect(reader.isAtEnd)
        return value
    }
    #expect(decoded == value)
}

@Test(arguments: [Int64(0), -1, 1, -64, 64, Int64.min, Int64.max])
func zigzagRoundTrips(_ value: Int64) {
    #expect(unzigzag(zigzag(value)) == value)
}

@Test func zigzagMapsSmallMagnitudesToSmallCodes() {
    #expect([0, -1, 1, -2, 2].map { zigzag($0) } == [0, 1, 2, 3, 4])
}

@Test(arguments: [
    ([0x80], "runs past the end"),
    ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], "overflows 64 bits"),
    ([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], "overflows 64 bits"),
] as [([UInt8], String)])
func malformedVarintsAreErrors(_ bytes: [UInt8], _ reason: String) {
    do {
        _ = try withBytes(bytes) { (raw) throws(WireError) -> UInt64 in
            var reader = ByteReader(raw)
            return try reader.uvarint("field")
        }
        Issue.record("decoded a malformed varint")
    } catch {
        #expect(error.description.contains(reason))
    }
}

// MARK: Frames

@Test func frameLayoutIsLengthKindVersionFlagsPayloadChecksum() throws {
    let bytes = try Ping(nonce: 5).encodeFrame()
    // length 10 = kind, version(2), flags, payload (nonce 05, no tags 00), crc(4)
    #expect(Array(bytes[0..<8]) == [0, 0, 0, 10, MessageKind.ping.rawValue, 0, 1, 0])
    #expect(Array(bytes[8..<10]) == [5, 0])
    let crc = CRC32C.checksum(bytes[4..<10])
    #expect(Array(bytes[10...]) == [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
}

@Test(arguments: [1, 2, 3, 7, 64, 100_000])
func decoderAcceptsAnyChunking(_ chunk: Int) throws {
    var stream: [UInt8] = []
    for (_, version, message) in goldenCases {
        stream += try message.encodeFrame(protocolVersion: version)
    }
    let result = decodeAll(stream, chunk: chunk)
    #expect(result.error == nil)
    #expect(result.messages == goldenCases.map(\.message))
}

@Test func lengthIsCheckedBeforeTheBodyArrives() {
    var decoder = FrameDecoder(maxFrameLength: 1024)
    decoder.append([0x00, 0x00, 0x04, 0x01])  // 1025
    #expect(throws: WireError.frameTooLong(length: 1025, limit: 1024)) { try decoder.next() }
    #expect(decoder.bufferedByteCount == 4)
    // The decoder stays failed: the stream cannot be resynchronised.
    decoder.append([UInt8](repeating: 0, count: 16))
    #expect(throws: WireError.frameTooLong(length: 1025, limit: 1024)) { try decoder.next() }
}

@Test func limitCanChangeWithBytesBuffered() throws {
    let small = try Ping(nonce: 1).encodeFrame()
    let large = try GoAway(reason: String(repeating: "x", count: 200), drainDeadlineMs: 1).encodeFrame()
    var decoder = FrameDecoder(maxFrameLength: 1 << 20)
    decoder.append(small + large)
    #expect(try decoder.nextMessage() == .ping(Ping(nonce: 1)))
    decoder.setMaxFrameLength(100)
    #expect(throws: WireError.frameTooLong(length: large.count - 4, limit: 100)) { try decoder.next() }
}

@Test(arguments: [
    ([0xFF, 0xFF, 0xFF, 0xFF], WireError.frameTooLong(length: 0xFFFF_FFFF, limit: 16 << 20)),
    ([0x80, 0x00, 0x00, 0x00], WireError.frameTooLong(length: 0x8000_0000, limit: 16 << 20)),
    ([0x01, 0x00, 0x00, 0x01], WireError.frameTooLong(length: (16 << 20) + 1, limit: 16 << 20)),
    ([0x00, 0x00, 0x00, 0x00], WireError.frameTooShort(length: 0)),
    ([0x00, 0x00, 0x00, 0x07], WireError.frameTooShort(length: 7)),
] as [([UInt8], WireError)])
func hostileLengthsAreRefused(_ prefix: [UInt8], _ expected: WireError) {
    var decoder = FrameDecoder()
    decoder.append(prefix)
    #expect(throws: expected) { try decoder.next() }
}

@Test func exactlyTheLimitIsAccepted() throws {
    let message = GoAway(reason: String(repeating: "x", count: 100), drainDeadlineMs: 1)
    let bytes = try message.encodeFrame()
    let length = bytes.count - 4
    #expect(decodeAll(bytes, chunk: 3, maxFrameLength: length).messages == [.goAway(message)])
    #expect(decodeAll(bytes, chunk: 3, maxFrameLength: length - 1).error == .frameTooLong(length: length, limit: length - 1))
    #expect(throws: WireError.frameTooLong(length: length, limit: length - 1)) {
        try message.encodeFrame(maxFrameLength: length - 1)
    }
}

@Test func everyFlippedBitIsCaught() throws {
    let bytes = try Message.eventBatch(richBatch).encodeFrame()
    for index in 4..<bytes.count {
        for bit in 0..<8 {
            var corrupted = bytes
            corrupted[index] ^= 1 << bit
            guard case .badChecksum? = decodeAll(corrupted, chunk: 1000).error else {
                Issue.record("flip of bit \(bit) at \(index) not caught")
                return
            }
        }
    }
}

@Test func truncatedStreamIsReportedAtFinish() throws {
    let bytes = try Ping(nonce: 1).encodeFrame()
    for cut in 1..<bytes.count {
        #expect(decodeAll(Array(bytes[0..<cut]), chunk: 1).error == .truncated(buffered: cut))
    }
}

@Test func unknownKindFlagsAndVersionAreRefused() throws {
    func frame(kind: UInt8, version: UInt16, flags: UInt8) -> [UInt8] {
        var writer = FrameWriter(kind: .ping, version: version, flags: flags)
        writer.payload.uvarint(1)
        writer.payload.noTaggedFields()
        var bytes = try! writer.finish()
        bytes[4] = kind
        let crc = CRC32C.checksum(bytes[4..<(bytes.count - 4)])
        bytes.replaceSubrange((bytes.count - 4)..., with: [UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
        return bytes
    }
    #expect(decodeAll(frame(kind: 99, version: 1, flags: 0), chunk: 5).error == .unknownKind(99))
    #expect(decodeAll(frame(kind: 4, version: 1, flags: 0x80), chunk: 5).error == .unsupportedFlags(0x80))
    #expect(decodeAll(frame(kind: 4, version: 2, flags: 0), chunk: 5).error
        == .unsupportedVersion(kind: "Ping", version: 2, supported: 1...1))
    #expect(decodeAll(frame(kind: 4, version: 1, flags: 0), chunk: 5).messages == [.ping(Ping(nonce: 1))])
}

@Test func frameRoundTripsThroughItsOwnType() throws {
    let frame = Frame(kind: .pong, version: 1, payload: [7, 0])
    let bytes = try frame.encoded()
    #expect(try Frame(bytes: bytes) == frame)
    #expect(try Message(frame: frame) == .pong(Pong(nonce: 7)))
    #expect(throws: WireError.truncated(buffered: bytes.count - 1)) { try Frame(bytes: Array(bytes.dropLast())) }
}

// MARK: Messages

@Test(arguments: goldenCases.map { $0.name })
func messageRoundTrips(_ name: String) throws {
    let (_, version, message) = goldenCases.first { $0.name == name }!
    let bytes = try message.encodeFrame(protocolVersion: version)
    #expect(try Message(frameBytes: bytes) == message)
}

@Test func realisticBatchRoundTripsAndIsCompact() throws {
    let batch = realisticBatch(beacons: 100)
    let bytes = try batch.encodeFrame()
    #expect(try EventBatch(frameBytes: bytes) == batch)
    #expect(batch.eventCount == 1000)
    // Strings repeated across events travel once: well under 60 bytes an event.
    #expect(bytes.count < 60 * 1000)
}

@Test func typedDecodeRefusesAnotherKind() throws {
    let bytes = try Ping(nonce: 1).encodeFrame()
    #expect(throws: WireError.unexpectedMessage(kind: "Ping", state: "expecting Pong")) { try Pong(frameBytes: bytes) }
}

/// Payloads built by hand that must fail with a field-naming error, never trap.
@Test(arguments: [
    ("bad UTF-8", Frame(kind: .goAway, version: 1, payload: [2, 0xC3, 0x28, 0, 0]), "GoAway.reason: not valid UTF-8"),
    ("overlong UTF-8", Frame(kind: .goAway, version: 1, payload: [2, 0xC0, 0xAF, 0, 0]), "GoAway.reason: not valid UTF-8"),
    ("string past end", Frame(kind: .goAway, version: 1, payload: [9, 0x41]), "GoAway.reason: count 9 exceeds"),
    ("u32 overflow", Frame(kind: .goAway, version: 1, payload: [0, 0x80, 0x80, 0x80, 0x80, 0x10, 0]), "GoAway.drainDeadlineMs: 4294967296 does not fit 32 bits"),
    ("trailing bytes", Frame(kind: .ping, version: 1, payload: [1, 0, 0]), "Ping has 1 unexpected bytes"),
    ("unknown role", Frame(kind: .hello, version: 1, payload: [1, 1, 9, 0, 0, 0]), "Hello.role: unknown role 9"),
    ("unknown outcome", Frame(kind: .batchAck, version: 1, payload: [1, 1, 1, 3, 0, 0, 0, 0]), "BatchAck.outcome: unknown outcome 3"),
    ("descending tags", Frame(kind: .ping, version: 1, payload: [1, 2, 5, 0, 4, 0]), "tagged field 4 follows tag 5"),
    ("known tag too long", Frame(kind: .hello, version: 1, payload: [1, 1, 0, 0, 0, 1, 0, 2, 0, 0]), "tagged field 0 has 1 extra bytes"),
    ("huge beacon count", Frame(kind: .eventBatch, version: 1, payload: [1, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0]), "EventBatch.beacons: count 4294967295 exceeds"),
    ("dangling string ref", Frame(kind: .eventBatch, version: 1, payload: [1, 1, 1, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0]), "Beacon.app: string reference 3 but only 0 strings so far"),
    ("unknown platform", Frame(kind: .eventBatch, version: 1, payload: [1, 1, 1, 1, 0, 0, 1, 0x61, 7, 0, 0, 0, 0, 0, 0]), "Beacon.platform: unknown platform 7"),
] as [(String, Frame, String)])
func malformedPayloadsNameTheField(_ label: String, _ frame: Frame, _ expected: String) {
    do {
        _ = try Message(frame: frame)
        Issue.record("\(label): decoded")
    } catch {
        #expect(error.description.contains(expected), "\(label): \(error)")
    }
}

/// Event-level failures, built by encoding a valid one-event batch and patching a field.
@Test func malformedEventFieldsAreErrors() throws {
    func batchBytes(_ event: Event) -> [UInt8] {
        let batch = EventBatch(batchID: BatchID(producer: 1, epoch: 1, sequence: 1), beacons: [
            Beacon(app: "a", platform: .web, visitor: "v", sentAt: 0, receivedAt: 0, events: [event]),
        ])
        var writer = ByteWriter()
        batch.encodePayload(into: &writer, version: 1)
        return writer.bytes
    }
    func decode(_ payload: [UInt8]) -> WireError? {
        do { _ = try Message(frame: Frame(kind: .eventBatch, version: 1, payload: payload)); return nil } catch { return error }
    }
    // Batch id (3) + beacon count (1) + beacon presence, app ref 0 "a" (3), platform, visitor (3),
    // receivedAt, sentAt, event count = 15 bytes; the event: presence, id "x" (2), type at 18.
    var typeByte = batchBytes(Event(id: "x", type: .view, ts: 0))
    typeByte[18] = 12
    #expect(decode(typeByte)?.description.contains("Event.type: unknown event type 12") == true)

    var status = batchBytes(Event(id: "x", type: .request, ts: 0, status: 1))
    let statusIndex = status.lastIndex(of: 2)!  // zigzag(1) == 2
    status.replaceSubrange(statusIndex...statusIndex, with: [0x80, 0x80, 0x80, 0x80, 0x10])
    #expect(decode(status)?.description.contains("Event.status: 2147483648 does not fit 32 bits") == true)

    var fatal = batchBytes(Event(id: "x", type: .error, ts: 0, fatal: true))
    fatal[fatal.count - 6] = 2  // the fatal byte, then timing, props, event tags, beacon tags, batch tags
    #expect(decode(fatal)?.description.contains("Event.fatal: boolean byte 2") == true)

    var nan = batchBytes(Event(id: "x", type: .view, ts: 0, timing: [("t", 0.5)]))
    let float = 0.5.bitPattern.bigEndian
    let floatBytes = withUnsafeBytes(of: float) { Array($0) }
    let at = nan.indices.first { Array(nan[$0..<min(nan.count, $0 + 8)]) == floatBytes }!
    nan.replaceSubrange(at..<(at + 8), with: withUnsafeBytes(of: Double.nan.bitPattern.bigEndian) { Array($0) })
    #expect(decode(nan)?.description.contains("Event.timing.value: nan is not a finite number") == true)
}

@Test func numbersKeepTheirExactValue() throws {
    let values: [Double] = [0, -0.0, 1, -1, 0.1, 1e300, -1e-300, 9_007_199_254_740_994, 4_611_686_018_427_387_904,
                            -0x1p63, 0x1p63, .leastNonzeroMagnitude]
    let event = Event(id: "n", type: .custom, ts: 0, timing: values.map { ("t", $0) },
                      props: values.map { ("p", .number($0)) })
    let batch = EventBatch(batchID: BatchID(producer: 0, epoch: 0, sequence: 0), beacons: [
        Beacon(app: "a", platform: .custom, visitor: "v", sentAt: 0, receivedAt: 0, events: [event]),
    ])
    let decoded = try EventBatch(frameBytes: try batch.encodeFrame())
    let timing = decoded.beacons[0].events[0].timing.map { $0.1 }
    #expect(timing.map(\.bitPattern) == values.map(\.bitPattern))
}

@Test func encodingIsDeterministic() throws {
    // Spooled bytes are re-sent byte for byte: the same value must always give the same bytes.
    let batch = realisticBatch(beacons: 20)
    #expect(try batch.encodeFrame() == (try batch.encodeFrame()))
    let decoded = try EventBatch(frameBytes: try batch.encodeFrame())
    #expect(try decoded.encodeFrame() == (try batch.encodeFrame()))
}

/// Wire's UTF-8 validator against the stdlib's: every 1- and 2-byte input, 3- and 4-byte inputs
/// around every boundary of Unicode Table 3-7.
@Test func utf8ValidatorAgreesWithTheStandardLibrary() {
    func check(_ bytes: [UInt8]) {
        let ours = bytes.withUnsafeBufferPointer { isValidUTF8($0) }
        let stdlib = String(validating: bytes, as: UTF8.self) != nil
        if ours != stdlib { Issue.record("\(bytes): ours \(ours), stdlib \(stdlib)") }
    }
    let edges: [UInt8] = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
    for a in 0...255 {
        check([UInt8(a)])
        for b in 0...255 {
            check([UInt8(a), UInt8(b)])
            if a >= 0xC0 { for c in edges { check([UInt8(a), UInt8(b), c]) } }
        }
    }
    for lead: UInt8 in [0xF0, 0xF1, 0xF3, 0xF4, 0xF5] {
        for b in stride(from: 0x70, through: 0xC0, by: 1) {
            check([lead, UInt8(b), 0x80, 0x80])
            check([lead, UInt8(b), 0x80, 0x7F])
            check(Array("abcdefgh".utf8) + [lead, UInt8(b), 0xBF, 0xBF] + Array("12345678".utf8))
        }
    }
    check(Array("plain ASCII longer than eight bytes".utf8))
    check(Array("préférence → 漢字 😀".utf8))
}

@Test func stringTableHandlesThousandsOfDistinctAndRepeatedStrings() throws {
    // More literals than the writer's initial table, each used twice, plus empty and long strings.
    let urls = (0..<5000).map { "https://shop.example/p/\($0)" }
    let events = urls.enumerated().map { index, url in
        Event(id: "e\(index)", type: .resource, ts: Int64(index), name: index % 2 == 0 ? "" : String(repeating: "x", count: index % 97),
              url: url, parent: urls[(index * 7) % urls.count])
    }
    let batch = EventBatch(batchID: BatchID(producer: 1, epoch: 1, sequence: 1), beacons: [
        Beacon(app: "a", platform: .web, visitor: "v", sentAt: 0, receivedAt: 0, events: events),
    ])
    let bytes = try batch.encodeFrame()
    #expect(try EventBatch(frameBytes: bytes) == batch)
    // Every URL travels once: the second use (as a parent) is a reference of at most 3 bytes.
    let urlBytes = urls.reduce(0) { $0 + $1.utf8.count }
    #expect(bytes.count < urlBytes + 5000 * 20)
}
