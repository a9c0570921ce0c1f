#if canImport(Glibc)
import Glibc
#endif
import Model
import Config
import Dispatch
import TestSupport
import Testing
import Transport
@testable import CollectorCore
import Wire
import System

@Suite(.serialized) struct CollectorServiceTests {
    static let apps = AppConfigStore(config: AppConfig(apps: [AppSettings(id: "shop", platform: .web)]))

    func configuration(_ dir: TemporaryDirectory, shardPort: UInt16, ack: AckMode) -> CollectorConfiguration {
        var configuration = CollectorConfiguration(dataDirectory: dir.path + "/collector",
                                                   shards: [ShardEndpoint(id: "s1", address: SocketAddress(host: "127.0.0.1", port: shardPort)!)])
        configuration.httpHost = "127.0.0.1"
        configuration.httpPort = 0
        configuration.pipeline = PipelineOptions(ackMode: ack)
        return configuration
    }

    @Test func aBeaconPostedOverHTTPIsAnswered202OnlyOnceTheShardAcknowledgedIt() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let shard = try FakeShard(shard: "s1")
        defer { shard.stop() }
        let logs = Collector<String>()
        let service = try CollectorService.start(configuration(dir, shardPort: shard.server.port, ack: .sessiond),
                                                 apps: Self.apps, log: Log { logs.add($0) })
        let (status, body) = try httpRequest(port: service.httpPort, path: "/v1/beacons",
                                             headers: ["Content-Type: text/plain"], body: beaconJSON(visitor: "v1", events: ["e1", "e2"]))
        #expect(status == 202, "body: \(body)")
        #expect(body.contains("\"accepted\":2"))
        // sessiond mode: the shard had the batch before the 202 went out.
        let batches = shard.batches.all
        #expect(batches.count == 1)
        #expect(batches.first?.beacons.first?.visitor == "v1")
        #expect(batches.first?.beacons.first?.events.map(\.id) == ["e1", "e2"])

        let (unknown, unknownBody) = try httpRequest(port: service.httpPort, path: "/v1/beacons",
                                                     headers: ["Content-Type: text/plain"], body: beaconJSON(app: "nope", visitor: "v", events: ["e"]))
        #expect(unknown == 403, "body: \(unknownBody)")
        let (botStatus, _) = try httpRequest(port: service.httpPort, path: "/v1/beacons",
                                             headers: ["Content-Type: text/plain", "User-Agent: Googlebot/2.1 (+http://www.google.com/bot.html)"],
                                             body: beaconJSON(visitor: "crawler", events: ["b1"]))
        #expect(botStatus == 202)
        let (wgetStatus, _) = try httpRequest(port: service.httpPort, path: "/v1/beacons",
                                              headers: ["Content-Type: text/plain", "User-Agent: Wget/1.21.4"],
                                              body: beaconJSON(visitor: "wget", events: ["w1"]))
        #expect(wgetStatus == 202)
        // Two rejected events (a duplicate id, one an hour in the future) beside one accepted.
        let now = nowMilliseconds()
        let mixed = Array(#"{"app":"shop","platform":"web","visitor":"v2","sentAt":\#(now),"events":[{"id":"d","type":"view","ts":\#(now),"url":"/a"},{"id":"d","type":"view","ts":\#(now),"url":"/b"},{"id":"f","type":"view","ts":\#(now + 3_600_000),"url":"/c"}]}"#.utf8)
        let (mixedStatus, mixedBody) = try httpRequest(port: service.httpPort, path: "/v1/beacons", headers: ["Content-Type: text/plain"], body: mixed)
        #expect(mixedStatus == 202, "body: \(mixedBody)")
        #expect(mixedBody.contains("\"rejected\":2"))
        let wrongType = Array("{}".utf8)
        #expect(try httpRequest(port: service.httpPort, path: "/v1/beacons", headers: ["Content-Type: image/png"], body: wrongType).0 == 415)
        let bytesSent = beaconJSON(visitor: "v1", events: ["e1", "e2"]).count + beaconJSON(app: "nope", visitor: "v", events: ["e"]).count
            + beaconJSON(visitor: "crawler", events: ["b1"]).count + beaconJSON(visitor: "wget", events: ["w1"]).count
            + mixed.count + wrongType.count
        #expect(try httpRequest(port: service.httpPort, method: "GET", path: "/healthz").0 == 200)
        #expect(try httpRequest(port: service.httpPort, method: "GET", path: "/readyz").0 == 200)
        let (rumStatus, rum) = try httpRequest(port: service.httpPort, method: "GET", path: "/rum.js")
        #expect(rumStatus == 200 && rum.contains("w.Clickpath = {"), "the collector serves the browser SDK")
        let (metricsStatus, metrics) = try httpRequest(port: service.httpPort, method: "GET", path: "/metrics")
        #expect(metricsStatus == 200)
        #expect(metrics.contains("clickpath_pipeline_answers_total{status=\"202\"} 2"), "the dropped bot never reaches the pipeline")
        #expect(metrics.contains("clickpath_events_accepted_total 3"))
        #expect(metrics.contains("clickpath_requests_total{status=\"202\"} 4"), "two beacons, the bot and wget:\n\(metrics)")
        #expect(metrics.contains("clickpath_requests_total{status=\"403\"} 1"))
        #expect(metrics.contains("clickpath_requests_total{status=\"415\"} 1"))
        #expect(metrics.contains("clickpath_events_rejected_total{reason=\"duplicate_id\"} 1"))
        #expect(metrics.contains("clickpath_events_rejected_total{reason=\"in_future\"} 1"))
        #expect(metrics.contains("clickpath_ingress_bytes_total \(bytesSent)"))
        #expect(metrics.contains("clickpath_bots_dropped_total{family=\"search-engine\"} 1"))
        #expect(metrics.contains("clickpath_bots_dropped_total{family=\"headless\"} 0"), "every family is exported from the start")
        #expect(metrics.contains("clickpath_non_browser_dropped_total{family=\"http-library\"} 1"), "wget counts as a program, not a bot:\n\(metrics)")
        #expect(!metrics.contains("clickpath_bots_dropped_total{family=\"http-library\"}"))
        #expect(shard.batches.all.flatMap { $0.beacons.map(\.visitor) } == ["v1", "v2"], "bots never reach sessiond")
        #expect(service.shutdown() == .exit(leftInSpool: 0, timedOut: false))
    }

