import Model
import Testing
@testable import Beacon

@Suite struct CORSTests {
    let policy = CORSPolicy(allowedOrigins: ["https://shop.example.com/", "https://*.example.org", "http://localhost:3000"])

    @Test(arguments: [
        ("https://shop.example.com", true), ("HTTPS://Shop.Example.com", true),
        ("http://shop.example.com", false), ("https://shop.example.com.evil.net", false),
        ("https://a.example.org", true), ("https://a.b.example.org", true),
        ("https://example.org", false), ("https://evilexample.org", false), ("http://a.example.org", false),
        ("http://localhost:3000", true), ("http://localhost:3001", false), ("null", false),
    ])
    func originMatching(origin: String, allowed: Bool) {
        #expect(policy.allows(origin: origin) == allowed)
    }

    @Test func wildcardAllowsAnyOrigin() {
        let any = CORSPolicy(allowedOrigins: ["*"])
        #expect(any.allows(origin: "https://anything.test"))
        #expect(any.allows(origin: "null"))
        // Credentialed CORS never answers `*`: the origin itself is echoed.
        #expect(any.decide(origin: "https://anything.test") == .allowed(headers: CORSPolicy.answerHeaders(origin: "https://anything.test")))
        #expect(CORSPolicy.answerHeaders(origin: "https://anything.test").first == .init("Access-Control-Allow-Origin", "https://anything.test"))
    }

    @Test func emptyListRefusesBrowsersButNotServers() {
        let none = CORSPolicy(allowedOrigins: [])
        #expect(none.decide(origin: nil) == .notCORS)
        guard case .refused(let reason) = none.decide(origin: "https://a.test") else {
            Issue.record("allowed an origin with an empty list"); return
        }
        #expect(reason.contains("https://a.test"))
    }

    @Test func allowedPostGetsEchoedOriginAndVary() {
        #expect(policy.decide(origin: "https://a.example.org") == .allowed(headers: [
            .init("Access-Control-Allow-Origin", "https://a.example.org"),
            .init("Access-Control-Allow-Credentials", "true"),
            .init("Access-Control-Expose-Headers", "Retry-After"),
            .init("Vary", "Origin"),
        ]))
    }

    @Test func preflightAllowed() {
        let decision = policy.preflight(origin: "https://shop.example.com", requestMethod: "POST",
                                        requestHeaders: "Content-Type, X-Clickpath-Key")
        guard case .allowed(let headers) = decision else { Issue.record("\(decision)"); return }
        #expect(headers.contains(.init("Access-Control-Allow-Origin", "https://shop.example.com")))
        #expect(headers.contains(.init("Access-Control-Allow-Methods", "POST")))
        // sendBeacon always sends credentials: without this Chrome drops the POST.
        #expect(headers.contains(.init("Access-Control-Allow-Credentials", "true")))
        #expect(headers.contains(.init("Access-Control-Max-Age", "86400")))
        #expect(headers.contains { $0.name == "Access-Control-Allow-Headers" && $0.value.contains("X-Clickpath-Key") })
    }

    @Test(arguments: [
        ("https://evil.test", "POST", "content-type", "not in the app's allowedOrigins"),
        ("https://shop.example.com", "PUT", "", "only POST"),
        ("https://shop.example.com", nil, "", "only POST"),
        ("https://shop.example.com", "POST", "content-type, authorization", "\"authorization\" is not allowed"),
    ] as [(String, String?, String, String)])
    func preflightRefused(origin: String, method: String?, headers: String, reasonPart: String) {
        let decision = policy.preflight(origin: origin, requestMethod: method, requestHeaders: headers)
        guard case .refused(let reason) = decision else { Issue.record("\(decision)"); return }
        #expect(reason.contains(reasonPart), "\(reason)")
    }

    @Test func preflightWithoutOriginIsRefused() {
        #expect(policy.preflight(origin: nil, requestMethod: "POST", requestHeaders: nil)
                == .refused(reason: "a CORS preflight needs an Origin header"))
    }
}
