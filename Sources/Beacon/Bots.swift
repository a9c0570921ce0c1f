import Model

/// Recognises crawlers, headless browsers and HTTP libraries by User-Agent, from the list in
/// `Sources/Beacon/bots.txt` (embedded in the binary as `BotListData.swift`). Matching is one pass
/// over the User-Agent through an Aho-Corasick automaton, whatever the number of patterns.
public struct BotMatcher: Sendable {
    public struct Family: Sendable, Equatable {
        public let name: String
        /// Applies to web beacons only: native apps and servers send library User-Agents legitimately.
        public let webOnly: Bool
        /// `not ^prefix` lines: matches when the User-Agent starts with none of these.
        public let unlessPrefixes: [[UInt8]]
    }

    public let families: [Family]
    /// Patterns in file order (lowercased, `^`/`$` anchors as written), for tests and docs.
    public let patterns: [(family: Int, text: String)]

    private let classOf: [UInt8]           // byte -> symbol class
    private let classCount: Int
    private let transitions: [UInt16]      // state * classCount + class -> state
    private let matchAll: [Int16]          // state -> family + 1 (0: none), any platform
    private let matchNonWeb: [Int16]       // the same, ignoring web-only families
    private static let startClass = 1, endClass = 2

    public enum ListError: Error, Equatable, CustomStringConvertible {
        case patternBeforeFamily(line: Int)
        case emptyPattern(line: Int)
        case tooManyStates
        public var description: String {
            switch self {
            case .patternBeforeFamily(let line): "bots.txt line \(line): a pattern needs a [family] line above it"
            case .emptyPattern(let line): "bots.txt line \(line): empty pattern"
            case .tooManyStates: "bots.txt: too many patterns for the matcher (over 65535 states)"
            }
        }
    }

    /// The list compiled into the binary.
    public static let builtIn: BotMatcher = {
        do { return try BotMatcher(list: embeddedBotList) } catch { fatalError("embedded bot list: \(error)") }
    }()

