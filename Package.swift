// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "rnntrain",
    products: [.executable(name: "rnntrain", targets: ["rnntrain"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // libyaml's event parser, which ConfigLoader runs over a config before Yams builds a tree
        // from it; Yams has no public API for events.
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // Elementwise kernels in C: clang vectorises them and target_clones picks AVX-512/AVX2 at load time.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        .target(name: "Numerics", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "Models", dependencies: ["Numerics"]),
        .target(name: "Collectives"),
        .target(name: "MPICollectives", dependencies: ["Collectives", "CMPI"]),
        .target(name: "Training", dependencies: [
            "Models", "Numerics", "Collectives", "CLibYAML", "Yams", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "rnntrain", dependencies: [
            "Models", "Training", "Collectives", "MPICollectives",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "TestSupport"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),
        // Runs the built rnntrain binary (and mpirun) as a user would.
        .testTarget(name: "EndToEndTests", dependencies: []),
    ],
    swiftLanguageModes: [.v5]
)
