#if canImport(Glibc)
import Glibc
#endif
import Model
import Foundation
import TestSupport
import Testing
@testable import CollectorCore
import TestSupport

/// Issue 8's proof through real processes: a scripted client posts web, mobile, mini program and
/// custom beacons over HTTP to a real `collector`, which forwards them over Wire to a real
/// `sessiond`; the sessions are read back through sessiond's query API and must be the ones
/// BRIEF's session rules give: the exact partition of event ids, each end reason (or live),
/// `previousSessionId` chaining, `continued`, and a few counts. Every scenario is posted twice,
/// for two visitors: once as a client would send it and once shuffled and re-batched; both must
/// give the same sessions with the same summaries (BRIEF: "whatever their arrival order and
/// batching").
@Suite(.serialized) struct PlatformSessionsEndToEndTests {
    /// BRIEF's default timeouts for every platform. The scripted client replays hours of a
    /// visitor's history in seconds, so events must be hours old when posted: only the allowed
    /// lateness of web and custom (default 15 min, too short for a 30-minute gap) is raised to
    /// 24 h, mobile's and the mini program's default. Smaller timeouts would not prove the defaults.
    static let apps = """
        {"apps":{
          "shop":{"platform":"web","rules":{"lateness":86400000}},
          "phone":{"platform":"mobile"},
          "mini":{"platform":"miniprogram"},
          "server":{"platform":"custom","rules":{"lateness":86400000}}
        }}
        """

