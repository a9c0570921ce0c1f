#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Model

/// Derives a web beacon's browser, OS and device type from its User-Agent, from the rules in
/// `Sources/Beacon/devices.txt` (embedded in the binary as `DeviceListData.swift`; how they work
/// and the figures on Matomo's fixtures are in `Sources/Beacon/README.md`). No regular
/// expressions: each rule is one or more plain, case-insensitive substrings; in each section the
/// first rule in file order that matches wins.
public struct DeviceRules: Sendable {
    public enum Section: String, Sendable, CaseIterable { case browser, os, device }

    public struct Rule: Sendable {
        /// Every required term occurs and no forbidden one does (lowercase bytes).
        public let required: [[UInt8]]
        public let forbidden: [[UInt8]]
        public let value: String
        /// The version is the run of digits, dots and underscores after this substring.
        public let versionAfter: [UInt8]?
    }

    public enum ListError: Error, Equatable, CustomStringConvertible {
        case ruleBeforeSection(line: Int)
        case unknownSection(line: Int, String)
        case malformedRule(line: Int)
        public var description: String {
            switch self {
            case .ruleBeforeSection(let line): "devices.txt line \(line): a rule needs a [browser], [os] or [device] line above it"
            case .unknownSection(let line, let name): "devices.txt line \(line): unknown section [\(name)] (known: browser, os, device)"
            case .malformedRule(let line): "devices.txt line \(line): a rule is `pattern => value` (or `pattern => value @ version-pattern`)"
            }
        }
    }

    public let browser: [Rule]
    public let os: [Rule]
    public let device: [Rule]

    /// The list compiled into the binary.
    public static let builtIn: DeviceRules = {
        do { return try DeviceRules(list: embeddedDeviceList) } catch { fatalError("embedded device list: \(error)") }
    }()

