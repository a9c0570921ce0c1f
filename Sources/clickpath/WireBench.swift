/// `clickpath bench wire`: filled by the Wire issue.
enum WireBench {
    static func run(_ arguments: [String]) -> Int32 {
        print("bench wire: not implemented yet")
        return 1
    }
}
