#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import TestSupport
import Testing
@testable import CollectorCore

/// The arguments of a `collector` in front of `shard`, keeping its data in `directory/collector`.
func collectorArguments(for shard: SessiondProcess, directory: String, apps: String, ack: AckMode,
                        http: String = "127.0.0.1:0", extra: [String] = []) -> [String] {
    ["--http", http, "--shards", "s1=127.0.0.1:\(shard.wirePort)", "--data-dir", directory + "/collector",
     "--apps", apps, "--ack", ack.rawValue] + extra
}

@Suite(.serialized) struct EndToEndPipelineTests {
    @Test(arguments: [AckMode.sessiond, .spool])
    func aBeaconPostedToTheCollectorBecomesAQueryableSession(ack: AckMode) throws {
        guard let collector = builtExecutable("collector"), let sessiond = builtExecutable("sessiond") else {
            Issue.record("collector or sessiond executable not found beside the test binary; run `swift build` first")
            return
        }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        writeFile(dir.path + "/apps.json", Array(#"{"apps":{"shop":{"platform":"web"}}}"#.utf8))
        let shard = try SessiondProcess(executable: sessiond, directory: dir.path, apps: dir.path + "/apps.json")
        defer { shard.stop() }
        let front = try CollectorProcess(executable: collector, arguments: collectorArguments(
            for: shard, directory: dir.path, apps: dir.path + "/apps.json", ack: ack))
        let visitor = "e2e-\(ack.rawValue)"
        let (status, body) = try httpRequest(port: front.port, path: "/v1/beacons", headers: ["Content-Type: text/plain"],
                                             body: beaconJSON(visitor: visitor, events: ["view-1", "view-2"]))
        #expect(status == 202, "body \(body)")

        // sessiond mode: durable in sessiond before the 202. Spool mode: delivered shortly after.
        var sessions = ""
        for _ in 0..<100 {
            let (queryStatus, answer) = try httpRequest(port: shard.httpPort, method: "GET", path: "/v1/visitors/\(visitor)/sessions?app=shop")
            sessions = answer
            if queryStatus == 200 && answer.contains(visitor) { break }
            if ack == .sessiond {
                Issue.record("not queryable right after the 202 in --ack=sessiond: \(queryStatus) \(answer)")
                break
            }
            usleep(50_000)
        }
        #expect(sessions.contains(visitor), "sessions: \(sessions)")
        #expect(sessions.contains("\"events\":2") || sessions.contains("\"eventCount\":2"), "sessions: \(sessions)")
        #expect(front.kill(SIGTERM) == 0)
    }
}
