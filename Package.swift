// swift-tools-version:6.0
import PackageDescription

// No package dependencies: the toolchain, plus sqlite3 and zlib through system library targets.
let package = Package(
    name: "Clickpath",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "collector", targets: ["collector"]),
        .executable(name: "sessiond", targets: ["sessiond"]),
        .executable(name: "clickpath", targets: ["clickpath"]),
    ],
    targets: [
        // System libraries: module.modulemap + shim.h, nothing else.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),

        // Pure modules. Model: the domain values every module shares, with no dependencies.
        .target(name: "Model"),
        // System: the daemon plumbing both daemons share (syscall funnel, clock, signals, logger,
        // metrics registry, constant-time compare, base64, UTF-8 validation). Only the toolchain.
        .target(name: "System", dependencies: ["CLinux"], exclude: ["README.md"]),
        .target(name: "Wire", dependencies: ["Model", "System"]),
        .target(name: "JSON", dependencies: ["System"], exclude: ["README.md"]),
        .target(name: "Config", dependencies: ["JSON", "Model", "System"]),
        .target(name: "Sessionizer", dependencies: ["Model"], exclude: ["README.md"]),

        // I/O modules.
        .target(name: "SessionStore", dependencies: ["Model", "Sessionizer", "Wire", "Config", "System", "CSQLite"], exclude: ["README.md"]),
        .target(name: "Transport", dependencies: ["Wire", "System", "CLinux"], exclude: ["README.md"],
                // Loops own every object they touch; dynamic exclusivity checks cost ~6% of a request,
                // so release builds drop them. Debug builds (swift test) and the fuzz build keep them.
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .target(name: "Beacon", dependencies: ["Model", "JSON", "Config", "System", "CZlib"], exclude: ["bots.txt", "devices.txt", "README.md"]),
        .target(name: "CollectorCore", dependencies: ["Model", "Beacon", "Transport", "Wire", "Config", "System"], exclude: ["README.md", "rum.js"]),
        .target(name: "SessiondCore",
                dependencies: ["Model", "SessionStore", "Sessionizer", "Transport", "Wire", "Config", "System"],
                exclude: ["README.md"]),

        // Thin mains.
        .executableTarget(name: "collector", dependencies: ["CollectorCore", "Transport", "Config", "System"]),
        .executableTarget(name: "sessiond", dependencies: ["SessiondCore", "Config", "System"]),
        .executableTarget(name: "clickpath", dependencies: ["SessionStore"]),

        // Benchmarks: not part of the product (`swift run -c release clickpath-bench <name>`).
        .executableTarget(name: "clickpath-bench",
                          dependencies: ["Model", "Wire", "JSON", "Config", "Sessionizer", "SessionStore",
                                         "Transport", "Beacon", "CollectorCore", "SessiondCore",
                                         "System", "CSQLite", "Workloads"],
                          path: "Benchmarks/clickpath-bench"),

        // Test support, never shipped. Deterministic workloads and stand-ins shared by the tests,
        // the crash writer and the benchmarks.
        .target(name: "Workloads", dependencies: ["Model", "CollectorCore"], path: "Tests/Workloads"),
        // Blocking test clients, temporary directories and a stand-in shard, shared by the test
        // targets that talk to real servers.
        .target(name: "TestSupport", dependencies: ["Model", "Transport", "Wire", "System"], path: "Tests/TestSupport"),
        // Writers the real-process tests SIGKILL mid-write (`crash-writer store-writer|spool-writer`).
        .executableTarget(name: "crash-writer", dependencies: ["Model", "CollectorCore", "SessionStore", "Config", "Workloads"],
                          path: "Tests/CrashWriter"),
        .testTarget(name: "SystemTests", dependencies: ["System"]),
        .testTarget(name: "WireTests", dependencies: ["Model", "Wire", "System"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "ConfigTests", dependencies: ["Model", "Config", "JSON", "System"]),
        .testTarget(name: "SessionizerTests", dependencies: ["Model", "Sessionizer", "Wire", "Config"]),
        .testTarget(name: "SessionStoreTests",
                    dependencies: ["Model", "SessionStore", "Sessionizer", "Wire", "Config", "Workloads"]),
        .testTarget(name: "TransportTests", dependencies: ["Model", "Transport", "TestSupport", "Wire", "System", "CLinux"]),
        .testTarget(name: "BeaconTests", dependencies: ["Model", "Beacon", "JSON", "Wire", "Config", "System", "CZlib", "Workloads"], exclude: ["Data"]),
        .testTarget(name: "CollectorCoreTests", dependencies: ["Model", "CollectorCore", "TestSupport", "Workloads", "Beacon", "Transport", "Wire", "Config", "System"]),
        .testTarget(name: "SessiondCoreTests",
                    dependencies: ["Model", "SessiondCore", "SessionStore", "Sessionizer", "Wire", "Config", "System"]),
        // Every test that starts real processes (sessiond, collector, clickpath, crash-writer).
        .testTarget(name: "EndToEndTests",
                    dependencies: ["Model", "Wire", "Transport", "Config", "CollectorCore", "SessionStore", "TestSupport",
                                   "Workloads", "System"]),
    ],
    swiftLanguageModes: [.v6]
)
