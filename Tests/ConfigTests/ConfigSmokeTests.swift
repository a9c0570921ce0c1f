import Testing
import Wire
@testable import Config

@Test func webDefaultsFollowTheBrief() {
    let web = SessionRules.defaults(for: .web)
    #expect(web.inactivityTimeout == 30 * minute)
    #expect(web.maxDuration == 8 * hour)
    #expect(web.maxActions == 200)
    #expect(web.lateness == 15 * minute)
}

@Test func mobileDefaultsFollowTheBrief() {
    let mobile = SessionRules.defaults(for: .mobile)
    #expect(mobile.backgroundTimeout == 30 * second)
    #expect(mobile.inactivityTimeout == 10 * minute)
    #expect(mobile.backstop == 24 * hour)
    #expect(mobile.lateness == 24 * hour)
}
