// The one Prometheus registry of both daemons (text exposition format 0.0.4): counters, gauges
// and fixed-bucket histograms, each optionally labelled. Each daemon's /metrics renders one.
import Synchronization

/// A monotonically increasing count.
public final class Counter: Sendable {
    private let storage = Atomic<UInt64>(0)
    init() {}
    public func increment(by amount: UInt64 = 1) {
        storage.wrappingAdd(amount, ordering: .relaxed)
    }
    public var value: UInt64 { storage.load(ordering: .relaxed) }

    /// Raises the count to `total` (never lowers it): for totals kept elsewhere, copied at scrape time.
    public func advance(to total: UInt64) {
        var current = storage.load(ordering: .relaxed)
        while current < total {
            let (exchanged, original) = storage.compareExchange(expected: current, desired: total, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

/// A value that goes up and down.
public final class Gauge: Sendable {
    private let storage = Mutex<Double>(0)
    init() {}
    public func set(_ value: Double) { storage.withLock { $0 = value } }
    public func add(_ amount: Double) { storage.withLock { $0 += amount } }
    public var value: Double { storage.withLock { $0 } }
}

/// Observations counted into fixed upper bounds, so histograms of several processes or shards
/// merge by adding bucket counts.
public final class Histogram: Sendable {
    public let bounds: [Double]
    private struct State {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }
    private let state: Mutex<State>

    init(bounds: [Double]) {
        self.bounds = bounds
        state = Mutex(State(counts: [UInt64](repeating: 0, count: bounds.count)))
    }

    /// Records `value` once, or `times` times (one commit of many events, say).
    public func observe(_ value: Double, times: UInt64 = 1) {
        // First bucket whose upper bound holds the value; the +Inf bucket is `count`.
        let index = bounds.firstIndex { value <= $0 }
        state.withLock { s in
            if let index { s.counts[index] &+= times }
            s.sum += value * Double(times)
            s.count &+= times
        }
    }

    /// The smallest bucket bound holding at least `q` of the observations (an upper estimate);
    /// +Inf when only the +Inf bucket does, nil without observations.
    public func quantile(_ q: Double) -> Double? {
        let snap = snapshot
        guard snap.count > 0 else { return nil }
        let rank = UInt64((q * Double(snap.count)).rounded(.up))
        for (i, c) in snap.cumulative.enumerated() where c >= rank { return bounds[i] }
        return .infinity
    }

    /// Cumulative counts per bound (as exposed), then the total count and the sum.
    public var snapshot: (cumulative: [UInt64], count: UInt64, sum: Double) {
        state.withLock { s in
            var running: UInt64 = 0
            let cumulative = s.counts.map { running &+= $0; return running }
            return (cumulative, s.count, s.sum)
        }
    }
}

/// Holds every metric of a process and renders them for `/metrics`.
public final class MetricsRegistry: Sendable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    private enum Series: Sendable {
        case counter(Counter)
        case gauge(Gauge)
        case histogram(Histogram)
    }

    private struct Family: Sendable {
        var kind: Kind
        var help: String
        var series: [(labels: String, metric: Series)]
    }

    private struct State: Sendable {
        var order: [String] = []
        var families: [String: Family] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// The counter `name` with `labels`, created on first use. Asking again returns the same one.
    public func counter(_ name: String, help: String, labels: [(String, String)] = []) -> Counter {
        let series = register(name, kind: .counter, help: help, labels: labels) { .counter(Counter()) }
        guard case let .counter(counter) = series else { preconditionFailure("metric \(name) is not a counter") }
        return counter
    }

    public func gauge(_ name: String, help: String, labels: [(String, String)] = []) -> Gauge {
        let series = register(name, kind: .gauge, help: help, labels: labels) { .gauge(Gauge()) }
        guard case let .gauge(gauge) = series else { preconditionFailure("metric \(name) is not a gauge") }
        return gauge
    }

    /// A histogram with fixed upper `bounds` (sorted ascending; +Inf is implied).
    public func histogram(_ name: String, help: String, bounds: [Double], labels: [(String, String)] = []) -> Histogram {
        let sorted = bounds.sorted()
        let series = register(name, kind: .histogram, help: help, labels: labels) { .histogram(Histogram(bounds: sorted)) }
        guard case let .histogram(histogram) = series else { preconditionFailure("metric \(name) is not a histogram") }
        return histogram
    }

    /// Declares the family `name` before its first series exists, so `/metrics` shows its HELP
    /// and TYPE (and keeps its place in the order) while it has no samples yet.
    public func declare(_ name: String, kind: Kind, help: String) {
        state.withLock { s in
            if let family = s.families[name] {
                precondition(family.kind == kind, "metric \(name) registered as \(family.kind), declared as \(kind)")
                return
            }
            s.order.append(name)
            s.families[name] = Family(kind: kind, help: help, series: [])
        }
    }

    private func register(_ name: String, kind: Kind, help: String, labels: [(String, String)],
                          make: () -> Series) -> Series {
        let key = Self.labelText(labels)
        return state.withLock { s in
            if var family = s.families[name] {
                // Programming error, not input: one name has one type.
                precondition(family.kind == kind, "metric \(name) registered as \(family.kind), asked as \(kind)")
                if let existing = family.series.first(where: { $0.labels == key }) { return existing.metric }
                let series = make()
                family.series.append((key, series))
                s.families[name] = family
                return series
            }
            let series = make()
            s.order.append(name)
            s.families[name] = Family(kind: kind, help: help, series: [(key, series)])
            return series
        }
    }

    /// `{a="1",b="2"}` with values escaped per the exposition format, or "" without labels.
    static func labelText(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        let parts = labels.map { name, value -> String in
            var escaped = ""
            for ch in value {
                switch ch {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.append(ch)
                }
            }
            return "\(name)=\"\(escaped)\""
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Adds `le` to a label text.
    private static func withBound(_ labels: String, _ bound: String) -> String {
        labels.isEmpty ? "{le=\"\(bound)\"}" : String(labels.dropLast()) + ",le=\"\(bound)\"}"
    }

    /// The Prometheus text exposition of every metric, in registration order.
    public func render() -> String {
        let families = state.withLock { s in s.order.compactMap { name in s.families[name].map { (name, $0) } } }
        var out = ""
        for (name, family) in families {
            out += "# HELP \(name) \(family.help.replacingBackslashesAndNewlines())\n"
            out += "# TYPE \(name) \(family.kind.rawValue)\n"
            for (labels, series) in family.series {
                switch series {
                case let .counter(counter):
                    out += "\(name)\(labels) \(counter.value)\n"
                case let .gauge(gauge):
                    out += "\(name)\(labels) \(Self.format(gauge.value))\n"
                case let .histogram(histogram):
                    let snap = histogram.snapshot
                    for (bound, count) in zip(histogram.bounds, snap.cumulative) {
                        out += "\(name)_bucket\(Self.withBound(labels, Self.format(bound))) \(count)\n"
                    }
                    out += "\(name)_bucket\(Self.withBound(labels, "+Inf")) \(snap.count)\n"
                    out += "\(name)_sum\(labels) \(Self.format(snap.sum))\n"
                    out += "\(name)_count\(labels) \(snap.count)\n"
                }
            }
        }
        return out
    }
}

extension String {
    /// HELP text escaping: backslash and newline.
    fileprivate func replacingBackslashesAndNewlines() -> String {
        var out = ""
        for ch in self {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}
