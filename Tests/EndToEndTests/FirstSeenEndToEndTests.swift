#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing
@testable import CollectorCore

/// Issue #20 through real processes: two beacons of one visitor posted to a collector, the first
/// without what the second brings (a view, a device, a client session); sessiond's answer holds
/// the first present values, its filters find the session, and replay finds no difference.
@Suite(.serialized) struct FirstSeenEndToEndTests {
    static let apps = #"{"apps":{"shop":{"platform":"web"},"app":{"platform":"mobile"}}}"#

    // The collector derives a web beacon's missing device from its User-Agent: this one says what
    // the beacons with a device say, so a first beacon without one brings the same.
    static let userAgent = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    func post(_ port: UInt16, _ json: String) throws {
        let (status, body) = try httpRequest(port: port, path: "/v1/beacons", headers: ["Content-Type: text/plain", Self.userAgent],
                                             body: Array(json.utf8))
        #expect(status == 202, "body \(body)")
        #expect(body.contains("\"accepted\":"), "body \(body)")
    }

    func session(_ queryPort: UInt16, app: String, visitor: String) throws -> [String: Any] {
        let (status, body) = try httpRequest(port: queryPort, method: "GET", path: "/v1/visitors/\(visitor)/sessions?app=\(app)")
        #expect(status == 200, "\(body)")
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let sessions = object?["sessions"] as? [[String: Any]] ?? []
        #expect(sessions.count == 1, "\(body)")
        return sessions.first ?? [:]
    }

    func found(_ queryPort: UInt16, _ query: String, visitor: String) throws -> Bool {
        let (status, body) = try httpRequest(port: queryPort, method: "GET", path: "/v1/sessions?\(query)")
        #expect(status == 200, "\(body)")
        return body.contains("\"visitor\":\"\(visitor)\"")
    }

    @Test func firstBeaconsWithoutViewDeviceOrClientSessionLoseNothing() throws {
        guard let (collector, sessiond) = PipelineFaultTests.executables() else { return }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let apps = PipelineFaultTests.writeApps(in: dir, json: Self.apps)
        let shard = try SessiondProcess(executable: sessiond, directory: dir.path, apps: apps)
        defer { shard.stop() }
        // --ack sessiond: each 202 means the beacon is durable in sessiond, so the two arrive in order.
        let front = try CollectorProcess(executable: collector,
                                         arguments: collectorArguments(for: shard, directory: dir.path, apps: apps, ack: .sessiond))
        let t = nowMilliseconds()
        let device = #""device":{"browser":"Chrome","os":"Linux","deviceType":"desktop","appVersion":"3.1"}"#

        try post(front.port, #"{"app":"shop","platform":"web","visitor":"entry","sentAt":\#(t),"events":[{"id":"r1","type":"request","ts":\#(t - 2000),"url":"https://api.shop.example.com/cart","status":200}]}"#)
        try post(front.port, #"{"app":"shop","platform":"web","visitor":"entry","sentAt":\#(t),"events":[{"id":"w1","type":"view","ts":\#(t - 1000),"url":"https://shop.example.com/cart/"}]}"#)
        try post(front.port, #"{"app":"shop","platform":"web","visitor":"device","sentAt":\#(t),"events":[{"id":"e6","type":"request","ts":\#(t)}]}"#)
        try post(front.port, #"{"app":"shop","platform":"web","visitor":"device","sentAt":\#(t),\#(device),"events":[{"id":"a1","type":"action","ts":\#(t + 10),"name":"buy"}]}"#)
        try post(front.port, #"{"app":"shop","platform":"web","visitor":"client","sentAt":\#(t),"events":[{"id":"c1","type":"custom","ts":\#(t),"name":"boot"}]}"#)
        try post(front.port, #"{"app":"shop","platform":"web","visitor":"client","session":"cs-3023be","sentAt":\#(t),"events":[{"id":"c2","type":"view","ts":\#(t + 10),"name":"home"}]}"#)
        try post(front.port, #"{"app":"app","platform":"mobile","visitor":"phone","sentAt":\#(t),"events":[{"id":"s1","type":"app_start","ts":\#(t)},{"id":"s2","type":"request","ts":\#(t + 5),"status":500}]}"#)
        try post(front.port, #"{"app":"app","platform":"mobile","visitor":"phone","sentAt":\#(t),\#(device),"events":[{"id":"s3","type":"view","ts":\#(t + 20),"name":"Cart"}]}"#)

        let entry = try session(shard.httpPort, app: "shop", visitor: "entry")
        #expect(entry["entryPage"] as? String == "https://shop.example.com/cart/")
        #expect(entry["exitPage"] as? String == "https://shop.example.com/cart/")
        #expect((entry["counts"] as? [String: Any])?["views"] as? Int == 1)
        #expect(try found(shard.httpPort, "app=shop&entryPage=https://shop.example.com/cart/", visitor: "entry"))

        let web = try session(shard.httpPort, app: "shop", visitor: "device")
        #expect((web["device"] as? [String: Any])?["browser"] as? String == "Chrome")
        #expect(try found(shard.httpPort, "app=shop&browser=Chrome&os=Linux&deviceType=desktop", visitor: "device"))

        let client = try session(shard.httpPort, app: "shop", visitor: "client")
        #expect(client["clientSession"] as? String == "cs-3023be")

        let phone = try session(shard.httpPort, app: "app", visitor: "phone")
        #expect((phone["device"] as? [String: Any])?["appVersion"] as? String == "3.1")
        #expect(phone["entryPage"] as? String == "Cart")
        #expect(try found(shard.httpPort, "app=app&appVersion=3.1", visitor: "phone"))

        expectReplayClean(databasePath: dir.path + "/sessiond.db")
        #expect(front.kill(SIGTERM) == 0)
    }
}
