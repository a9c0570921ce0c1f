import System

/// Decoding of `application/x-www-form-urlencoded` query strings, byte by byte.
public enum QueryString {
    /// Splits `a=1&b=x%20y` into ordered (name, value) pairs; `+` is a space.
    /// Empty pieces (`a=1&&b=2`) are skipped; a name without `=` has an empty value.
    public static func parse(_ query: some Collection<UInt8>) throws(APIError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var name: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        func flush() throws(APIError) {
            defer { name.removeAll(keepingCapacity: true); value.removeAll(keepingCapacity: true); inValue = false }
            if name.isEmpty && value.isEmpty && !inValue { return }
            let decodedName = try decode(name, parameter: nil)
            let decodedValue = try decode(value, parameter: decodedName)
            pairs.append((decodedName, decodedValue))
        }
        for byte in query {
            switch byte {
            case UInt8(ascii: "&"): try flush()
            case UInt8(ascii: "=") where !inValue: inValue = true
            default: if inValue { value.append(byte) } else { name.append(byte) }
            }
        }
        try flush()
        return pairs
    }

    /// Percent-decodes one URL component (a path segment or a query piece) into UTF-8 text.
    /// `parameter` names the parameter (or path part) in the error; nil for a parameter's name.
    public static func decode(_ bytes: [UInt8], parameter: String?, plusIsSpace: Bool = true) throws(APIError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else {
                    throw badEncoding(parameter, "a '%' not followed by two hex digits")
                }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(plusIsSpace && b == UInt8(ascii: "+") ? UInt8(ascii: " ") : b)
                i += 1
            }
        }
        guard let text = validatedString(out) else {
            throw badEncoding(parameter, "bytes that are not UTF-8")
        }
        return text
    }

    private static func badEncoding(_ parameter: String?, _ detail: String) -> APIError {
        let what = parameter.map { "parameter '\($0)'" } ?? "a parameter name"
        return APIError(status: 400, code: .badParameter,
                        message: "\(what) holds \(detail); percent-encode it as UTF-8", parameter: parameter)
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
