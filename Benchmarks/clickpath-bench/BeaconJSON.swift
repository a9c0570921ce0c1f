import Model
import SessiondCore
import Wire

/// A `Beacon` as a client would post it to `/v1/beacons` (absent fields left out), for loads
/// built from `SyntheticTraffic`.
enum BeaconJSON {
    static func encode(_ beacon: Beacon) -> [UInt8] {
        var w = JSONWriter(capacity: 2048)
        w.beginObject()
        w.field("app", beacon.app)
        w.field("platform", beacon.platform.name)
        w.field("visitor", beacon.visitor)
        optional(&w, "session", beacon.session)
        optional(&w, "user", beacon.user)
        if let device = beacon.device {
            w.key("device")
            w.beginObject()
            optional(&w, "browser", device.browser)
            optional(&w, "browserVersion", device.browserVersion)
            optional(&w, "os", device.os)
            optional(&w, "osVersion", device.osVersion)
            optional(&w, "deviceType", device.deviceType)
            optional(&w, "screen", device.screen)
            optional(&w, "appVersion", device.appVersion)
            w.endObject()
        }
        w.field("sentAt", beacon.sentAt)
        w.key("events")
        w.beginArray()
        for event in beacon.events { encode(event, &w) }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    private static func encode(_ event: Event, _ w: inout JSONWriter) {
        w.beginObject()
        w.field("id", event.id)
        w.field("type", event.type.name)
        w.field("ts", event.ts)
        if let duration = event.duration { w.field("duration", duration) }
        optional(&w, "name", event.name)
        optional(&w, "url", event.url)
        optional(&w, "parent", event.parent)
        if let status = event.status { w.field("status", Int64(status)) }
        optional(&w, "method", event.method)
        optional(&w, "message", event.message)
        optional(&w, "stack", event.stack)
        if let fatal = event.fatal { w.field("fatal", fatal) }
        if !event.timing.isEmpty { w.field("timing", numbers: event.timing) }
        if !event.props.isEmpty { w.field("props", props: event.props) }
        w.endObject()
    }

    private static func optional(_ w: inout JSONWriter, _ name: String, _ text: String?) {
        if let text { w.field(name, text) }
    }
}
