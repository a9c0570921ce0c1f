import Model
import JSON
import Config

/// The invariants the fuzz targets (Tests/Fuzz/beacon, Tests/Fuzz/inflate) check on every
/// input, shared with the unit tests that replay the checked-in corpus. Each returns the
/// violated invariants (empty: all hold); the fuzz entry traps on a violation, a test fails.
public enum BeaconFuzzCheck {
    static let receivedAt: Int64 = 1_700_000_006_000

    public static func run(_ body: UnsafeRawBufferPointer) -> [String] {
        var problems: [String] = []
        let parser = BeaconParser()
        if let parsed = try? parser.parse(body, receivedAt: receivedAt) {
            let valid = parsed.envelope.events.count
            if parsed.validIndices.count != valid { problems.append("validIndices.count \(parsed.validIndices.count) != events \(valid)") }
            let all = (parsed.validIndices + parsed.invalid.map(\.index)).sorted()
            if all != Array(0..<all.count) { problems.append("event indices are not 0..<n exactly once") }
            let total = all.count
            let decision = EventDecisions.decide(parsed, rules: SessionRules.defaults(for: .web))
            if decision.beacon.events.count + decision.rejections.count != total {
                problems.append("accepted + rejected != events")
            }
            if Set(decision.beacon.events.map(\.id)).count != decision.beacon.events.count {
                problems.append("accepted events with duplicate ids")
            }
            let answer = AnswerBody.accepted(decision)
            switch Result(catching: { () throws(JSONError) in try JSONValue.parse(answer) }) {
            case .success(let value):
                if value["accepted"]?.int64Value != Int64(decision.beacon.events.count)
                    || value["rejected"]?.int64Value != Int64(decision.rejections.count) {
                    problems.append("answer counts differ from the decision")
                }
            case .failure(let error):
                problems.append("answer is not JSON: \(error)")
            }
            let scrubber = QueryScrubber()
            for event in decision.beacon.events {
                guard let url = event.url else { continue }
                let once = scrubber.scrub(url)
                if scrubber.scrub(once) != once { problems.append("scrubbing is not idempotent on \(url)") }
            }
        }
        var ingest = BeaconAdmission()
        let response = ingest.handle(
            BeaconRequest(body: body, contentType: "application/json", userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
                          peer: .v4(0x0A00_0001), receivedAt: receivedAt, monotonicNow: 0),
            lookup: { _ in AdmittedApp() })
        if ![202, 400, 413].contains(response.status) { problems.append("unexpected status \(response.status)") }
        if (try? JSONValue.parse(response.body)) == nil { problems.append("response body is not JSON") }
        return problems
    }
}

public enum InflateFuzzCheck {
    public static let limits = InflateLimits(maxInflatedBytes: 256 << 10, maxRatio: 50, ratioFloor: 64 << 10)

    public static func run(_ input: UnsafeRawBufferPointer) -> [String] {
        var problems: [String] = []
        var output: [UInt8] = []
        for encoding in [ContentEncoding.gzip, .deflate] {
            do throws(BeaconError) {
                try Inflate.inflate(input, encoding: encoding, limits: limits, into: &output)
                if output.count > limits.maxInflatedBytes { problems.append("\(encoding): output past the bound") }
                if try Inflate.inflate(Array(input), encoding: encoding, limits: limits) != output {
                    problems.append("\(encoding): array and buffer inflation differ")
                }
            } catch {
                if ![400, 413].contains(error.status) { problems.append("\(encoding): status \(error.status) for \(error)") }
            }
            if output.capacity > limits.maxInflatedBytes + (64 << 10) {
                problems.append("\(encoding): buffer grew to \(output.capacity) bytes")
            }
        }
        return problems
    }
}
