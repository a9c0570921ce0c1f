import Foundation
import TestSupport
import Testing
import Beacon
import Transport
@testable import CollectorCore

/// The browser SDK: the embedded copy is current, small enough, and served over real HTTP with
/// its validators, caching and gzip.
@Suite(.serialized) struct RumScriptTests {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)   // Tests/CollectorCoreTests/RumScriptTests.swift
        return parts.joined(separator: "/")
    }()

    static func generatedSource(from script: String) -> String {
        "// Generated from rum.js by `CLICKPATH_REGENERATE=1 swift test --filter RumScriptTests`. Do not edit.\n"
            + "// A test fails when this copy differs from rum.js.\n"
            + "let embeddedRumScript = #\"\"\"\n" + script + "\n\"\"\"#\n"   // the last newline is the literal's own
    }

    @Test func embeddedCopyMatchesTheScript() throws {
        let script = try String(contentsOfFile: Self.root + "/Sources/CollectorCore/rum.js", encoding: .utf8)
        #expect(!script.contains("\"\"\"#") && !script.contains("\\#"))
        let expected = Self.generatedSource(from: script)
        let path = Self.root + "/Sources/CollectorCore/RumScriptData.swift"
        if ProcessInfo.processInfo.environment["CLICKPATH_REGENERATE"] == "1" {
            try expected.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let actual = try String(contentsOfFile: path, encoding: .utf8)
        #expect(actual == expected, "RumScriptData.swift is stale: run CLICKPATH_REGENERATE=1 swift test --filter RumScriptTests")
        #expect(embeddedRumScript == script)
    }

    /// The issue's budget: 10 KB gzipped (gzip -9 through zlib, what the collector serves).
    @Test func gzippedScriptStaysUnderTenKilobytes() throws {
        let script = RumScript()
        #expect(script.body.count > 1000, "the embedded script is a placeholder")
        #expect(script.gzipped.count <= 10_000, "rum.js is \(script.gzipped.count) bytes gzipped; the budget is 10000")
        #expect(try Inflate.inflate(script.gzipped, encoding: .gzip) == script.body)
    }

    final class Harness {
        let server: HTTPServer
        init() throws {
            var router = HTTPRouter()
            RumScript().register(in: &router)
            server = try HTTPServer.start(HTTPServerConfiguration(), router: router)
        }
        deinit { server.stop() }

        func get(_ headers: [(String, String)] = [], method: String = "GET") throws -> TestResponse {
            var head = "\(method) /rum.js HTTP/1.1\r\nHost: t\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            let client = try TestClient(port: server.port)
            client.send(Array((head + "\r\n").utf8))
            return try client.readResponse()
        }
    }

    @Test func plainAnswerCarriesTypeCachingAndValidator() throws {
        let harness = try Harness()
        let response = try harness.get()
        #expect(response.status == 200)
        #expect(response.body == Array(embeddedRumScript.utf8))
        #expect(response.header("Content-Type") == "application/javascript; charset=utf-8")
        #expect(response.header("Cache-Control") == "public, max-age=3600")
        #expect(response.header("Vary") == "Accept-Encoding")
        #expect(response.header("Content-Encoding") == nil)
        let etag = try #require(response.header("ETag"))
        #expect(etag.hasPrefix("\"") && etag.hasSuffix("\"") && etag.count == 18)
    }

    @Test func gzipWhenAcceptedAndNotWhenRefused() throws {
        let harness = try Harness()
        let gzip = try harness.get([("Accept-Encoding", "br, gzip;q=0.8, deflate")])
        #expect(gzip.status == 200)
        #expect(gzip.header("Content-Encoding") == "gzip")
        #expect(try Inflate.inflate(gzip.body, encoding: .gzip) == Array(embeddedRumScript.utf8))
        #expect(gzip.body.count < embeddedRumScript.utf8.count / 2)
        let plain = try harness.get()
        #expect(gzip.header("ETag") != plain.header("ETag"), "two representations, two strong validators")
        for refusal in ["gzip;q=0", "br", "identity", "*;q=0", "gzip; q=0.0, *"] {
            let response = try harness.get([("Accept-Encoding", refusal)])
            #expect(response.header("Content-Encoding") == nil, "\(refusal)")
            #expect(response.body == Array(embeddedRumScript.utf8), "\(refusal)")
        }
        #expect(try harness.get([("Accept-Encoding", "*")]).header("Content-Encoding") == "gzip")
    }

    @Test func matchingIfNoneMatchAnswers304() throws {
        let harness = try Harness()
        let plain = try harness.get()
        let tag = try #require(plain.header("ETag"))
        let revalidated = try harness.get([("If-None-Match", "\"other\", \(tag)")])
        #expect(revalidated.status == 304)
        #expect(revalidated.body.isEmpty)
        #expect(revalidated.header("ETag") == tag)
        #expect(revalidated.header("Cache-Control") == "public, max-age=3600")
        #expect(try harness.get([("If-None-Match", "W/\(tag)")]).status == 304)
        #expect(try harness.get([("If-None-Match", "*")]).status == 304)
        #expect(try harness.get([("If-None-Match", "\"0000000000000000\"")]).status == 200)
        // The plain tag does not validate the gzip representation, nor the reverse.
        let gzipped = try harness.get([("If-None-Match", tag), ("Accept-Encoding", "gzip")])
        #expect(gzipped.status == 200 && gzipped.header("Content-Encoding") == "gzip")
        let gzipTag = try #require(gzipped.header("ETag"))
        #expect(try harness.get([("If-None-Match", gzipTag), ("Accept-Encoding", "gzip")]).status == 304)
    }
}
