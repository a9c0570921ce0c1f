import Foundation
import Testing
@testable import JSON

/// Replays every input of the checked-in fuzz corpus (`Tests/Fuzz/corpus/json`) with the
/// properties the fuzzer checks (`JSONReaderCheck`, shared with `Tests/Fuzz/json`), so a finding stays fixed.
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
            let problems = JSONReaderCheck.run(bytes)
            #expect(problems.isEmpty, "\(name): \(problems.joined(separator: "; "))")
        }
    }

    /// The check does not flag correct behaviour: numbers at the edges (negative zero fraction,
    /// beyond Double's range, beyond Int64) and a truncated document hold every property.
    @Test func theCheckAcceptsGoodDocuments() {
        #expect(JSONReaderCheck.run(Array(#"{"a":[1,-0.5,1e400,12345678901234567890,"x\u00e9"]}"#.utf8)).isEmpty)
        #expect(JSONReaderCheck.run(Array("[1,".utf8)).isEmpty)
    }
}
