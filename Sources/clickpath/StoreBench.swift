/// `clickpath bench store`: filled below.
enum StoreBench {
    static func run(_ arguments: [String]) -> Int32 { 1 }
}
