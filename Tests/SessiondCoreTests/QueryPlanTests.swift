import Testing
@testable import SessionStore
@testable import SessiondCore

/// The plans SQLite picks for the SQL SessionStore generates (`SessionSQL`) from parsed API
/// queries, on a real store. Plans are behaviour here: a
/// visitor's sessions read through the app's start index cost a scan of every session of the
/// app (seconds on a big shard), the same answer through the visitor index costs a few rows.
@Suite struct QueryPlanTests {
    func plan(_ parameters: [(String, String)], scope: [SessionFilter]) throws -> String {
        let fixture = try StoreFixture()
        try fixture.fillShop()
        let query = try SessionQuery.parse(parameters, now: fixture.now, scope: scope)
        // The part that holds nearly every row (`SessionReader.sessions` merges it with the few
        // changed ones).
        let part: SessionSQL.ListPart = query.sort == .start ? .unchanged : .unchangedCompleted
        let sql = SessionSQL.list(query.listQuery, asOf: fixture.now, columns: "id", part: part).sql
        let explain = try fixture.store.connection.statement("EXPLAIN QUERY PLAN " + sql)
        defer { explain.reset() }
        var details: [String] = []
        while try explain.step() { details.append(explain.text(3)) }
        return details.joined(separator: "\n")
    }

    @Test(arguments: [[("app", "shop")], [], [("app", "shop"), ("sort", "duration")]])
    func aVisitorsSessionsAreReadThroughTheVisitorIndex(parameters: [(String, String)]) throws {
        let plan = try plan(parameters, scope: [.text(.visitor, [.exact("v-alice")], negated: false)])
        #expect(plan.contains("sessions_visitor"), "\(plan)")
        #expect(!plan.contains("sessions_app_"), "\(plan)")
    }

    @Test(arguments: [[("app", "shop")], []])
    func aUserTagsSessionsAreReadThroughTheVisitorIndex(parameters: [(String, String)]) throws {
        let plan = try plan(parameters, scope: [.text(.user, [.exact("alice@example.com")], negated: false)])
        #expect(plan.contains("sessions_visitor"), "\(plan)")
        #expect(!plan.contains("sessions_app_"), "\(plan)")
    }

    @Test func anAppWideListStillWalksTheAppIndexInOrder() throws {
        let plan = try plan([("app", "shop")], scope: [])
        #expect(plan.contains("sessions_app_start"), "\(plan)")
        #expect(!plan.contains("TEMP B-TREE"), "\(plan)")
    }
}
