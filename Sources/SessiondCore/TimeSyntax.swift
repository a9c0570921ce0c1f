import Model
import Config

/// The time and duration forms accepted by query parameters (Schemas/README.md, "Query API").
public enum TimeSyntax {
    /// A non-negative decimal integer, without sign or spaces, that fits in Int64.
    public static func integer(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 19 else { return nil }
        var value: Int64 = 0
        for b in text.utf8 {
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(b - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = sum
        }
        return value
    }

    /// `1500` (milliseconds, the query API's bare unit) or a duration in the settings' syntax
    /// (`90s`, `5m`, `1h30m`; Config's `SettingValues.duration`) that is whole milliseconds.
    public static func duration(_ text: Substring) -> Int64? {
        if let ms = integer(text) { return ms }
        guard let duration = SettingValues.duration(String(text)),
              duration.components.attoseconds % 1_000_000_000_000_000 == 0 else { return nil }
        return SessiondSettings.milliseconds(duration)
    }

    /// Epoch milliseconds, `now`, `now-DURATION`, or an RFC 3339 time (`2026-11-26T14:00:00Z`,
    /// fractional seconds and `+01:00` offsets allowed).
    public static func time(_ text: Substring, now: Int64) -> Int64? {
        if text == "now" { return now }
        if text.hasPrefix("now-") {
            guard let d = duration(text.dropFirst(4)) else { return nil }
            let (t, overflow) = now.subtractingReportingOverflow(d)
            return overflow ? nil : t
        }
        if let ms = integer(text) { return ms }
        return rfc3339(Array(text.utf8))
    }

    static func rfc3339(_ s: [UInt8]) -> Int64? {
        func digits(_ at: Int, _ count: Int) -> Int64? {
            guard at >= 0, at + count <= s.count else { return nil }
            var v: Int64 = 0
            for b in s[at..<(at + count)] {
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
                v = v * 10 + Int64(b - UInt8(ascii: "0"))
            }
            return v
        }
        func byte(_ at: Int) -> UInt8? { at < s.count ? s[at] : nil }
        guard let year = digits(0, 4), byte(4) == UInt8(ascii: "-"), let month = digits(5, 2),
              byte(7) == UInt8(ascii: "-"), let day = digits(8, 2),
              byte(10) == UInt8(ascii: "T") || byte(10) == UInt8(ascii: "t") || byte(10) == UInt8(ascii: " "),
              let hour = digits(11, 2), byte(13) == UInt8(ascii: ":"), let minute = digits(14, 2),
              byte(16) == UInt8(ascii: ":"), let second = digits(17, 2),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var millis: Int64 = 0
        if byte(i) == UInt8(ascii: ".") {
            i += 1
            var scale: Int64 = 100
            let start = i
            while let b = byte(i), b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") {
                millis += Int64(b - UInt8(ascii: "0")) * scale
                scale /= 10
                i += 1
                if i - start > 9 { return nil }
            }
            if i == start { return nil }
        }
        var offsetMinutes: Int64 = 0
        switch byte(i) {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let oh = digits(i + 1, 2), byte(i + 3) == UInt8(ascii: ":"), let om = digits(i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offsetMinutes = (oh * 60 + om) * (byte(i) == UInt8(ascii: "-") ? -1 : 1)
            i += 6
        default:
            return nil
        }
        guard i == s.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60 + second
        return seconds * 1000 + millis
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
