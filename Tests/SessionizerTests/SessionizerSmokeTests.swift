import Testing
@testable import Sessionizer

@Test func SessionizerModuleBuilds() {
    #expect(Bool(true))
}
