import Model

/// Recognises crawlers, headless browsers, HTTP libraries and other programs by User-Agent, from
/// the list in `Sources/Beacon/bots.txt` (embedded in the binary as `BotListData.swift`; the
/// policy is in `Sources/Beacon/README.md`). Matching is one pass over the User-Agent through an
/// Aho-Corasick automaton, whatever the number of patterns.
public struct BotMatcher: Sendable {
    public struct Family: Sendable, Equatable {
        /// What a drop by this family is counted as.
        public enum Kind: Sendable, Equatable {
            /// A crawler, preview fetcher, monitor, scanner, headless browser...
            case bot
            /// A program that is no browser (an HTTP library, a mail client, an app's own agent)
            /// posting a web beacon: option `non-browser`.
            case nonBrowser
        }

        public let name: String
        public let kind: Kind
        /// Applies to web beacons only: native apps and servers send library User-Agents legitimately.
        public let webOnly: Bool
        /// Option `browser-mark`: its patterns never drop; they say the User-Agent is a browser's.
        public let marksBrowser: Bool
        /// Option `unmarked`: matches a User-Agent that no dropping pattern matched and that
        /// carries no browser mark.
        public let unmarked: Bool
    }

    public let families: [Family]
    /// Patterns in file order (lowercased, `^`/`$` anchors as written), for tests and docs.
    public let patterns: [(family: Int, text: String)]

    private let classOf: [UInt8]           // byte -> symbol class
    private let classCount: Int
    private let transitions: [UInt16]      // state * classCount + class -> state
    // state -> family + 1 of the first dropping pattern ending here, -1 for a browser mark only,
    // 0 for nothing; for web beacons, and ignoring web-only families for the others.
    private let matchAll: [Int16]
    private let matchNonWeb: [Int16]
    private let unmarkedAll: Int?          // the `unmarked` family, for web beacons
    private let unmarkedNonWeb: Int?
    private static let startClass = 1, endClass = 2

    public enum ListError: Error, Equatable, CustomStringConvertible {
        case patternBeforeFamily(line: Int)
        case emptyPattern(line: Int)
        case tooManyStates
        case unknownOption(line: Int, String)
        public var description: String {
            switch self {
            case .patternBeforeFamily(let line): "bots.txt line \(line): a pattern needs a [family] line above it"
            case .emptyPattern(let line): "bots.txt line \(line): empty pattern"
            case .tooManyStates: "bots.txt: too many patterns for the matcher (over 65535 states)"
            case .unknownOption(let line, let option): "bots.txt line \(line): unknown family option \"\(option)\" (known: \(BotMatcher.options.sorted().joined(separator: ", ")))"
            }
        }
    }

    static let options: Set<String> = ["web-only", "non-browser", "browser-mark", "unmarked"]

    /// The list compiled into the binary.
    public static let builtIn: BotMatcher = {
        do { return try BotMatcher(list: embeddedBotList) } catch { fatalError("embedded bot list: \(error)") }
    }()

    public init(list: String) throws(ListError) {
        var families: [Family] = []
        var patterns: [(family: Int, text: String, bytes: [Int])] = []
        var lineNumber = 0
        for rawLine in list.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#") || line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                let name = String(line[line.index(after: line.startIndex)..<close])
                let options = line[line.index(after: close)...].split(separator: " ")
                for option in options where !BotMatcher.options.contains(String(option)) {
                    throw .unknownOption(line: lineNumber, String(option))
                }
                families.append(Family(name: name, kind: options.contains("non-browser") ? .nonBrowser : .bot,
                                       webOnly: options.contains("web-only"), marksBrowser: options.contains("browser-mark"),
                                       unmarked: options.contains("unmarked")))
                continue
            }
            guard !families.isEmpty else { throw .patternBeforeFamily(line: lineNumber) }
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
        var terminal: [Int] = [Int.max]          // lowest dropping pattern index ending here
        var mark: [Bool] = [false]               // a browser-mark pattern ends here
        for (index, pattern) in patterns.enumerated() {
            var state = 0
            for symbol in pattern.bytes {
                let cls = symbolClass(symbol)
                if let child = children[state][cls] {
                    state = child
                } else {
                    children.append([:])
                    terminal.append(Int.max)
                    mark.append(false)
                    children[state][cls] = children.count - 1
                    state = children.count - 1
                }
            }
            if families[pattern.family].marksBrowser {
                mark[state] = true
            } else {
                terminal[state] = min(terminal[state], index)
            }
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
            mark[state] = mark[state] || mark[fail[state]]
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
        func output(_ index: Int, _ marked: Bool) -> Int16 {
            index != Int.max ? Int16(patterns[index].family + 1) : marked ? -1 : 0
        }

        self.families = families
        self.patterns = patterns.map { ($0.family, $0.text) }
        self.classOf = classOf
        self.classCount = classCount
        self.transitions = transitions
        self.matchAll = zip(bestAll, mark).map(output)
        self.matchNonWeb = zip(bestNonWeb, mark).map(output)
        self.unmarkedAll = families.firstIndex { $0.unmarked }
        self.unmarkedNonWeb = families.firstIndex { $0.unmarked && !$0.webOnly }
    }

    /// The family index of the first dropping pattern found in `userAgent`, else of the `unmarked`
    /// family when the User-Agent carries no browser mark, else nil for a (presumed) human.
    /// Web-only families apply only when `platform` is `.web`.
    public func match(_ userAgent: UnsafeBufferPointer<UInt8>, platform: Platform) -> Int? {
        let outputs = platform == .web ? matchAll : matchNonWeb
        var marked = false
        var state = Int(transitions[BotMatcher.startClass])
        var out = outputs[state]
        if out > 0 { return Int(out) - 1 }
        marked = out < 0
        for byte in userAgent {
            state = Int(transitions[state &* classCount &+ Int(classOf[Int(byte)])])
            out = outputs[state]
            if out != 0 {
                if out > 0 { return Int(out) - 1 }
                marked = true
            }
        }
        state = Int(transitions[state &* classCount &+ BotMatcher.endClass])
        out = outputs[state]
        if out > 0 { return Int(out) - 1 }
        if marked || out < 0 { return nil }
        return platform == .web ? unmarkedAll : unmarkedNonWeb
    }

    public func match(_ userAgent: String, platform: Platform) -> Int? {
        var copy = userAgent
        return copy.withUTF8 { match($0, platform: platform) }
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
