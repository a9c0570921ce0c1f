import Testing
@testable import Beacon

@Test func BeaconModuleBuilds() {
    #expect(Bool(true))
}
