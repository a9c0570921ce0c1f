import Model
import Testing
@testable import Beacon

@Suite struct AddressMaskingTests {
    @Test(arguments: [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        ("2001:db8:abcd:1234:5678::1", "2001:db8:abcd::"),
        ("2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", "2001:db8:abcd::"),
        ("::ffff:198.51.100.9", "198.51.100.0"),     // IPv4-mapped: masked as IPv4 /24
        ("::1", "::"),
        ("fe80::1", "fe80::"),
    ])
    func masks(address: String, expected: String) throws {
        let parsed = try #require(IPAddress(address))
        #expect(parsed.masked.description == expected)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.256", "abc", "1.2.3.4.5", "2001:db8::1::2", "[::1]", "::1%eth0"])
    func rejectsNonAddresses(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func mappedAndPlainIPv4AreTheSameAddress() {
        #expect(IPAddress("::ffff:10.0.0.1") == IPAddress("10.0.0.1"))
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes[10] = 0xFF; bytes[11] = 0xFF; bytes[12] = 10; bytes[15] = 1
        #expect(IPAddress(v6Bytes: bytes) == IPAddress("10.0.0.1"))
    }
}

@Suite struct TrustedProxyTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.255.1.2", true), ("10.0.0.0/8", "11.0.0.1", false),
        ("192.168.1.7", "192.168.1.7", true), ("192.168.1.7", "192.168.1.8", false),
        ("fd00::/8", "fdab::1", true), ("fd00::/8", "fe00::1", false),
        ("2001:db8::/96", "2001:db8::ffff:1", true), ("2001:db8::/96", "2001:db8:0:0:1::1", false),
        ("0.0.0.0/0", "8.8.8.8", true), ("0.0.0.0/0", "::1", false),
        ("::ffff:10.0.0.0/104", "10.9.9.9", true), ("10.0.0.0/8", "::ffff:10.1.1.1", true),
    ])
    func cidrMembership(block: String, address: String, expected: Bool) throws {
        let cidr = try #require(CIDR(block))
        #expect(cidr.contains(try #require(IPAddress(address))) == expected)
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/x", "example.com", "10.0.0.0/8/1"])
    func invalidBlocks(text: String) {
        #expect(CIDR(text) == nil)
    }

    @Test func parsesAListAndNamesTheBadEntry() throws {
        let proxies = try TrustedProxies.parse(" 10.0.0.0/8, ::1 ,").get()
        #expect(proxies.blocks.count == 2)
        #expect(TrustedProxies.parse("10.0.0.0/8,lb.internal") == .failure(.invalidProxyEntry("lb.internal")))
    }
}

@Suite struct ForwardedForTests {
    static let proxies = try! TrustedProxies.parse("10.0.0.0/8, fd00::/8").get()

    func resolve(peer: String, _ headers: [String]) -> String {
        ClientAddress.resolve(peer: IPAddress(peer)!, forwardedFor: headers.map { Substring($0) },
                              trusted: Self.proxies).description
    }

    @Test func untrustedPeerIgnoresTheHeader() {
        #expect(resolve(peer: "198.51.100.1", ["203.0.113.5"]) == "198.51.100.1")
    }

    @Test func trustedPeerUsesTheRightmostUntrustedEntry() {
        // The client wrote "1.1.1.1" itself (spoofable); the proxy appended the real address.
        #expect(resolve(peer: "10.0.0.2", ["1.1.1.1, 203.0.113.5"]) == "203.0.113.5")
        #expect(resolve(peer: "10.0.0.2", ["1.1.1.1, 203.0.113.5, 10.0.0.9"]) == "203.0.113.5")
        #expect(resolve(peer: "10.0.0.2", ["1.1.1.1", "203.0.113.5, 10.3.3.3"]) == "203.0.113.5")
    }

    @Test func portsAndBracketsAreUnderstood() {
        #expect(resolve(peer: "10.0.0.2", ["203.0.113.5:41234"]) == "203.0.113.5")
        #expect(resolve(peer: "fd00::2", ["[2001:db8::7]:443"]) == "2001:db8::7")
        #expect(resolve(peer: "::ffff:10.0.0.2", ["2001:db8::7"]) == "2001:db8::7")
    }

    @Test func garbageStopsAtTheLastGoodHop() {
        #expect(resolve(peer: "10.0.0.2", ["unknown"]) == "10.0.0.2")
        #expect(resolve(peer: "10.0.0.2", ["203.0.113.5, nonsense, 10.0.0.7"]) == "10.0.0.7")
    }

    @Test func allTrustedGivesTheLeftmost() {
        #expect(resolve(peer: "10.0.0.2", ["10.0.0.5, 10.0.0.6"]) == "10.0.0.5")
        #expect(resolve(peer: "10.0.0.2", []) == "10.0.0.2")
    }
}

@Suite struct QueryScrubberTests {
    let scrubber = QueryScrubber()

    @Test(arguments: [
        ("https://a.example/reset?token=abc123&lang=en", "https://a.example/reset?token=REDACTED&lang=en"),
        ("https://a.example/?lang=en&Email=x%40y.com", "https://a.example/?lang=en&Email=REDACTED"),
        ("https://a.example/?PASSWORD=hunter2#top", "https://a.example/?PASSWORD=REDACTED#top"),
        ("/login?%74oken=abc", "/login?%74oken=REDACTED"),
        ("https://a.example/a;b?x=1;token=2", "https://a.example/a;b?x=1;token=REDACTED"),
        ("https://a.example/#/reset?token=abc&x=1", "https://a.example/#/reset?token=REDACTED&x=1"),
        ("https://a.example/?token=a&token=b", "https://a.example/?token=REDACTED&token=REDACTED"),
        ("https://a.example/?access_token=a.b.c&api_key=k", "https://a.example/?access_token=REDACTED&api_key=REDACTED"),
    ])
    func scrubs(url: String, expected: String) {
        #expect(scrubber.scrub(url) == expected)
    }

    @Test(arguments: [
        "https://a.example/path/token=abc",          // path, not query
        "https://a.example/?tokens=1&mytoken=2",     // other names
        "https://a.example/?token=&token",           // nothing to hide
        "https://a.example/?token=REDACTED",         // already scrubbed
        "https://a.example/plain",
        "",
        "?",
        "?=x&&=",
        "https://a.example/?x=%",
    ])
    func leavesAlone(url: String) {
        #expect(scrubber.scrub(url) == url)
    }

    @Test func configurableNames() {
        let custom = QueryScrubber(names: ["Order_ID"])
        #expect(custom.scrub("/p?order_id=42&token=t") == "/p?order_id=REDACTED&token=t")
        #expect(QueryScrubber(names: []).scrub("/p?token=t") == "/p?token=t")
    }

    @Test func nonASCIIValuesAndNamesSurvive() {
        #expect(scrubber.scrub("/ü?名前=値&email=ü@x") == "/ü?名前=値&email=REDACTED")
    }
}
