// swift-tools-version:6.1
import PackageDescription
import class Foundation.ProcessInfo

// Fuzz targets need libFuzzer (-sanitize=fuzzer); they are built only when asked for,
// so plain `swift build` / `swift test` never need it.
let fuzzing = ProcessInfo.processInfo.environment["VOLUMED_FUZZ"] != nil

var package = Package(
    name: "volumed",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "volumed", targets: ["Daemon"]),
        .executable(name: "volumed-soak", targets: ["Soak"]),
        .library(name: "Estimator", targets: ["Estimator"]),
        .library(name: "DB", targets: ["DB"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CInotifyTools",
                       providers: [.apt(["libinotifytools0-dev"])]),
        // What is not domain code, shared by every module below so that none depends on another
        // for utilities: TOML and JSON, coded errors, file reading and `stat` (swift-system), the
        // blocking-work queue, the one process spawner. No Foundation. The spawner is not
        // swift-subprocess: its children live inside one async call, while the embedded cluster
        // runs `pg_ctl` synchronously on its database thread and the harnesses keep `volumed
        // serve` across steps, poll it from plain threads and kill it when dropped.
        .target(
            name: "Base",
            dependencies: [
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // SHA-256 for content fingerprints and migration checksums.
        .target(name: "Hashing"),
        .target(
            name: "Estimator",
            dependencies: [
                "Base",
                "COpenBLAS",
                "Hashing",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "DB",
            dependencies: [
                "Base",
                "CLibPQ",
                "Hashing",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // Compiles migrations/*.sql into the DB module, so `volumed` is one self-contained file.
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"]),
        // The daemon's configuration file; needs the estimator only for its settings types.
        .target(
            name: "Config",
            dependencies: [
                "Base",
                "Estimator",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Volume-vs-step plots and histograms as self-contained SVG: one drawing code path for
        // `volumed report --svg` and the dashboard's pages. Pure: series in, text out.
        .target(name: "Plotting"),
        // The read-only web dashboard inside `volumed serve`: HTML pages with inline SVG, live
        // updates by server-sent events from `LISTEN volumed_estimates`, a JSON API, and
        // Prometheus metrics. HTTP on FlyingFox's socket layer, FlyingSocks (epoll, no SwiftNIO),
        // with our own bounded connection loop (FlyingFox's HTTPServer has no size, count or
        // read-time limits).
        .target(
            name: "Dashboard",
            dependencies: [
                "Base",
                "DB",
                "Plotting",
                .product(name: "FlyingSocks", package: "FlyingFox"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `volumed bench`'s measurements: part of the `volumed` executable, in no library product.
        .target(
            name: "Benchmarks",
            dependencies: [
                "Base",
                "Dashboard",
                "DB",
                "Estimator",
            ]
        ),
        .executableTarget(
            name: "Daemon",
            dependencies: [
                "Base",
                "Benchmarks",
                "Config",
                "Dashboard",
                "Estimator",
                "DB",
                "CInotifyTools",
                "Plotting",
                "Hashing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // A stand-in sd_notify socket and the harness's errors, for the soak and the end-to-end
        // tests (which spawn processes with Base's `ChildProcess`).
        .target(name: "ProcessHarness", dependencies: ["Base", .product(name: "SystemPackage", package: "swift-system")]),
        // The fault-injection soak (`make soak`): drives the built `volumed serve` with checkpoints,
        // SIGKILLs and a PostgreSQL restart, then checks the database.
        .executableTarget(
            name: "Soak",
            dependencies: [
                "Base",
                "DB",
                "Estimator",
                "ProcessHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Tests find the repository's fixtures/ from their sources (#filePath), so no resource bundle.
        .testTarget(name: "BaseTests", dependencies: ["Base", .product(name: "SystemPackage", package: "swift-system")]),
        .testTarget(name: "EstimatorTests", dependencies: ["Estimator", "Base", "Hashing"], exclude: ["Volume/make_integral_table.py"]),
        .testTarget(name: "DBTests", dependencies: ["DB", "Base", "Hashing"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "DashboardTests", dependencies: [
            "Dashboard", "Plotting", "DB", "Base",
            // The server tests: a real client socket, and the dashboard in a service group.
            .product(name: "FlyingSocks", package: "FlyingFox"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Base", "Estimator", "DB"]),
        .testTarget(name: "DaemonTests", dependencies: [
            "Daemon", "Base", "Config", "Estimator", "DB", "ProcessHarness",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
    ]
)

if fuzzing {
    // libFuzzer harnesses, built and run by Fuzz/fuzz.sh (`make fuzz`): VOLUMED_FUZZ=1 swift build
    //   -c release --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld … --product fuzz-<name>
    let harnesses: [(product: String, target: String, folder: String, dependencies: [Target.Dependency])] = [
        ("fuzz-safetensors", "FuzzSafeTensors", "SafeTensors", ["Estimator"]),
        ("fuzz-pickle", "FuzzPickle", "Pickle", ["Estimator"]),
        ("fuzz-manifest", "FuzzManifest", "Manifest", ["Estimator"]),
        ("fuzz-config", "FuzzConfig", "Config", ["Config"]),
        ("fuzz-tokenizer", "FuzzTokenizer", "Tokenizer", ["Estimator"]),
        ("fuzz-token-files", "FuzzTokenFiles", "TokenFiles", ["Estimator"]),
    ]
    package.targets.append(.systemLibrary(name: "CFuzzer", path: "Fuzz/CFuzzer"))
    for harness in harnesses {
        package.products.append(.executable(name: harness.product, targets: [harness.target]))
        package.targets.append(.executableTarget(
            name: harness.target, dependencies: ["CFuzzer"] + harness.dependencies, path: "Fuzz/\(harness.folder)"))
    }
}
