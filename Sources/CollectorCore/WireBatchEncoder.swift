// The production `BatchEncoder`: Wire's EventBatch frame, checksum included.
import Model
import Wire

public struct WireBatchEncoder: BatchEncoder {
    public let maxFrameLength: Int

    public init(maxFrameLength: Int = FrameHeader.defaultMaxFrameLength) {
        self.maxFrameLength = maxFrameLength
    }

    public func encode(id: BatchID, shard: String, beacons: [Beacon]) throws -> [UInt8] {
        try EventBatch(batchID: id, beacons: beacons).encodeFrame(maxFrameLength: maxFrameLength)
    }

    /// An upper estimate: every string at full length (the frame's string table only shrinks
    /// repeats) plus a few bytes of varints per field.
    public func estimatedSize(of beacon: Beacon) -> Int {
        var size = 24 &+ beacon.app.utf8.count &+ beacon.visitor.utf8.count
        for text in [beacon.session, beacon.user, beacon.clientAddress, beacon.userAgent] {
            size &+= (text?.utf8.count ?? 0) &+ 2
        }
        if let d = beacon.device {
            for text in [d.browser, d.browserVersion, d.os, d.osVersion, d.deviceType, d.screen, d.appVersion] {
                size &+= (text?.utf8.count ?? 0) &+ 2
            }
        }
        for event in beacon.events {
            size &+= 24 &+ event.id.utf8.count
            for text in [event.name, event.url, event.parent, event.method, event.message, event.stack] {
                size &+= (text?.utf8.count ?? 0) &+ 2
            }
            for (key, _) in event.timing { size &+= key.utf8.count &+ 11 }
            for (key, value) in event.props {
                size &+= key.utf8.count &+ 3
                if case let .string(text) = value { size &+= text.utf8.count &+ 2 } else { size &+= 9 }
            }
        }
        return size
    }
}

extension ShardAnswer {
    /// sessiond's `BatchAck` as the pipeline sees it.
    public init(_ ack: BatchAck) {
        switch ack.outcome {
        case .committed: self = .committed
        case .duplicate: self = .duplicate
        case .rejected: self = .rejected(reason: ack.reason.isEmpty ? "no reason given" : ack.reason)
        }
    }
}
