import Testing
import Wire
@testable import SessiondCore

@Suite struct StatsTests {
    @Test func bucketBoundsGrowByAQuarterOctave() {
        let b = DurationHistogram.lowerBounds
        #expect(b.count == DurationHistogram.bucketCount - 1)
        #expect(b.first == 100 && b[4] == 200 && b[8] == 400 && b.last == 100 << 20)
        #expect(zip(b, b.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test(arguments: [(Int64(-5), 0), (0, 0), (99, 0), (100, 1), (118, 1), (119, 2), (200, 5), (Int64.max, 81)])
    func bucketOf(_ duration: Int64, _ bucket: Int) {
        #expect(DurationHistogram.bucket(for: duration) == bucket)
    }

    @Test func quantilesAreWithinTenPercent() {
        var h = DurationHistogram()
        let durations = (1...1000).map { Int64($0) * 997 % 600_000 + 150 }
        for d in durations { h.add(d) }
        let sorted = durations.sorted()
        for q in [0.5, 0.9] {
            let exact = Double(sorted[Int((q * 1000).rounded(.up)) - 1])
            let estimate = Double(h.quantile(q) ?? 0)
            #expect(abs(estimate - exact) / exact < 0.10, "q=\(q) exact=\(exact) estimate=\(estimate)")
        }
        #expect(DurationHistogram().quantile(0.5) == nil)
    }

    func session(_ i: Int, start: Int64) -> SessionInfo {
        var s = SessionInfo(id: "s\(i)", app: "shop", platform: .web, visitor: "v\(i % 7)", startedAt: start,
                            endedAt: start + Int64(i % 13) * 1000, live: i % 5 == 0,
                            endReason: i % 5 == 0 ? nil : SessionVocabulary.endReasons[i % 11],
                            experience: [nil, "satisfied", "tolerating", "frustrated"][i % 4], abnormal: i % 3 == 0)
        s.entryPage = "/p\(i % 4)"
        s.exitPage = "/x\(i % 3)"
        return s
    }

    @Test func partialsOfShardsMergeToTheWhole() throws {
        let from: Int64 = 1_000_000_000
        let to = from + 6 * 3_600_000
        var whole = StatsPartial(from: from, to: to, interval: 3_600_000)
        var shards = [StatsPartial](repeating: StatsPartial(from: from, to: to, interval: 3_600_000), count: 3)
        for i in 0..<300 {
            let s = session(i, start: from + Int64(i) * 71_000)
            whole.add(s)
            shards[i % 3].add(s)
            let message = "E\(i % 6)"
            whole.addErrors(message: message)
            shards[(i + 1) % 3].addErrors(message: message)
        }
        for (index, orphans) in [4, 0, 9].enumerated() {
            shards[index].orphanHeartbeats = Int64(orphans)
            whole.orphanHeartbeats += Int64(orphans)
        }
        var merged = StatsPartial(from: from, to: to, interval: 3_600_000)
        for shard in shards.reversed() { try merged.merge(shard) }
        #expect(merged == whole)
        #expect(merged.statsBody(top: 5) == whole.statsBody(top: 5))
        var other = StatsPartial(from: from, to: to, interval: 60_000)
        #expect(throws: StatsPartial.MergeError.differentRange) { try other.merge(whole) }
    }

    @Test func statsBodyListsEveryBucketAndTopKeys() throws {
        let from: Int64 = 7_200_000 + 1234
        var p = StatsPartial(from: from, to: from + 3 * 3_600_000, interval: 3_600_000)
        for i in 0..<10 { p.add(session(i, start: from + Int64(i) * 60_000)) }
        p.addErrors(message: "b", count: 3)
        p.addErrors(message: "a", count: 3)
        p.addErrors(message: "c", count: 1)
        let body = try object(p.statsBody(top: 2))
        let series = try #require(body["series"] as? [[String: Any]])
        #expect(series.map { $0["start"] as? Int } == [7_200_000, 10_800_000, 14_400_000, 18_000_000].map(Optional.some))
        #expect(series.compactMap { $0["sessions"] as? Int }.reduce(0, +) == 10)
        #expect(body["sessions"] as? Int == 10)
        let top = try #require(body["topErrors"] as? [[String: Any]])
        #expect(top.map { $0["key"] as? String } == ["a", "b"])
        let exp = try #require(body["experience"] as? [String: Int])
        #expect(exp.values.reduce(0, +) == 10)
        #expect((body["duration"] as? [String: Any])?["median"] is Int)
        let partial = try object(p.partialBody)
        #expect((partial["durationHistogram"] as? [Int])?.count == DurationHistogram.bucketCount)
        #expect(partial["version"] as? Int == 1)
    }

    @Test func bucketsAlignToTheEpochForNegativeTimes() {
        let p = StatsPartial(from: -10_000, to: 0, interval: 3000)
        #expect(p.bucketStart(-1) == -3000)
        #expect(p.bucketStart(-3000) == -3000)
        #expect(p.bucketStart(2999) == 0)
    }

    @Test func userCountBody() throws {
        let body = try object(ResponseBody.userCount(perApp: ["shop": 3, "blog": 2], asOf: 5, window: 60_000))
        #expect(body["count"] as? Int == 5)
        #expect(body["window"] as? Int == 60_000)
        #expect((body["apps"] as? [String: Int]) == ["shop": 3, "blog": 2])
    }
}