    @Test(arguments: [AckMode.spool, .sessiond])
    func scriptedBeaconsOfEveryPlatformGiveTheSessionsOfTheRules(ack: AckMode) throws {
        guard let (collector, sessiond) = PipelineFaultTests.executables() else { return }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let apps = PipelineFaultTests.writeApps(in: dir, json: Self.apps)
        // A short tick: sessions whose timeout passed complete within 100 ms of server time.
        var shard = try SessiondProcess(executable: sessiond, directory: dir.path, apps: apps, extra: ["--tick", "100ms"])
        defer { shard.stop() }
        let front = try CollectorProcess(executable: collector,
                                         arguments: collectorArguments(for: shard, directory: dir.path, apps: apps, ack: ack))
        // Fixed shuffles for CI; CLICKPATH_E2E_SEED=N tries (or replays) other orders locally.
        let base = ProcessInfo.processInfo.environment["CLICKPATH_E2E_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0000
        var run = ScriptRun(collectorPort: front.port, queryPort: shard.httpPort, label: ack.rawValue,
                            seed: base &+ (ack == .spool ? 1_000 : 2_000), replay: "CLICKPATH_E2E_SEED=\(base)")

        try web(&run)
        try webMaxDuration(&run)
        try mobile(&run)
        try mobileClockAhead(&run)
        try miniProgram(&run)
        try custom(&run)
        try everyAcceptedEventIsStoredOnceAndBotsAndOrphansMakeNoSession(&run)

        // sessiond restarts (its metrics start again from zero, so counted before): live sessions
        // are rebuilt from the store and keep growing, the chain of sessions goes on.
        shard.stop()
        shard = try SessiondProcess(executable: sessiond, directory: dir.path, apps: apps, wirePort: shard.wirePort,
                                    httpPort: shard.httpPort, extra: ["--tick", "100ms"])
        try afterRestart(&run)
        expectReplayClean(databasePath: dir.path + "/sessiond.db")
        #expect(front.kill(SIGTERM) == 0)
    }

    // MARK: Scenarios

    /// Web: inactivity, client session change, 200 actions (the next session continues), session_end,
    /// and a bot whose beacon is answered 202 but never stored.
    func web(_ run: inout ScriptRun) throws {
        let t = nowMilliseconds()
        let client = run.browser
        let tag = "alice-\(run.label)@example.com"
        let actions = (1...200).map { ScriptedEvent(String(format: "a%03d", $0), "action", at: t - 2 * hour + 61 * second + Int64($0 - 1) * second,
                                                    session: "c2", #""name":"click \#($0)""#) }
        let events: [ScriptedEvent] = [
            // 1: no client session id yet; one satisfied action.
            .init("w01", "view", at: t - 3 * hour, #""url":"https://shop.example/home""#),
            .init("w02", "action", at: t - 3 * hour + 10 * second, #""name":"open menu","duration":500,"parent":"w01""#),
            // 2: an hour later (> 30 min): inactivity ended 1.
            .init("w03", "view", at: t - 2 * hour, session: "c1", #""url":"https://shop.example/products""#),
            .init("w04", "action", at: t - 2 * hour + 5 * second, session: "c1", #""name":"filter""#),
            // 3: the browser was closed (client session c2): client-session-changed ended 2. The
            // first event with c2 is a heartbeat: it ends 2 but, starting nothing, is an orphan.
            .init("wh1", "heartbeat", at: t - 2 * hour + 30 * second, session: "c2"),
            .init("w05", "view", at: t - 2 * hour + 60 * second, session: "c2", #""url":"https://shop.example/catalog""#),
        ] + actions + [
            // 4: the 201st action: max-actions ended 3, and 4 continues it. A failed request and an
            // error under the action frustrate it; session_end ends 4 with itself.
            .init("a201", "action", at: t - 2 * hour + 300 * second, session: "c2", #""name":"pay","duration":800"#),
            .init("w06", "request", at: t - 2 * hour + 301 * second, session: "c2",
                  #""url":"https://shop.example/api/pay","method":"POST","status":500,"parent":"a201""#),
            .init("w07", "error", at: t - 2 * hour + 302 * second, session: "c2", #""message":"payment failed","parent":"a201""#),
            .init("w08", "session_end", at: t - 2 * hour + 310 * second, session: "c2"),
            // 5: after the end, still live (last event a minute ago); a failed resource. The user
            // logs in: the tag links this visitor's earlier, anonymous sessions too.
            .init("w09", "view", at: t - 2 * minute, session: "c3", user: tag, #""url":"https://shop.example/home""#),
            .init("w10", "resource", at: t - 1 * minute, session: "c3", user: tag, #""url":"https://shop.example/logo.png","status":404"#),
        ]
        let expected: [ExpectedSession] = [
            .init(["w01", "w02"], end: "inactivity", counts: ["views": 1, "actions": 1], experience: "satisfied"),
            .init(["w03", "w04"], end: "client-session-changed"),
            .init(["w05"] + actions.map(\.id), end: "max-actions", counts: ["views": 1, "actions": 200]),
            .init(["a201", "w06", "w07", "w08"], end: "explicit-end", continued: true,
                  counts: ["actions": 1, "requests": 1, "failedRequests": 1, "errors": 1],
                  reasons: ["errors": 1, "failedRequests": 1, "frustratedActions": 1], experience: "frustrated"),
            .init(["w09", "w10"], end: nil, counts: ["resources": 1, "failedResources": 1], reasons: ["failedResources": 1]),
        ]
        // A browser sends as it goes: beacons of at most 40 events, in time order.
        let visitor = run.visitor("web")
        for start in stride(from: 0, to: events.count, by: 40) {
            try run.post(client, visitor: visitor, Array(events[start..<min(start + 40, events.count)]))
        }
        let shuffled = try run.postShuffled(client, visitor: run.visitor("web-shuffled"), events)
        run.expectSessions("web", client.app, visitor: visitor, shuffled: shuffled, expected)
        let (status, list) = try httpRequest(port: run.queryPort, method: "GET", path: "/v1/users/\(tag)/sessions?app=shop&limit=500")
        let tagged = (jsonObject(list)?["sessions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        let visitors = try run.observe(app: client.app, visitor: visitor) + run.observe(app: client.app, visitor: shuffled)
        #expect(status == 200 && Set(tagged) == Set(visitors.map(\.id)) && tagged.count == 2 * expected.count,
                "the user tag finds every session of its visitors, anonymous ones included: \(status) \(list.prefix(300))")
        #expect(visitors.allSatisfy { $0.summary["user"] as? String == tag }, "every session of a tagged visitor carries the tag")
        // The browser lost the answer to its first beacon and sends it again: accepted, stored
        // once (counted as duplicates at the end), the sessions unchanged.
        run.duplicates += try run.post(client, visitor: visitor, Array(events[0..<2])).reduce(0) { $0 + $1.accepted }

        // A crawler: answered 202 with nothing accepted, never stored (checked at the end).
        let bot = run.client(app: "shop", platform: "web", userAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
                             device: "{}")
        let answers = try run.post(bot, visitor: run.visitor("web-bot"),
                                   [.init("b1", "view", at: t - 10 * second, #""url":"https://shop.example/""#)], expectAccepted: false)
        #expect(answers.map(\.accepted) == [0], "a bot's beacon is answered 202 with nothing accepted: \(answers.map(\.body))")
    }

    /// Web: a tab kept busy for more than 8 hours. An event exactly 8 h after the first still
    /// belongs; the next one starts a session that continues it.
    func webMaxDuration(_ run: inout ScriptRun) throws {
        let t = nowMilliseconds()
        let first = t - 8 * hour - 30 * minute
        // A view every 20 minutes (< 30 min: never inactive), the last 10 minutes ago.
        let views = (0...25).map {
            ScriptedEvent(String(format: "d%02d", $0), "view", at: first + Int64($0) * 20 * minute, session: "long",
                          #""url":"https://shop.example/dashboard""#)
        }
        let visitor = run.visitor("web-long")
        try run.post(run.browser, visitor: visitor, views)
        let shuffled = try run.postShuffled(run.browser, visitor: run.visitor("web-long-shuffled"), views)
        run.expectSessions("web max-duration", run.browser.app, visitor: visitor, shuffled: shuffled, [
            .init(views[0...24].map(\.id), end: "max-duration", counts: ["views": 25]),
            .init([views[25].id], end: nil, continued: true),
        ])
    }

    /// Mobile: a short background keeps the session, a long one ends it; app_start after a kill;
    /// a fatal error; session_start; and an offline batch hours old posted after newer events,
    /// which must be placed as if it had come in order (it merges two stored sessions).
    func mobile(_ run: inout ScriptRun) throws {
        let t = nowMilliseconds()
        let b = t - 6 * hour
        let client = run.phone
        let offline: [ScriptedEvent] = [
            // 1: 20 s in background (<= 30 s) keeps the session; then 45 s in background ends it.
            .init("m01", "app_start", at: b),
            .init("m02", "view", at: b + 1 * second, #""name":"HomeScreen""#),
            .init("m03", "app_background", at: b + 10 * second),
            .init("m04", "app_foreground", at: b + 30 * second),
            .init("m05", "view", at: b + 31 * second, #""name":"CartScreen""#),
            .init("m06", "app_background", at: b + 40 * second),
            // 2: opened by the foreground 45 s later; the process is killed and started again.
            .init("m07", "app_foreground", at: b + 85 * second),
            .init("m08", "view", at: b + 86 * second, #""name":"CartScreen""#),
            // 3: the restart; a fatal error ends it with itself.
            .init("m09", "app_start", at: b + 120 * second),
            .init("m10", "view", at: b + 121 * second, #""name":"PayScreen""#),
            .init("m11", "error", at: b + 130 * second, #""message":"NullPointerException","fatal":true"#),
            // 4: started again after the crash; the app asks for a new session.
            .init("m12", "app_start", at: b + 200 * second),
            .init("m13", "view", at: b + 201 * second, #""name":"HomeScreen""#),
            // 5: opened by session_start; a failed request and an error; then hours of nothing.
            .init("m14", "session_start", at: b + 260 * second),
            .init("m15", "view", at: b + 261 * second, #""name":"Orders""#),
            .init("m16", "request", at: b + 262 * second, #""url":"https://api.example/orders","status":503"#),
            .init("m17", "error", at: b + 263 * second, #""message":"orders unavailable""#),
            // Fills the 15-minute gap (> 10 min) between m20 and m22 that split them online.
            .init("m21", "view", at: t - 22 * minute, #""name":"Orders""#),
        ]
        let online: [ScriptedEvent] = [
            .init("m20", "view", at: t - 30 * minute, #""name":"HomeScreen""#),
            .init("m22", "view", at: t - 15 * minute, #""name":"Orders""#),
            .init("m24", "view", at: t - 6 * minute, #""name":"Orders""#),
            .init("m25", "view", at: t - 1 * minute, #""name":"HomeScreen""#),
        ]
        let visitor = run.visitor("mobile")
        try run.post(client, visitor: visitor, online)
        let before = run.settle(app: client.app, visitor: visitor, [
            .init(["m20"], end: "inactivity"),
            .init(["m22", "m24", "m25"], end: nil),
        ])
        #expect(before.problems.isEmpty, "mobile before the offline batch:\n\(before.problems.joined(separator: "\n"))")
        let splitOff = before.sessions.count == 2 ? before.sessions[1].id : nil

        try run.post(client, visitor: visitor, offline)
        let shuffled = try run.postShuffled(client, visitor: run.visitor("mobile-shuffled"), offline + online)
        let after = run.expectSessions("mobile", client.app, visitor: visitor, shuffled: shuffled, [
            .init(["m01", "m02", "m03", "m04", "m05", "m06"], end: "background", counts: ["views": 2]),
            .init(["m07", "m08"], end: "process-restart"),
            .init(["m09", "m10", "m11"], end: "crash", counts: ["errors": 1], reasons: ["crashes": 1, "errors": 1],
                  experience: "frustrated"),
            .init(["m12", "m13"], end: "new-session-requested"),
            .init(["m14", "m15", "m16", "m17"], end: "inactivity", counts: ["requests": 1, "failedRequests": 1, "errors": 1]),
            .init(["m20", "m21", "m22", "m24", "m25"], end: nil, counts: ["views": 5]),
        ])
        // The merged session kept the id of its earliest stored part; the other part's id is retired.
        if let splitOff, after.count == 6, before.sessions.count == 2 {
            #expect(after[5].id == before.sessions[0].id, "the merged session keeps the id of {m20}")
            let (status, body) = try httpRequest(port: run.queryPort, method: "GET", path: "/v1/sessions/\(splitOff)")
            let mergedInto = (jsonObject(body)?["error"] as? [String: Any])?["mergedInto"] as? String
            #expect(status == 301 && mergedInto == after[5].id, "the retired id answers mergedInto: \(status) \(body)")
        }
    }

    /// A phone whose clock is 3 hours ahead: without the collector's skew correction (receivedAt -
    /// sentAt) every event would be rejected as in the future; with it, the session is placed at
    /// the real time (within the few ms a beacon takes to arrive).
    func mobileClockAhead(_ run: inout ScriptRun) throws {
        let t = nowMilliseconds()
        var client = run.phone
        client.clockOffset = 3 * hour
        let visitor = run.visitor("mobile-clock-ahead")
        try run.post(client, visitor: visitor, [
            .init("k1", "app_start", at: t - 10 * minute),
            .init("k2", "view", at: t - 10 * minute + 1 * second, #""name":"HomeScreen""#),
            .init("k3", "app_background", at: t - 10 * minute + 5 * second),
        ])
        try run.post(client, visitor: visitor, [
            .init("k4", "app_foreground", at: t - 5 * minute),
            .init("k5", "view", at: t - 5 * minute + 1 * second, #""name":"HomeScreen""#),
        ])
        let expected: [ExpectedSession] = [.init(["k1", "k2", "k3"], end: "background"), .init(["k4", "k5"], end: nil)]
        let settled = run.settle(app: client.app, visitor: visitor, expected)
        #expect(settled.problems.isEmpty, "mobile, clock 3 h ahead:\n\(settled.problems.joined(separator: "\n"))")
        if settled.sessions.count == 2 {
            for (session, start) in zip(settled.sessions, [t - 10 * minute, t - 5 * minute]) {
                let startedAt = session.summary["startedAt"] as? Int ?? 0
                #expect(abs(Int64(startedAt) - start) < 10 * second, "started at \(startedAt), really \(start)")
            }
        }
        run.recheck.append((client.app, visitor, expected))
    }

    /// Mini program: more than 30 s in background ends the session (exactly 30 s does not, an
    /// event in background does not end the background); a process restart; 30 minutes without
    /// an event.
    func miniProgram(_ run: inout ScriptRun) throws {
        let t = nowMilliseconds()
        let b = t - 2 * hour
        let client = run.miniProgram
        let events: [ScriptedEvent] = [
            .init("p01", "app_start", at: b),
            .init("p02", "view", at: b + 1 * second, #""name":"pages/index""#),
            .init("p03", "app_background", at: b + 5 * second),
            .init("p04", "app_foreground", at: b + 36 * second),
            .init("p05", "view", at: b + 37 * second, #""name":"pages/goods""#),
            .init("p06", "app_background", at: b + 40 * second),
            .init("p07", "app_foreground", at: b + 70 * second),
            .init("p08", "view", at: b + 71 * second, #""name":"pages/goods""#),
            .init("p09", "app_start", at: b + 120 * second),
            .init("p10", "view", at: b + 121 * second, #""name":"pages/index""#),
            // A request while in background joins the session; the foreground 35 s after the
            // background (> 30 s) opens the next one.
            .init("p10a", "app_background", at: b + 130 * second),
            .init("p10b", "request", at: b + 150 * second, #""url":"https://api.example/sync","status":200"#),
            .init("p10c", "app_foreground", at: b + 165 * second),
            .init("p11", "view", at: t - 1 * minute, #""name":"pages/index""#),
            // Sent to background 27 s ago and never back: sessiond's watermark (server time)
            // completes the session a few seconds after it is stored, without a later event.
            .init("p12", "app_background", at: t - 27 * second),
        ]
        let visitor = run.visitor("mini")
        try run.post(client, visitor: visitor, Array(events[0..<4]))
        try run.post(client, visitor: visitor, Array(events[4...]))
        let shuffled = try run.postShuffled(client, visitor: run.visitor("mini-shuffled"), events)
        run.expectSessions("mini program", client.app, visitor: visitor, shuffled: shuffled, [
            .init(["p01", "p02", "p03"], end: "background"),
            .init(["p04", "p05", "p06", "p07", "p08"], end: "process-restart", counts: ["views": 2]),
            .init(["p09", "p10", "p10a", "p10b"], end: "background", counts: ["requests": 1]),
            .init(["p10c"], end: "inactivity"),
            .init(["p11", "p12"], end: "background"),
        ])
    }

    /// Custom (a server): heartbeats keep a session alive past 30 minutes between its other events;
    /// 5 minutes without one ends it; heartbeats with no session are orphans, never a session.
    func custom(_ run: inout ScriptRun) throws {
        let t = nowMilliseconds()
        let b = t - 3 * hour
        let client = run.service
        // Every 2 minutes for 40 minutes (a client would send every 30 s; 2 min keeps the script short).
        let heartbeats = (1...20).map { ScriptedEvent(String(format: "h%02d", $0), "heartbeat", at: b + Int64($0) * 2 * minute) }
        let events: [ScriptedEvent] = [.init("c01", "custom", at: b, #""name":"job.start""#)] + heartbeats + [
            // 41 min after c01 (> 30 min) but 1 min after the last heartbeat: same session.
            .init("c02", "custom", at: b + 41 * minute, #""name":"job.step""#),
            // 6 min after c02 (> 5 min): heartbeat-timeout ended the session; this one is an orphan.
            .init("o1", "heartbeat", at: b + 47 * minute),
            // A standalone failed request (status 0: network failure), an error, the end.
            .init("c03", "request", at: t - 1 * hour, #""url":"https://payments.internal/charge","method":"POST","status":0"#),
            .init("c04", "error", at: t - 1 * hour + 1 * second, #""message":"charge timed out""#),
            .init("c05", "session_end", at: t - 1 * hour + 2 * second),
            // After session_end: an orphan again.
            .init("o2", "heartbeat", at: t - 30 * second),
        ]
        let visitor = run.visitor("custom")
        for start in stride(from: 0, to: events.count, by: 10) {
            try run.post(client, visitor: visitor, Array(events[start..<min(start + 10, events.count)]))
        }
        let shuffled = try run.postShuffled(client, visitor: run.visitor("custom-shuffled"), events)
        run.expectSessions("custom", client.app, visitor: visitor, shuffled: shuffled, [
            .init(["c01"] + heartbeats.map(\.id) + ["c02"], end: "heartbeat-timeout", counts: ["heartbeats": 20, "events": 22]),
            .init(["c03", "c04", "c05"], end: "explicit-end", counts: ["requests": 1, "failedRequests": 1, "errors": 1, "heartbeats": 0]),
        ])
        // A visitor whose only events are heartbeats: stored (see the final count), never a session.
        try run.post(client, visitor: run.visitor("custom-orphans"), [
            .init("x1", "heartbeat", at: t - 90 * second),
            .init("x2", "heartbeat", at: t - 60 * second),
            .init("x3", "heartbeat", at: t - 30 * second),
        ])
    }

    /// sessiond stored exactly the events the collector accepted, once each (orphan heartbeats
    /// included, bot beacons not, a re-sent beacon's events as duplicates); neither the bot nor the
    /// heartbeat-only visitor has a session; and every scenario's sessions are still as expected.
    func everyAcceptedEventIsStoredOnceAndBotsAndOrphansMakeNoSession(_ run: inout ScriptRun) throws {
        let deadline = Date().addingTimeInterval(30)
        var stored = -1
        var duplicates = -1
        repeat {
            stored = try metricValue(port: run.queryPort, #"clickpath_sessiond_events_total{kind="new"}"#) ?? -1
            duplicates = try metricValue(port: run.queryPort, #"clickpath_sessiond_events_total{kind="duplicate"}"#) ?? -1
            if stored + duplicates >= run.accepted { break }
            usleep(100_000)
        } while Date() < deadline
        #expect(run.duplicates > 0)
        #expect(stored == run.accepted - run.duplicates && duplicates == run.duplicates,
                "sessiond stored \(stored) new and \(duplicates) duplicate events; the collector accepted \(run.accepted), \(run.duplicates) of them re-sent")
        for (app, visitor, expected) in run.recheck {
            let settled = run.settle(app: app, visitor: visitor, expected)
            #expect(settled.problems.isEmpty, "\(visitor) at the end:\n\(settled.problems.joined(separator: "\n"))")
        }
        for visitor in [run.visitor("web-bot")] {
            let (status, body) = try httpRequest(port: run.queryPort, method: "GET", path: "/v1/visitors/\(visitor)/sessions?app=shop")
            #expect(status == 200 && (jsonObject(body)?["sessions"] as? [Any])?.count == 0, "bot visitor: \(status) \(body)")
        }
        let orphans = run.visitor("custom-orphans")
        let (status, body) = try httpRequest(port: run.queryPort, method: "GET", path: "/v1/visitors/\(orphans)/sessions?app=server")
        #expect(status == 200 && (jsonObject(body)?["sessions"] as? [Any])?.count == 0, "heartbeats alone made a session: \(body)")
        let dropped = try metricValue(port: run.collectorPort, #"clickpath_bots_dropped_total{family="search-engine"}"#)
        #expect(dropped == 1, "the collector counts the dropped bot beacon: \(String(describing: dropped))")
    }
}

extension PlatformSessionsEndToEndTests {
    /// New events after sessiond restarted join the live sessions of before (web, mobile) or
    /// follow a completed one (mini program); every visitor's sessions are checked again.
    func afterRestart(_ run: inout ScriptRun) throws {
        let t = nowMilliseconds()
        let (web, phone, mini) = (run.browser, run.phone, run.miniProgram)
        for suffix in ["", "-shuffled"] {
            try run.post(web, visitor: run.visitor("web" + suffix),
                         [.init("w11", "view", at: t, session: "c3", #""url":"https://shop.example/cart""#)])
            run.amend(visitor: run.visitor("web" + suffix)) { $0[$0.count - 1].events.append("w11") }
            try run.post(phone, visitor: run.visitor("mobile" + suffix), [.init("m26", "view", at: t, #""name":"Orders""#)])
            run.amend(visitor: run.visitor("mobile" + suffix)) {
                $0[$0.count - 1].events.append("m26")
                $0[$0.count - 1].counts["views", default: 0] += 1
            }
            // More than 30 s after p12 sent it to background (its session was seen completed by
            // then): a new session after the completed one.
            try run.post(mini, visitor: run.visitor("mini" + suffix), [
                .init("p13", "app_foreground", at: t),
                .init("p14", "view", at: t + 1, #""name":"pages/index""#),
            ])
            run.amend(visitor: run.visitor("mini" + suffix)) { $0.append(.init(["p13", "p14"], end: nil)) }
        }
        for (app, visitor, expected) in run.recheck {
            let settled = run.settle(app: app, visitor: visitor, expected)
            #expect(settled.problems.isEmpty, "\(visitor) after sessiond restarted:\n\(settled.problems.joined(separator: "\n"))")
        }
    }
}

// MARK: The scripted client

/// One event as a client script writes it; `ts` is absolute (epoch ms, computed from now).
struct ScriptedEvent {
    var id: String
    var type: String
    var ts: Int64
    /// The client session id, sent as the beacon's `session`: events with different ones go in
    /// different beacons.
    var session: String?
    /// The user tag the app had set, sent as the beacon's `user`.
    var user: String?
    /// Further members of the event object as JSON text, e.g. `"status":500`.
    var more: String

    init(_ id: String, _ type: String, at ts: Int64, session: String? = nil, user: String? = nil, _ more: String = "") {
        self.id = id
        self.type = type
        self.ts = ts
        self.session = session
        self.user = user
        self.more = more
    }

    func json(clockOffset: Int64) -> String {
        #"{"id":"\#(id)","type":"\#(type)","ts":\#(ts + clockOffset)"# + (more.isEmpty ? "" : "," + more) + "}"
    }
}

/// Builds beacons of one app and platform and posts them to the collector like an SDK would.
struct ScriptedClient {
    let port: UInt16
    let app: String
    let platform: String
    let userAgent: String
    /// The beacon's `device` object as JSON text.
    let device: String
    /// How far the client's clock is ahead of the real one: added to every `ts` and to `sentAt`.
    var clockOffset: Int64 = 0

    struct Answer {
        var status: Int
        var accepted: Int
        var rejected: Int
        var body: String
    }

    /// One beacon per run of events with the same client session id and user tag, in the order given.
    /// `sentAt` is the client's clock at sending, so the collector corrects exactly `clockOffset`.
    func post(visitor: String, _ events: [ScriptedEvent]) throws -> [Answer] {
        var runs: [[ScriptedEvent]] = []
        for event in events {
            if let last = runs.last?.last, last.session == event.session, last.user == event.user {
                runs[runs.count - 1].append(event)
            } else {
                runs.append([event])
            }
        }
        return try runs.map { beacon in
            let session = (beacon[0].session.map { #","session":"\#($0)""# } ?? "") + (beacon[0].user.map { #","user":"\#($0)""# } ?? "")
            let body = #"{"app":"\#(app)","platform":"\#(platform)","visitor":"\#(visitor)"\#(session),"device":\#(device),"#
                + #""sentAt":\#(nowMilliseconds() + clockOffset),"events":[\#(beacon.map { $0.json(clockOffset: clockOffset) }.joined(separator: ","))]}"#
            let (status, text) = try httpRequest(port: port, path: "/v1/beacons",
                                                 headers: ["Content-Type: text/plain", "User-Agent: \(userAgent)"],
                                                 body: Array(body.utf8))
            let answer = jsonObject(text)
            return Answer(status: status, accepted: answer?["accepted"] as? Int ?? -1,
                          rejected: answer?["rejected"] as? Int ?? -1, body: text)
        }
    }
}

/// What a scenario expects of one session, in start order.
struct ExpectedSession {
    var events: [String]
    /// nil: still live.
    var end: String?
    var continued: Bool
    /// Entries of the session's `counts` to check (`events` is always checked).
    var counts: [String: Int]
    /// Entries of `healthReasons` to check.
    var reasons: [String: Int]
    /// Checked when set.
    var experience: String?

    init(_ events: [String], end: String?, continued: Bool = false, counts: [String: Int] = [:],
         reasons: [String: Int] = [:], experience: String? = nil) {
        self.events = events
        self.end = end
        self.continued = continued
        self.counts = counts
        self.reasons = reasons
        self.experience = experience
    }
}

/// One session as the query API answered it: the list entry, the single session's
/// `nextSessionId` and its flattened timeline.
struct ObservedSession {
    var summary: [String: Any]
    var next: String?
    var events: [String]

    var id: String { summary["id"] as? String ?? "" }
    var status: String? { summary["status"] as? String }
    var endReason: String? { summary["endReason"] as? String }
    var continued: Bool? { summary["continued"] as? Bool }
    var previous: String? { summary["previousSessionId"] as? String }
    func count(_ key: String) -> Int? { (summary["counts"] as? [String: Any])?[key] as? Int }
    func reason(_ key: String) -> Int? { (summary["healthReasons"] as? [String: Any])?[key] as? Int }

    /// Everything that must not depend on arrival order and batching: all but the generated
    /// ids, the visitor and the revision.
    var orderIndependent: NSDictionary {
        var fields = summary
        for key in ["id", "visitor", "revision", "previousSessionId"] { fields[key] = nil }
        return fields as NSDictionary
    }
}

/// One pair of processes and what the scripts posted to it.
struct ScriptRun {
    let collectorPort: UInt16
    let queryPort: UInt16
    let label: String
    var seed: UInt64
    /// How to replay the shuffles of this run.
    let replay: String
    /// Events the collector answered as accepted, over every beacon posted.
    var accepted = 0
    /// Accepted events that were posted before (a client's retry): stored as duplicates.
    var duplicates = 0
    /// Every visitor checked, with its expected sessions: checked again once everything is stored.
    var recheck: [(app: String, visitor: String, expected: [ExpectedSession])] = []

    func client(app: String, platform: String, userAgent: String, device: String) -> ScriptedClient {
        ScriptedClient(port: collectorPort, app: app, platform: platform, userAgent: userAgent, device: device)
    }

    var browser: ScriptedClient {
        client(app: "shop", platform: "web", userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
               device: #"{"browser":"Firefox","browserVersion":"128.0","os":"Linux","deviceType":"desktop"}"#)
    }

    /// Native apps and servers send their own User-Agent; only web beacons must look like a browser.
    var phone: ScriptedClient {
        client(app: "phone", platform: "mobile", userAgent: "okhttp/4.12.0",
               device: #"{"os":"Android","osVersion":"15","deviceType":"phone","appVersion":"4.2.0"}"#)
    }

    var miniProgram: ScriptedClient {
        client(app: "mini", platform: "miniprogram", userAgent: "Mozilla/5.0 (Linux; Android 15) MicroMessenger/8.0.50 miniProgram",
               device: #"{"os":"Android","deviceType":"phone"}"#)
    }

    var service: ScriptedClient {
        client(app: "server", platform: "custom", userAgent: "checkout-service/2.3 (Linux)", device: #"{"os":"Linux","appVersion":"2.3.0"}"#)
    }

    func visitor(_ name: String) -> String { "\(label)-\(name)" }

    /// Changes what `visitor` is expected to hold from now on.
    mutating func amend(visitor: String, _ change: (inout [ExpectedSession]) -> Void) {
        for index in recheck.indices where recheck[index].visitor == visitor { change(&recheck[index].expected) }
    }

    /// Posts and checks every beacon got 202 with every event accepted (unless `expectAccepted`
    /// is false: a bot's beacon).
    @discardableResult
    mutating func post(_ client: ScriptedClient, visitor: String, _ events: [ScriptedEvent],
                       expectAccepted: Bool = true) throws -> [ScriptedClient.Answer] {
        let answers = try client.post(visitor: visitor, events)
        for answer in answers {
            #expect(answer.status == 202, "\(visitor): \(answer.body)")
            if expectAccepted { #expect(answer.rejected == 0, "\(visitor): \(answer.body)") }
            accepted += max(0, answer.accepted)
        }
        return answers
    }

    /// Posts the events shuffled, in beacons of random sizes up to 2, 5 or 25 events (small
    /// beacons make sessiond recompute more often), and returns the visitor.
    mutating func postShuffled(_ client: ScriptedClient, visitor: String, _ events: [ScriptedEvent]) throws -> String {
        var random = SplitMix64(seed: seed)
        let largest = [2, 5, 25][Int(seed % 3)]
        seed &+= 1
        var rest = events.shuffled(using: &random)[...]
        while !rest.isEmpty {
            let size = Int.random(in: 1...largest, using: &random)
            try post(client, visitor: visitor, Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return visitor
    }

    /// Polls the query API until the visitor's sessions are `expected` (≤ 30 s: delivery in spool
    /// mode, completion by sessiond's tick); returns the last observation and what differs.
    func settle(app: String, visitor: String, _ expected: [ExpectedSession]) -> (sessions: [ObservedSession], problems: [String]) {
        let deadline = Date().addingTimeInterval(30)
        var last: (sessions: [ObservedSession], problems: [String]) = ([], ["never queried"])
        repeat {
            do {
                let sessions = try observe(app: app, visitor: visitor)
                last = (sessions, sessionDifferences(sessions, expected))
            } catch {
                last = ([], ["\(error)"])
            }
            if last.problems.isEmpty { break }
            usleep(100_000)
        } while Date() < deadline
        return last
    }

    /// Both visitors must settle to `expected` and agree on every order-independent field.
    /// Returns the sessions of `visitor` (the in-order one).
    @discardableResult
    mutating func expectSessions(_ scenario: String, _ app: String, visitor: String, shuffled: String,
                        _ expected: [ExpectedSession]) -> [ObservedSession] {
        recheck += [(app, visitor, expected), (app, shuffled, expected)]
        let inOrder = settle(app: app, visitor: visitor, expected)
        #expect(inOrder.problems.isEmpty, "\(scenario) [\(label)], posted in order:\n\(inOrder.problems.joined(separator: "\n"))")
        let other = settle(app: app, visitor: shuffled, expected)
        #expect(other.problems.isEmpty, "\(scenario) [\(label)], shuffled and re-batched (\(replay)):\n\(other.problems.joined(separator: "\n"))")
        if inOrder.problems.isEmpty && other.problems.isEmpty {
            for (a, b) in zip(inOrder.sessions, other.sessions) where !a.orderIndependent.isEqual(b.orderIndependent) {
                Issue.record("\(scenario) [\(label)]: the same events gave different summaries:\n\(a.orderIndependent)\n\(b.orderIndependent)")
            }
        }
        return inOrder.sessions
    }

    /// The visitor's sessions in start order, each with its timeline's event ids.
    func observe(app: String, visitor: String) throws -> [ObservedSession] {
        let (status, text) = try httpRequest(port: queryPort, method: "GET", path: "/v1/visitors/\(visitor)/sessions?app=\(app)&limit=500")
        guard status == 200, let list = jsonObject(text)?["sessions"] as? [[String: Any]] else {
            throw ProbeError(message: "GET sessions of \(visitor): \(status) \(text.prefix(300))")
        }
        var sessions: [ObservedSession] = []
        for summary in list {
            let id = summary["id"] as? String ?? ""
            let (detailStatus, detail) = try httpRequest(port: queryPort, method: "GET", path: "/v1/sessions/\(id)")
            guard detailStatus == 200, let answer = jsonObject(detail), let timeline = answer["timeline"] as? [[String: Any]] else {
                throw ProbeError(message: "GET session \(id): \(detailStatus) \(detail.prefix(300))")
            }
            sessions.append(ObservedSession(summary: summary, next: answer["nextSessionId"] as? String,
                                            events: timelineEventIDs(timeline)))
        }
        return sessions.sorted {
            let (a, b) = ($0.summary["startedAt"] as? Int ?? 0, $1.summary["startedAt"] as? Int ?? 0)
            return a != b ? a < b : $0.id < $1.id
        }
    }
}

/// Event ids of a timeline, children of actions included.
func timelineEventIDs(_ timeline: [[String: Any]]) -> [String] {
    timeline.flatMap { node in
        [node["id"] as? String ?? "?"] + timelineEventIDs(node["children"] as? [[String: Any]] ?? [])
    }
}

/// What differs between the observed sessions and the expected ones; empty when they match.
func sessionDifferences(_ observed: [ObservedSession], _ expected: [ExpectedSession]) -> [String] {
    func describe(_ ids: [String]) -> String {
        let sorted = ids.sorted()
        return sorted.count <= 8 ? sorted.joined(separator: " ") : sorted.prefix(6).joined(separator: " ") + " …(\(sorted.count))"
    }
    guard observed.count == expected.count else {
        let seen = observed.map { "[\(describe($0.events))] \($0.endReason ?? $0.status ?? "?")" }.joined(separator: " | ")
        return ["\(observed.count) sessions, expected \(expected.count): \(seen)"]
    }
    var problems: [String] = []
    for (index, (got, want)) in zip(observed, expected).enumerated() {
        let name = "session \(index + 1) [\(describe(want.events))]"
        if got.events.sorted() != want.events.sorted() { problems.append("\(name) holds [\(describe(got.events))]") }
        if let end = want.end {
            if got.status != "completed" || got.endReason != end {
                problems.append("\(name) is \(got.status ?? "?") with end reason \(got.endReason ?? "null"), expected \(end)")
            }
        } else if got.status != "live" {
            problems.append("\(name) is \(got.status ?? "?") (\(got.endReason ?? "-")), expected live")
        }
        if got.continued != want.continued { problems.append("\(name) continued \(String(describing: got.continued))") }
        let previous = index == 0 ? nil : observed[index - 1].id
        if got.previous != previous {
            problems.append("\(name) previousSessionId \(got.previous ?? "null"), expected \(previous ?? "null")")
        }
        let next = index + 1 < observed.count ? observed[index + 1].id : nil
        if got.next != next { problems.append("\(name) nextSessionId \(got.next ?? "null"), expected \(next ?? "null")") }
        for (key, value) in want.counts.merging(["events": want.events.count], uniquingKeysWith: { a, _ in a })
        where got.count(key) != value {
            problems.append("\(name) counts.\(key) \(got.count(key).map(String.init) ?? "missing"), expected \(value)")
        }
        for (key, value) in want.reasons where got.reason(key) != value {
            problems.append("\(name) healthReasons.\(key) \(got.reason(key).map(String.init) ?? "missing"), expected \(value)")
        }
        if let experience = want.experience, got.summary["experience"] as? String != experience {
            problems.append("\(name) experience \(String(describing: got.summary["experience"])), expected \(experience)")
        }
    }
    return problems
}

struct ProbeError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

func jsonObject(_ text: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
}

/// The value of one Prometheus sample (`name{labels}`) on `/metrics`.
func metricValue(port: UInt16, _ sample: String) throws -> Int? {
    let (_, text) = try httpRequest(port: port, method: "GET", path: "/metrics")
    return text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }
        .flatMap { Double($0.dropFirst(sample.count + 1)) }.flatMap { Int(exactly: $0) }
}

/// A small seeded generator, so a shuffled order can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private let second: Int64 = 1000
private let minute: Int64 = 60 * second
private let hour: Int64 = 60 * minute
