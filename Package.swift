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
        .target(name: "Wire", dependencies: ["Model"]),
        .target(name: "JSON", exclude: ["README.md"]),
        .target(name: "Config", dependencies: ["JSON", "Model"]),
        .target(name: "Sessionizer", dependencies: ["Model"], exclude: ["README.md"]),

        // I/O modules.
        .target(name: "SessionStore", dependencies: ["Model", "Sessionizer", "Wire", "Config", "CSQLite"], exclude: ["README.md"]),
        .target(name: "Transport", dependencies: ["Wire", "Config", "CLinux"], exclude: ["README.md"],
                // Loops own every object they touch; dynamic exclusivity checks cost ~6% of a request,
                // so release builds drop them. Debug builds (swift test) and the fuzz build keep them.
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        .target(name: "Beacon", dependencies: ["Model", "JSON", "Config", "CZlib"], exclude: ["bots.txt", "README.md"]),
        .target(name: "CollectorCore", dependencies: ["Model", "Beacon", "Transport", "Wire", "Config", "JSON"], exclude: ["README.md"]),
        .target(name: "SessiondCore",
                dependencies: ["Model", "SessionStore", "Sessionizer", "Transport", "Wire", "Config", "JSON"],
                exclude: ["README.md"]),

        // Thin mains.
        .executableTarget(name: "collector", dependencies: ["CollectorCore", "Transport", "Config"]),
        .executableTarget(name: "sessiond", dependencies: ["SessiondCore", "Transport", "Config"]),
        .executableTarget(name: "clickpath",
                          dependencies: ["Model", "Wire", "JSON", "Config", "Sessionizer", "SessionStore",
                                         "Transport", "Beacon", "CollectorCore", "SessiondCore",
                                         "CSQLite"]),

        // Blocking test clients shared by the test targets that talk to real servers.
        .target(name: "TestSupport", dependencies: ["Transport"], path: "Tests/TestSupport"),
        .testTarget(name: "WireTests", dependencies: ["Model", "Wire"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "ConfigTests", dependencies: ["Model", "Config", "JSON"]),
        .testTarget(name: "SessionizerTests", dependencies: ["Model", "Sessionizer", "Wire", "Config"]),
        .testTarget(name: "SessionStoreTests",
                    dependencies: ["Model", "SessionStore", "Sessionizer", "Wire", "Config", "CSQLite"]),
        .testTarget(name: "TransportTests", dependencies: ["Model", "Transport", "TestSupport", "Wire", "Config", "CLinux"]),
        .testTarget(name: "BeaconTests", dependencies: ["Model", "Beacon", "JSON", "Wire", "Config", "CZlib"], exclude: ["Data"]),
        .testTarget(name: "CollectorCoreTests", dependencies: ["Model", "CollectorCore", "TestSupport", "Beacon", "Transport", "Wire", "Config"]),
        .testTarget(name: "SessiondCoreTests",
                    dependencies: ["Model", "SessiondCore", "SessionStore", "Transport", "Wire", "Config"]),
        .testTarget(name: "EndToEndTests", dependencies: ["Model", "Wire", "Transport", "Config", "JSON"]),
    ],
    swiftLanguageModes: [.v6]
)
