#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing
@testable import CollectorCore

/// Issue #15 "Device from the User-Agent" through real processes: a web beacon that sends no
/// device (what `curl -A '<Chrome UA>'` posts) is found by the sessions list's browser, OS and
/// device-type filters; a client-sent field wins over the derived one.
@Suite(.serialized) struct DeviceEndToEndTests {
    static let chromeOnLinux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    func post(_ port: UInt16, _ json: String) throws {
        let (status, body) = try httpRequest(port: port, path: "/v1/beacons",
                                             headers: ["Content-Type: text/plain", "User-Agent: \(Self.chromeOnLinux)"],
                                             body: Array(json.utf8))
        #expect(status == 202, "body \(body)")
        #expect(body.contains("\"accepted\":1"), "body \(body)")
    }

    func visitors(_ queryPort: UInt16, _ query: String) throws -> [String] {
        let (status, body) = try httpRequest(port: queryPort, method: "GET", path: "/v1/sessions?\(query)")
        #expect(status == 200, "\(body)")
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return (object?["sessions"] as? [[String: Any]] ?? []).compactMap { $0["visitor"] as? String }.sorted()
    }

    @Test func beaconsWithoutDeviceAreFoundByTheDerivedOne() throws {
        guard let (collector, sessiond) = PipelineFaultTests.executables() else { return }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let apps = PipelineFaultTests.writeApps(in: dir)
        let shard = try SessiondProcess(executable: sessiond, directory: dir.path, apps: apps)
        defer { shard.stop() }
        // --ack sessiond: each 202 means the beacon is stored, so the query sees it.
        let front = try CollectorProcess(executable: collector,
                                         arguments: collectorArguments(for: shard, directory: dir.path, apps: apps, ack: .sessiond))
        let t = nowMilliseconds()
        try post(front.port, #"{"app":"shop","platform":"web","visitor":"plain","sentAt":\#(t),"events":[{"id":"p1","type":"view","ts":\#(t),"url":"https://shop.example.com/"}]}"#)
        try post(front.port, #"{"app":"shop","platform":"web","visitor":"brave","sentAt":\#(t),"device":{"browser":"Brave"},"events":[{"id":"b1","type":"view","ts":\#(t),"url":"https://shop.example.com/"}]}"#)

        #expect(try visitors(shard.httpPort, "app=shop&browser=Chrome&os=Linux&deviceType=desktop") == ["plain"])
        #expect(try visitors(shard.httpPort, "app=shop&browser=Brave&os=Linux&deviceType=desktop") == ["brave"])
        #expect(try visitors(shard.httpPort, "app=shop&os=Linux") == ["brave", "plain"])
        #expect(try visitors(shard.httpPort, "app=shop&browser=Firefox") == [])
        #expect(try visitors(shard.httpPort, "app=shop&deviceType=smartphone") == [])

        let (status, body) = try httpRequest(port: shard.httpPort, method: "GET", path: "/v1/visitors/plain/sessions?app=shop")
        #expect(status == 200)
        #expect(body.contains(#""browserVersion":"131.0.0.0""#), "\(body)")
        #expect(front.kill(SIGTERM) == 0)
    }
}
