import Model
import Testing
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

@Test func miniProgramAndCustomDefaultsFollowTheBrief() {
    let mini = SessionRules.defaults(for: .miniProgram)
    #expect(mini.backgroundTimeout == 30 * second)
    #expect(mini.inactivityTimeout == 30 * minute)
    #expect(mini.maxDuration == nil)
    #expect(mini.lateness == 24 * hour)
    let custom = SessionRules.defaults(for: .custom)
    #expect(custom.inactivityTimeout == 30 * minute)
    #expect(custom.heartbeatTimeout == 5 * minute)
    #expect(custom.maxDuration == 8 * hour)
    #expect(custom.lateness == 15 * minute)
}

@Test(arguments: Platform.allCases)
func ratingDefaultsFollowTheBrief(_ platform: Platform) {
    let rules = SessionRules.defaults(for: platform)
    #expect(rules.apdexThreshold == 3 * second)
    #expect(rules.toleratingFactor == 4)
    #expect(rules.frustratedShare == 0.30)
    #expect(rules.satisfiedShare == 0.50)
}
