import Testing
@testable import CollectorCore

@Test func CollectorCoreModuleBuilds() {
    #expect(Bool(true))
}
