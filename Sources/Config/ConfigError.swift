import JSON

/// A problem in `apps.json` (or reading it), naming where: `apps.shop.rules.inactivityTimeout:
/// expected a positive integer (ms), found a string`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Dotted path of the field (`apps.shop.rateLimit.burst`, `apps.shop.allowedOrigins[1]`), or
    /// the file for problems with the file as a whole.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }

    /// A JSON syntax error, located by line and column as well as byte offset.
    static func syntax(_ error: JSONError, in bytes: [UInt8], file: String) -> ConfigError {
        var line = 1
        var column = 1
        for byte in bytes.prefix(error.offset) {
            if byte == 0x0A {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return ConfigError(path: file, message: "line \(line), column \(column) (byte \(error.offset)): \(error.reason)")
    }
}
