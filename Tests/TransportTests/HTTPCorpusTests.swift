import Foundation
import Testing
@testable import Transport

// Replays every input of the checked-in HTTP fuzz corpus (Tests/Fuzz/corpus/http: seeds from
// Tests/Fuzz/http/make-corpus.py plus the fuzzer's findings) through the same check the fuzz
// target runs, so a fixed crash stays fixed.
private let corpusDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Tests/Fuzz/corpus/http")

private func corpusFiles() -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
}

@Suite struct HTTPCorpusTests {
    @Test func corpusIsCheckedIn() {
        #expect(corpusFiles().count >= 50)
    }

    @Test func corpusReplaysThroughTheFuzzCheck() throws {
        var requests = 0, failures = 0
        for name in corpusFiles() {
            let bytes = try [UInt8](Data(contentsOf: corpusDirectory.appendingPathComponent(name)))
            for outcome in HTTPParserCheck.run(bytes) {
                if case .request = outcome { requests += 1 } else { failures += 1 }
            }
        }
        // The seeds hold both accepted and refused requests; the check must see both kinds.
        #expect(requests > 20)
        #expect(failures > 20)
    }

    @Test func seedOutcomes() throws {
        func outcomes(_ name: String) throws -> [HTTPRequestDecoder.Outcome] {
            let bytes = try [UInt8](Data(contentsOf: corpusDirectory.appendingPathComponent("seed-" + name)))
            return HTTPRequestDecoder.decodeAll(bytes, limits: HTTPLimits())
        }
        let pipelined = try outcomes("pipelined")
        #expect(pipelined.count == 3)
        if case .request(.post, let target, let body, true) = pipelined[1] {
            #expect(target == Array("/2".utf8))
            #expect(body == Array("abc".utf8))
        } else { Issue.record("second pipelined request: \(pipelined)") }
        if case .request(_, _, _, false) = pipelined[2] {} else { Issue.record("Connection: close not seen") }
        if case .request(.post, _, let body, _) = try outcomes("chunked").first {
            #expect(body == Array("Wikipedia".utf8))
        } else { Issue.record("chunked seed") }
        #expect(try outcomes("cl-te") == [.failure(status: 400)])
        #expect(try outcomes("chunked-big") == [.failure(status: 413)])
        #expect(try outcomes("http2") == [.failure(status: 505)])
    }
}
