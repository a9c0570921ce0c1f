import Foundation
import Testing
@testable import Wire

// Schemas/wire/golden/*.hex are the byte vectors every later build must still decode. A new
// message version adds files; an existing file never changes. To create the file of a new case
// in `goldenCases`, run once with WIRE_WRITE_MISSING_GOLDEN=1 (existing files are never touched).

private let goldenDirectory = repositoryRoot.appendingPathComponent("Schemas/wire/golden")

@Test(arguments: goldenCases.map(\.name))
func goldenVectorDecodesAndReEncodesExactly(_ name: String) throws {
    let (_, version, message) = goldenCases.first { $0.name == name }!
    let url = goldenDirectory.appendingPathComponent(name + ".hex")
    let encoded = try message.encodeFrame(protocolVersion: version)
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
        if ProcessInfo.processInfo.environment["WIRE_WRITE_MISSING_GOLDEN"] == "1" {
            try goldenFile(name: name, version: version, message: message, bytes: encoded)
                .write(to: url, atomically: true, encoding: .utf8)
        }
        Issue.record("missing \(url.path); its bytes would be \(hexString(encoded))")
        return
    }
    let bytes = try #require(parseHex(text), "\(name).hex is not valid hex")
    let frame = try Frame(bytes: bytes)
    #expect(frame.kind == message.kind)
    #expect(frame.version == version)
    #expect(try Message(frame: frame) == message)
    #expect(encoded == bytes, "\(name): encoder output changed; golden vectors must never change")
}

@Test func everyGoldenFileHasACase() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: goldenDirectory.path).filter { $0.hasSuffix(".hex") }
    #expect(Set(files) == Set(goldenCases.map { $0.name + ".hex" }))
}

@Test(arguments: MessageKind.allCases)
func everyKindAndVersionHasAGoldenVector(_ kind: MessageKind) {
    for version in Message.versions(of: kind) {
        #expect(goldenCases.contains { $0.message.kind == kind && $0.version == version },
                "no golden vector for \(kind.name) v\(version)")
    }
}

/// The file format: a comment header, then the frame as hex, 32 bytes a line.
private func goldenFile(name: String, version: UInt16, message: Message, bytes: [UInt8]) -> String {
    var text = "# \(name): a complete \(message.kind.name) v\(version) frame (length prefix to CRC32C), hex.\n"
    text += "# The value it holds is `goldenCases[\"\(name)\"]` in Tests/WireTests/Fixtures.swift.\n"
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + 32)
        text += hexString(Array(bytes[offset..<end])) + "\n"
        offset = end
    }
    return text
}