    public init(list: String) throws(ListError) {
        var families: [(name: String, webOnly: Bool, unless: [[UInt8]])] = []
        var patterns: [(family: Int, text: String, bytes: [Int])] = []
        var lineNumber = 0
        for rawLine in list.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#") || line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                let name = String(line[line.index(after: line.startIndex)..<close])
                let options = line[line.index(after: close)...].split(separator: " ")
                families.append((name, options.contains("web-only"), []))
                continue
            }
            guard !families.isEmpty else { throw .patternBeforeFamily(line: lineNumber) }
            if line.hasPrefix("not ^") {
                families[families.count - 1].unless.append(Array(line.dropFirst(5).utf8).map(asciiLower))
                continue
            }
            // Leading/trailing spaces are part of a pattern (" bot "), so the line is not trimmed.
            var bytes = Array(line.utf8).map { Int(asciiLower($0)) }
            var symbols: [Int] = []
            if bytes.first == Int(UInt8(ascii: "^")) { symbols.append(-BotMatcher.startClass); bytes.removeFirst() }
            let anchoredEnd = bytes.last == Int(UInt8(ascii: "$"))
            if anchoredEnd { bytes.removeLast() }
            guard !bytes.isEmpty else { throw .emptyPattern(line: lineNumber) }
            symbols += bytes
            if anchoredEnd { symbols.append(-BotMatcher.endClass) }
            patterns.append((families.count - 1, String(line).lowercased(), symbols))
        }

        // Symbol classes: 0 other byte, 1 start of User-Agent, 2 end, then one per byte used.
        var classOf = [UInt8](repeating: 0, count: 256)
        var next = 3
        for pattern in patterns {
            for symbol in pattern.bytes where symbol >= 0 && classOf[symbol] == 0 {
                classOf[symbol] = UInt8(truncatingIfNeeded: next)
                next += 1
                // Patterns are lowercase; the upper-case letter shares the class.
                if symbol >= 0x61 && symbol <= 0x7A { classOf[symbol - 0x20] = classOf[symbol] }
            }
        }
        let classCount = next
        func symbolClass(_ symbol: Int) -> Int { symbol < 0 ? -symbol : Int(classOf[symbol]) }

        // Trie.
        var children: [[Int: Int]] = [[:]]
        var terminal: [Int] = [Int.max]          // lowest pattern index ending here
        for (index, pattern) in patterns.enumerated() {
            var state = 0
            for symbol in pattern.bytes {
                let cls = symbolClass(symbol)
                if let child = children[state][cls] {
                    state = child
                } else {
                    children.append([:])
                    terminal.append(Int.max)
                    children[state][cls] = children.count - 1
                    state = children.count - 1
                }
            }
            terminal[state] = min(terminal[state], index)
        }
        guard children.count < Int(UInt16.max) else { throw .tooManyStates }

        // Breadth-first: failure links, full transition table, outputs merged along failure links.
        let stateCount = children.count
        var transitions = [UInt16](repeating: 0, count: stateCount * classCount)
        var fail = [Int](repeating: 0, count: stateCount)
        var bestAll = terminal
        var bestNonWeb = terminal.map { index in
            index != Int.max && families[patterns[index].family].webOnly ? Int.max : index
        }
        var queue: [Int] = []
        for cls in 0..<classCount {
            if let child = children[0][cls] {
                transitions[cls] = UInt16(child)
                queue.append(child)
            }
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            bestAll[state] = min(bestAll[state], bestAll[fail[state]])
            bestNonWeb[state] = min(bestNonWeb[state], bestNonWeb[fail[state]])
            for cls in 0..<classCount {
                if let child = children[state][cls] {
                    fail[child] = Int(transitions[fail[state] * classCount + cls])
                    transitions[state * classCount + cls] = UInt16(child)
                    queue.append(child)
                } else {
                    transitions[state * classCount + cls] = transitions[fail[state] * classCount + cls]
                }
            }
        }
        func family(_ index: Int) -> Int16 { index == Int.max ? 0 : Int16(patterns[index].family + 1) }

        self.families = families.map { Family(name: $0.name, webOnly: $0.webOnly, unlessPrefixes: $0.unless) }
        self.patterns = patterns.map { ($0.family, $0.text) }
        self.classOf = classOf
        self.classCount = classCount
        self.transitions = transitions
        self.matchAll = bestAll.map(family)
        self.matchNonWeb = bestNonWeb.map(family)
    }

    /// The family index of the first pattern found in `userAgent`, or nil for a (presumed) human.
    /// Web-only families apply only when `platform` is `.web`.
    public func match(_ userAgent: UnsafeBufferPointer<UInt8>, platform: Platform) -> Int? {
        let outputs = platform == .web ? matchAll : matchNonWeb
        var state = Int(transitions[BotMatcher.startClass])
        if outputs[state] != 0 { return Int(outputs[state]) - 1 }
        for byte in userAgent {
            state = Int(transitions[state &* classCount &+ Int(classOf[Int(byte)])])
            if outputs[state] != 0 { return Int(outputs[state]) - 1 }
        }
        state = Int(transitions[state &* classCount &+ BotMatcher.endClass])
        if outputs[state] != 0 { return Int(outputs[state]) - 1 }
        for (index, family) in families.enumerated() where !family.unlessPrefixes.isEmpty {
            if family.webOnly && platform != .web { continue }
            if !family.unlessPrefixes.contains(where: { hasPrefixIgnoringCase(userAgent, $0) }) { return index }
        }
        return nil
    }

    public func match(_ userAgent: String, platform: Platform) -> Int? {
        var copy = userAgent
        return copy.withUTF8 { match($0, platform: platform) }
    }

    private func hasPrefixIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ prefix: [UInt8]) -> Bool {
        guard bytes.count >= prefix.count else { return false }
        for index in prefix.indices where asciiLower(bytes[index]) != prefix[index] { return false }
        return true
    }
}

/// Beacons dropped as bots, per family. Owned by one event loop; merged for `/metrics`.
public struct BotCounts: Sendable, Equatable {
    public private(set) var dropped: [UInt64]

    public init(familyCount: Int) { dropped = Array(repeating: 0, count: familyCount) }

    public mutating func record(family: Int) {
        guard dropped.indices.contains(family) else { return }
        dropped[family] &+= 1
    }
}
