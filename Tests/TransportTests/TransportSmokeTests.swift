import Testing
@testable import Transport

@Test func TransportModuleBuilds() {
    #expect(Bool(true))
}
