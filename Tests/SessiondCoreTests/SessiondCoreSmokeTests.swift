import Testing
@testable import SessiondCore

@Test func SessiondCoreModuleBuilds() {
    #expect(Bool(true))
}
