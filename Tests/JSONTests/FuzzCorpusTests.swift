import Foundation
import Testing
@testable import JSON

/// Replays every input of the checked-in fuzz corpus (`Tests/Fuzz/corpus/json`) with the
/// properties the fuzzer checks (`Tests/Fuzz/json/fuzz.swift`), so a finding stays fixed.
@Suite struct FuzzCorpus {
    static let directory: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Fuzz/corpus/json"
    }()

    static func inputs() throws -> [(String, [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        return try names.map { name in
            (name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))))
        }
    }

    @Test func corpusIsThere() throws {
        #expect(try Self.inputs().count >= 200)
    }

    @Test func everyInputKeepsTheFuzzProperties() throws {
        for (name, bytes) in try Self.inputs() {
            let tree = Result { () throws(JSONError) -> JSONValue in try JSONValue.parse(bytes, duplicateKeys: .keepAll) }
            let skipped = Result { () throws(JSONError) in
                try JSONReader.withReader(bytes) { (reader) throws(JSONError) in
                    try reader.skipValue()
                    try reader.finish()
                }
            }
            switch (tree, skipped) {
            case (.success(let value), .success):
                let again = try? JSONValue.parse(Array(value.description.utf8), duplicateKeys: .keepAll)
                #expect(again == value, "\(name): round trip changed the value")
            case (.failure(let a), .failure(let b)):
                #expect(a == b, "\(name): tree and cursor disagree on the error")
                #expect(a.offset >= 0 && a.offset <= bytes.count, "\(name): offset outside the input")
            default:
                Issue.record("\(name): tree and cursor disagree on acceptance")
            }
        }
    }
}
