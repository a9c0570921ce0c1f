import Beacon
import Foundation

/// `clickpath-bench device [--agents FILE]`: the device rules on distinct User-Agents (uncached:
/// one `DeviceRules.derive` each) against the per-loop cache on repeated ones, same run. FILE
/// holds one User-Agent a line; without it, a built-in handful of common browsers' agents.
/// Wall time on the calling thread.
enum DeviceBench {
    static let common = [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
    ]

    static func run(_ arguments: [String]) -> Int32 {
        var agents = common
        if let index = arguments.firstIndex(of: "--agents"), index + 1 < arguments.count {
            guard let text = try? String(contentsOfFile: arguments[index + 1], encoding: .utf8) else {
                print("bench device: cannot read \(arguments[index + 1])")
                return 1
            }
            agents = Array(Set(text.split(separator: "\n").map(String.init)))
        }
        let rules = DeviceRules.builtIn
        let clock = ContinuousClock()
        func nanoseconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
        }
        var sink = 0
        let rounds = max(1, 30_000 / agents.count)
        let uncached = clock.measure {
            for _ in 0..<rounds { for agent in agents { sink &+= rules.derive(agent).browser?.utf8.count ?? 0 } }
        }
        var cache = DeviceCache(capacity: max(4096, agents.count))
        for agent in agents { _ = cache.device(for: agent) { rules.derive(agent) } }
        let cached = clock.measure {
            for _ in 0..<rounds { for agent in agents { sink &+= cache.device(for: agent) { rules.derive(agent) }.os?.utf8.count ?? 0 } }
        }
        let calls = Double(rounds * agents.count)
        let bytes = agents.map(\.utf8.count).reduce(0, +) / agents.count
        print("bench device: \(agents.count) distinct User-Agents (mean \(bytes) B), \(rounds) rounds (checksum \(sink))")
        print("bench device: uncached derive \(String(format: "%.2f", nanoseconds(uncached) / calls / 1000)) µs per User-Agent")
        print("bench device: cached lookup   \(String(format: "%.0f", nanoseconds(cached) / calls)) ns per User-Agent")
        return 0
    }
}
