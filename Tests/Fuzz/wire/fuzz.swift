// libFuzzer target for the Wire protocol. Each input is used three ways:
// 1. as the payload of every message kind and version (the checksum would otherwise keep the
//    fuzzer away from the payload decoders);
// 2. as a byte stream fed to FrameDecoder in one piece and in chunks whose sizes come from the
//    input itself: both must yield the same messages and the same error;
// 3. every message that decodes is re-encoded, and the re-encoding must decode to the same value
//    and re-encode to the same bytes;
// 4. Wire's UTF-8 validator must agree with the standard library's on the raw bytes.
// Any violated expectation traps, which libFuzzer reports as a crash.
import System
import Wire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    precondition(isValidUTF8(UnsafeBufferPointer(start: data, count: size))
        == (String(validating: bytes, as: UTF8.self) != nil), "UTF-8 validators disagree")

    for kind in MessageKind.allCases {
        for version: UInt16 in [0, 1, 2] {
            let decoded = bytes.withUnsafeBytes { try? Message(kind: kind, version: version, payload: $0) }
            if let decoded { checkRoundTrip(decoded) }
        }
    }

    let whole = decodeStream(bytes, chunkSeed: nil)
    let chunked = decodeStream(bytes, chunkSeed: UInt64(size) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes[0]))
    precondition(whole == chunked, "chunking changed the decoding")
    let single = Result { () throws(WireError) in try Message(frameBytes: bytes, maxFrameLength: 1 << 20) }
    if whole.messages.count == 1, case let .success(message) = whole.messages[0], whole.end == nil {
        precondition(single == .success(message), "single-frame decode differs")
    } else if whole.messages.isEmpty, let error = whole.end {
        precondition(single == .failure(error), "single-frame decode fails differently")
    } else if whole.messages.count == 1, case let .failure(error) = whole.messages[0] {
        precondition(single == .failure(error), "single-frame decode fails differently")
    } else if whole.messages.count > 1, case .success = whole.messages[0] {
        let first = 4 + (Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3]))
        precondition(single == .failure(.truncated(buffered: bytes.count - first)),
                     "single-frame decode accepts bytes after the frame")
    }
    for case let .success(message) in whole.messages { checkRoundTrip(message) }

    var server = ServerHandshake(shardID: "s1", nodeID: "n1")
    var client = ClientHandshake(hello: Hello(role: .collector, nodeID: "c1", softwareVersion: "0", expectedShardID: "s1"))
    _ = client.start()
    for case let .success(message) in whole.messages {
        _ = server.receive(message)
        _ = client.receive(message)
    }
    return 0
}

struct StreamResult: Equatable {
    var messages: [Result<Message, WireError>] = []
    var end: WireError?
}

func decodeStream(_ bytes: [UInt8], chunkSeed: UInt64?) -> StreamResult {
    var decoder = FrameDecoder(maxFrameLength: 1 << 20)
    var result = StreamResult()
    var offset = 0
    var state = chunkSeed ?? 0
    while offset < bytes.count {
        var take = bytes.count - offset
        if chunkSeed != nil {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            take = min(take, Int(state % 9) == 0 ? 1 : Int(state % 64) + 1)
        }
        decoder.append(bytes[offset..<(offset + take)])
        offset += take
        while true {
            do {
                guard let message = try decoder.nextMessage() else { break }
                result.messages.append(.success(message))
            } catch {
                result.messages.append(.failure(error))
                return result
            }
        }
    }
    do { try decoder.finish() } catch { result.end = error }
    return result
}

func checkRoundTrip(_ message: Message) {
    let encoded: [UInt8]
    do { encoded = try message.encodeFrame() } catch { preconditionFailure("re-encoding failed: \(error)") }
    let again: Message
    do { again = try Message(frameBytes: encoded) } catch { preconditionFailure("re-encoded frame does not decode: \(error)") }
    precondition(again == message, "round trip changed the message")
    do {
        let twice = try again.encodeFrame()
        precondition(twice == encoded, "encoding is not stable")
    } catch { preconditionFailure("second encoding failed: \(error)") }
}
