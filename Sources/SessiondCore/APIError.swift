/// An error answer of the query API: HTTP status plus the JSON `Error` body of
/// `Schemas/query-api.openapi.json`.
public struct APIError: Error, Sendable, Hashable {
    public enum Code: String, Sendable, Hashable {
        case badParameter = "bad_parameter"
        case unknownParameter = "unknown_parameter"
        case notFound = "not_found"
        case merged
        case methodNotAllowed = "method_not_allowed"
        case unauthorized
        case forbidden
        case erasureDisabled = "erasure_disabled"
        case timeout
        case unavailable
        case `internal`
    }

    public var status: Int
    public var code: Code
    public var message: String
    /// The query or path parameter at fault (400 answers).
    public var parameter: String?
    /// With `.merged`: the session the requested one was merged into.
    public var mergedInto: String?

    public init(status: Int, code: Code, message: String, parameter: String? = nil,
                mergedInto: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.parameter = parameter
        self.mergedInto = mergedInto
    }

    public static func badParameter(_ parameter: String, _ message: String) -> APIError {
        APIError(status: 400, code: .badParameter, message: message, parameter: parameter)
    }

    public static func notFound(_ message: String) -> APIError {
        APIError(status: 404, code: .notFound, message: message)
    }

    public static func merged(_ id: String, into target: String) -> APIError {
        APIError(status: 301, code: .merged, message: "session '\(id)' was merged into '\(target)'",
                 mergedInto: target)
    }

    public static func timeout(limitMs: Int64) -> APIError {
        APIError(status: 503, code: .timeout,
                 message: "query exceeded its \(limitMs) ms limit; narrow the filters or the time range")
    }

    /// The JSON body of this error.
    public var body: [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.field("code", code.rawValue)
        if let parameter { w.field("parameter", parameter) }
        if let mergedInto { w.field("mergedInto", mergedInto) }
        w.field("message", message)
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
