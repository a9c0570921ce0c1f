import Model
import Testing
@testable import Wire

@Test(arguments: Platform.allCases)
func platformNameRoundTrips(_ platform: Platform) {
    #expect(Platform(name: platform.name) == platform)
}

@Test(arguments: EventType.allCases)
func eventTypeNameRoundTrips(_ type: EventType) {
    #expect(EventType(name: type.name) == type)
}