    @Test func withTheShardDownBeaconsAreSpooledAnswered202AndDeliveredWhenItComesBack() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let port = unusedPort()
        let service = try CollectorService.start(configuration(dir, shardPort: port, ack: .spool), apps: Self.apps, log: Log { _ in })
        for n in 0..<5 {
            let (status, body) = try httpRequest(port: service.httpPort, path: "/v1/beacons",
                                                 headers: ["Content-Type: application/json"], body: beaconJSON(visitor: "v\(n)", events: ["e\(n)"]))
            #expect(status == 202, "body: \(body)")
        }
        #expect(service.pipeline.spool.liveBatches >= 1)
        let shard = try FakeShard(shard: "s1", port: port)
        defer { shard.stop() }
        // The Wire client reconnects with backoff and drains the spool in order.
        var seen = Set<String>()
        while seen.count < 5 {
            let batches = shard.batches.wait(count: shard.batches.all.count + 1)
            seen = Set(batches.flatMap { $0.beacons.map(\.visitor) })
            if batches.isEmpty { break }
        }
        #expect(seen == Set((0..<5).map { "v\($0)" }))
        #expect(service.shutdown() == .exit(leftInSpool: 0, timedOut: false))
    }

    @Test func settingsBecomeAConfiguration() throws {
        let outcome = try CollectorSettings.parse(arguments: ["--shards", "a=127.0.0.1:7000, b=[::1]:7001", "--ack", "sessiond",
                                                              "--spool-max-age", "1h", "--batch-max-age", "5ms", "--drain-on-exit"],
                                                  environment: ["CLICKPATH_SPOOL_MAX_BYTES": "64MiB"])
        guard case let .run(configuration, appsPath) = outcome else {
            Issue.record("expected a configuration")
            return
        }
        #expect(appsPath == "apps.json")
        #expect(configuration.shards.map(\.id) == ["a", "b"])
        #expect(configuration.shards.map(\.address.port) == [7000, 7001])
        #expect(configuration.pipeline.ackMode == .sessiond)
        #expect(configuration.pipeline.spoolMaxAgeMilliseconds == 3_600_000)
        #expect(configuration.pipeline.batchLimits.maxAgeNanoseconds == 5_000_000)
        #expect(configuration.spool.maxBytes == 64 << 20)
        #expect(configuration.drainOnExit)
    }

    @Test(arguments: [[], ["--shards", "127.0.0.1:7000"], ["--shards", "a=localhost:x"], ["--shards", "a=127.0.0.1:1,a=127.0.0.1:2"]])
    func badShardListsAreRefusedWithTheOption(_ arguments: [String]) {
        #expect(throws: SettingsError.self) { try CollectorSettings.parse(arguments: arguments, environment: [:]) }
    }
}
