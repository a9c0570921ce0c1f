import Foundation
import Testing
@testable import Wire

// Replays every input of the checked-in fuzz corpus (Tests/Fuzz/corpus/wire, seeds from
// Tests/Fuzz/wire/make-corpus.py plus the fuzzer's findings) the way the fuzz target does, so
// what the fuzzer once found stays fixed.

private let corpusDirectory = repositoryRoot.appendingPathComponent("Tests/Fuzz/corpus/wire")

private func corpusFiles() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path)) ?? []).sorted()
}

@Test func corpusHasAtLeast200Inputs() {
    #expect(corpusFiles().count >= 200)
}

@Test func corpusReplaysWithoutTrapAndRoundTrips() throws {
    var decodedMessages = 0
    for name in corpusFiles() {
        let bytes = try [UInt8](Data(contentsOf: corpusDirectory.appendingPathComponent(name)))
        let whole = decodeAll(bytes, chunk: max(1, bytes.count))
        let byteByByte = decodeAll(bytes, chunk: 1)
        #expect(whole.messages == byteByByte.messages && whole.error == byteByByte.error, "\(name): chunking changed the result")
        // The in-place single-frame path must agree with the incremental decoder.
        let single = Result { () throws(WireError) in try Message(frameBytes: bytes) }
        if whole.messages.count == 1 && whole.error == nil {
            #expect(try single.get() == whole.messages[0], "\(name): single-frame decode differs")
        } else if whole.messages.isEmpty, let error = whole.error {
            #expect(single == .failure(error), "\(name): single-frame decode fails differently")
        }
        var messages = whole.messages
        for kind in MessageKind.allCases {
            for version: UInt16 in [0, 1, 2] {
                if let message = try? withBytes(bytes, { (raw) throws(WireError) in
                    try Message(kind: kind, version: version, payload: raw)
                }) {
                    messages.append(message)
                }
            }
        }
        for message in messages {
            let encoded = try message.encodeFrame()
            #expect(try Message(frameBytes: encoded) == message, "\(name): encode(decode(x)) decodes differently")
            decodedMessages += 1
        }
        expectCategory(name, whole)
    }
    #expect(decodedMessages > 0)
}

/// The seed files are named after what they hold; check the decoder says the same.
private func expectCategory(_ name: String, _ result: (messages: [Message], error: WireError?)) {
    func expectError(_ matches: (WireError) -> Bool) {
        #expect(result.error.map(matches) == true, "\(name): got \(String(describing: result.error))")
    }
    if name.hasPrefix("golden-") || name == "stream-all-goldens" || name.hasPrefix("tags-unknown")
        || name.hasPrefix("hello-shard-") && !name.hasSuffix("short") && !name.hasSuffix("long") {
        #expect(result.error == nil && !result.messages.isEmpty, "\(name): \(String(describing: result.error))")
    } else if name.hasPrefix("badcrc-") {
        expectError { if case .badChecksum = $0 { true } else { false } }
    } else if name.hasPrefix("truncated-") || name == "stream-goldens-truncated" || name == "length-only" {
        expectError { if case .truncated = $0 { true } else { false } }
    } else if name.hasPrefix("kind-") {
        expectError { if case .unknownKind = $0 { true } else { false } }
    } else if name.hasPrefix("flags-") {
        expectError { if case .unsupportedFlags = $0 { true } else { false } }
    } else if name.hasPrefix("version0-") || name.hasPrefix("version2-") || name == "version-ffff" {
        expectError { if case .unsupportedVersion = $0 { true } else { false } }
    } else if ["length-ffffffff", "length-80000000", "length-7fffffff", "length-16MiB+1"].contains(name) {
        expectError { if case .frameTooLong = $0 { true } else { false } }
    } else if name.hasPrefix("utf8-") {
        expectError { $0.description.contains("not valid UTF-8") }
    } else if name.hasPrefix("trailing-") {
        expectError { if case .trailingBytes = $0 { true } else { false } }
    } else if name.hasPrefix("varint-11") || name.hasPrefix("varint-10th") {
        expectError { $0.description.contains("overflows 64 bits") }
    }
}
