import Testing
import System

/// The one registry of both daemons' /metrics (moved here from CollectorCoreTests with the registry).
@Suite struct MetricsTests {
    @Test func rendersPrometheusTextExposition() {
        let registry = MetricsRegistry()
        registry.counter("requests_total", help: "Requests by status.", labels: [("status", "202")]).increment(by: 3)
        registry.counter("requests_total", help: "Requests by status.", labels: [("status", "503")]).increment()
        registry.gauge("spool_bytes", help: "Spool size.").set(1536)
        let histogram = registry.histogram("latency_seconds", help: "Latency.", bounds: [0.1, 0.01, 1])
        histogram.observe(0.005)
        histogram.observe(0.05)
        histogram.observe(0.05)
        histogram.observe(5)
        registry.counter("odd_total", help: "Back\\slash\nnewline.", labels: [("v", "a\"b\\c\nd")]).increment()
        #expect(registry.render() == """
            # HELP requests_total Requests by status.
            # TYPE requests_total counter
            requests_total{status="202"} 3
            requests_total{status="503"} 1
            # HELP spool_bytes Spool size.
            # TYPE spool_bytes gauge
            spool_bytes 1536
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="0.01"} 1
            latency_seconds_bucket{le="0.1"} 3
            latency_seconds_bucket{le="1"} 3
            latency_seconds_bucket{le="+Inf"} 4
            latency_seconds_sum 5.105
            latency_seconds_count 4
            # HELP odd_total Back\\\\slash\\nnewline.
            # TYPE odd_total counter
            odd_total{v="a\\"b\\\\c\\nd"} 1

            """)
    }

    @Test func askingAgainReturnsTheSameSeries() {
        let registry = MetricsRegistry()
        registry.counter("c", help: "h", labels: [("a", "1")]).increment()
        registry.counter("c", help: "h", labels: [("a", "1")]).increment()
        #expect(registry.counter("c", help: "h", labels: [("a", "1")]).value == 2)
        #expect(registry.counter("c", help: "h", labels: [("a", "2")]).value == 0)
    }

    @Test func countersAdvanceToATotalKeptElsewhereButNeverBack() {
        let counter = MetricsRegistry().counter("c", help: "h")
        counter.advance(to: 5)
        counter.advance(to: 3)
        #expect(counter.value == 5)
        counter.increment()
        counter.advance(to: 6)
        #expect(counter.value == 6)
    }

    @Test func labelledHistogramsAddTheBoundLabel() {
        let registry = MetricsRegistry()
        registry.histogram("h", help: "x", bounds: [1], labels: [("shard", "a")]).observe(0.5)
        #expect(registry.render().contains("h_bucket{shard=\"a\",le=\"1\"} 1\n"))
        #expect(registry.render().contains("h_count{shard=\"a\"} 1\n"))
    }

    @Test func histogramsCountRepeatedObservationsAndEstimateQuantiles() {
        let registry = MetricsRegistry()
        let histogram = registry.histogram("freshness_seconds", help: "h", bounds: [0.1, 0.25, 1])
        #expect(histogram.quantile(0.99) == nil)
        histogram.observe(0.05, times: 90)
        histogram.observe(0.2, times: 10)
        #expect(histogram.quantile(0.5) == 0.1)
        #expect(histogram.quantile(0.99) == 0.25)
        histogram.observe(7)
        #expect(histogram.quantile(1) == .infinity)
        #expect(registry.render().contains("freshness_seconds_bucket{le=\"0.25\"} 100\n"))
        #expect(registry.render().contains("freshness_seconds_count 101\n"))
    }

    @Test func aDeclaredFamilyShowsItsHeaderBeforeItsFirstSeriesAndKeepsItsPlace() {
        let registry = MetricsRegistry()
        registry.counter("first_total", help: "First.").increment()
        registry.declare("by_route_seconds", kind: .histogram, help: "By route.")
        registry.gauge("last", help: "Last.").set(2)
        #expect(registry.render() == """
            # HELP first_total First.
            # TYPE first_total counter
            first_total 1
            # HELP by_route_seconds By route.
            # TYPE by_route_seconds histogram
            # HELP last Last.
            # TYPE last gauge
            last 2

            """)
        registry.histogram("by_route_seconds", help: "", bounds: [1], labels: [("route", "GET /")]).observe(0.5)
        let text = registry.render()
        #expect(text.contains("# HELP by_route_seconds By route.\n# TYPE by_route_seconds histogram\nby_route_seconds_bucket{route=\"GET /\",le=\"1\"} 1\n"))
        #expect(text.hasSuffix("# HELP last Last.\n# TYPE last gauge\nlast 2\n"))
    }
}