    public init(list: String) throws(ListError) {
        var sections: [Section: [Rule]] = [:]
        var current: Section?
        var lineNumber = 0
        for rawLine in list.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#") || line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = String(line.dropFirst().dropLast())
                guard let section = Section(rawValue: name) else { throw .unknownSection(line: lineNumber, name) }
                current = section
                continue
            }
            guard let section = current else { throw .ruleBeforeSection(line: lineNumber) }
            // Spaces inside a pattern count ("msie "), so only the separators are split on.
            let halves = line.split(separator: " => ", maxSplits: 1, omittingEmptySubsequences: false)
            guard halves.count == 2 else { throw .malformedRule(line: lineNumber) }
            let valueParts = halves[1].split(separator: " @ ", maxSplits: 1, omittingEmptySubsequences: false)
            let value = String(valueParts[0].trimmingASCIISpaces())
            var required: [[UInt8]] = [], forbidden: [[UInt8]] = []
            for term in halves[0].split(separator: " & ", omittingEmptySubsequences: false) {
                if term.hasPrefix("!") { forbidden.append(DeviceRules.lower(term.dropFirst())) } else { required.append(DeviceRules.lower(term)) }
            }
            guard !value.isEmpty, !required.isEmpty, !(required + forbidden).contains(where: \.isEmpty) else {
                throw .malformedRule(line: lineNumber)
            }
            let versionAfter: [UInt8]? = section == .device ? nil
                : valueParts.count == 2 ? DeviceRules.lower(valueParts[1]) : required[0]
            sections[section, default: []].append(Rule(required: required, forbidden: forbidden, value: value, versionAfter: versionAfter))
        }
        browser = sections[.browser] ?? []
        os = sections[.os] ?? []
        device = sections[.device] ?? []
    }

    private static func lower(_ text: Substring) -> [UInt8] { text.utf8.map(asciiLower) }

    /// What the rules say of one User-Agent (nil fields: no rule matched, or no version found).
    public func derive(_ userAgent: UnsafeBufferPointer<UInt8>) -> Device {
        // One lowercased copy, then plain substring searches over it.
        let lowered = [UInt8](unsafeUninitializedCapacity: userAgent.count) { buffer, count in
            for (index, byte) in userAgent.enumerated() { buffer[index] = asciiLower(byte) }
            count = userAgent.count
        }
        return lowered.withUnsafeBufferPointer { ua in
            var device = Device()
            if let rule = DeviceRules.first(browser, in: ua) {
                device.browser = rule.value
                device.browserVersion = rule.versionAfter.flatMap { DeviceRules.version(after: $0, in: ua) }
            }
            if let rule = DeviceRules.first(os, in: ua) {
                device.os = rule.value
                device.osVersion = rule.versionAfter.flatMap { DeviceRules.version(after: $0, in: ua) }
            }
            device.deviceType = DeviceRules.first(self.device, in: ua)?.value
            return device
        }
    }

    public func derive(_ userAgent: String) -> Device {
        var copy = userAgent
        return copy.withUTF8 { derive($0) }
    }

    private static func first(_ rules: [Rule], in ua: UnsafeBufferPointer<UInt8>) -> Rule? {
        rules.first { rule in
            rule.required.allSatisfy { find($0, in: ua) != nil } && !rule.forbidden.contains { find($0, in: ua) != nil }
        }
    }

    /// The index just past the first occurrence of `needle` in `haystack` (`memchr` finds each
    /// candidate first byte, `memcmp` checks the rest).
    static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let head = needle.first, needle.count <= haystack.count, let base = haystack.baseAddress else { return nil }
        return needle.withUnsafeBufferPointer { pattern -> Int? in
            let count = pattern.count
            var start = 0
            let last = haystack.count - count
            while start <= last {
                guard let hit = memchr(base + start, Int32(head), last - start + 1) else { return nil }
                let offset = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                if count == 1 || memcmp(base + offset + 1, pattern.baseAddress! + 1, count - 1) == 0 { return offset + count }
                start = offset + 1
            }
            return nil
        }
    }

    /// Digits, dots and underscores (read as dots) after `pattern`; nil when there are none.
    /// At most 32 bytes, trailing dots dropped.
    static func version(after pattern: [UInt8], in ua: UnsafeBufferPointer<UInt8>) -> String? {
        guard var index = find(pattern, in: ua) else { return nil }
        var bytes: [UInt8] = []
        while index < ua.count, bytes.count < 32 {
            let byte = ua[index]
            if byte >= 0x30 && byte <= 0x39 { bytes.append(byte) } else if byte == 0x2E || byte == 0x5F { bytes.append(0x2E) } else { break }
            index += 1
        }
        while bytes.last == 0x2E { bytes.removeLast() }
        guard let firstByte = bytes.first, firstByte != 0x2E else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The devices derived from the last `capacity` distinct User-Agents, least recently used out
/// first: a repeated User-Agent costs one hash lookup. A value type owned by one event loop
/// (inside its `BeaconAdmission`), so it needs no lock.
public struct DeviceCache: Sendable {
    private struct Entry: Sendable {
        var key: String
        var device: Device
        var newer: Int32 = -1
        var older: Int32 = -1
    }

    /// `BeaconAdmission` derives from (and caches) at most this many leading bytes of a User-Agent.
    public static let maxKeyBytes = 512

    public let capacity: Int
    private var slots: [String: Int32] = [:]
    private var entries: [Entry] = []
    private var newest: Int32 = -1
    private var oldest: Int32 = -1
    public private(set) var hits: UInt64 = 0
    public private(set) var misses: UInt64 = 0

    public init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { entries.count }

    /// The cached device of `userAgent`, else `derive()`'s answer, remembered.
    public mutating func device(for userAgent: String, derive: () -> Device) -> Device {
        if let slot = slots[userAgent] {
            hits &+= 1
            touch(slot)
            return entries[Int(slot)].device
        }
        misses &+= 1
        let device = derive()
        if entries.count < capacity {
            entries.append(Entry(key: userAgent, device: device))
            let slot = Int32(entries.count - 1)
            slots[userAgent] = slot
            link(slot)
        } else {
            // Reuse the least recently used slot.
            let slot = oldest
            unlink(slot)
            slots.removeValue(forKey: entries[Int(slot)].key)
            entries[Int(slot)] = Entry(key: userAgent, device: device)
            slots[userAgent] = slot
            link(slot)
        }
        return device
    }

    private mutating func touch(_ slot: Int32) {
        guard slot != newest else { return }
        unlink(slot)
        link(slot)
    }

    private mutating func link(_ slot: Int32) {
        entries[Int(slot)].older = newest
        entries[Int(slot)].newer = -1
        if newest >= 0 { entries[Int(newest)].newer = slot }
        newest = slot
        if oldest < 0 { oldest = slot }
    }

    private mutating func unlink(_ slot: Int32) {
        let entry = entries[Int(slot)]
        if entry.newer >= 0 { entries[Int(entry.newer)].older = entry.older } else { newest = entry.older }
        if entry.older >= 0 { entries[Int(entry.older)].newer = entry.newer } else { oldest = entry.newer }
    }

    /// The keys from most to least recently used, for tests.
    var keysByRecency: [String] {
        var keys: [String] = []
        var slot = newest
        while slot >= 0 {
            keys.append(entries[Int(slot)].key)
            slot = entries[Int(slot)].older
        }
        return keys
    }
}

extension Device {
    /// Fills the browser, OS and device-type fields this device lacks from `derived`; a field the
    /// client sent is kept. A derived version is taken with its derived family, or when the client
    /// sent the same family without a version.
    public mutating func fillMissing(from derived: Device) {
        if browser == nil {
            browser = derived.browser
            browserVersion = browserVersion ?? derived.browserVersion
        } else if browserVersion == nil, browser == derived.browser {
            browserVersion = derived.browserVersion
        }
        if os == nil {
            os = derived.os
            osVersion = osVersion ?? derived.osVersion
        } else if osVersion == nil, os == derived.os {
            osVersion = derived.osVersion
        }
        if deviceType == nil { deviceType = derived.deviceType }
    }
}
