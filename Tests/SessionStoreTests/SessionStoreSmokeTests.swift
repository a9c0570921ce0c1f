import Testing
@testable import SessionStore

@Test func SessionStoreModuleBuilds() {
    #expect(Bool(true))
}
