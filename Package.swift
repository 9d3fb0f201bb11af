// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "rnntrain",
    products: [.executable(name: "rnntrain", targets: ["rnntrain"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        // libyaml's event parser, which ConfigLoader runs over a config before Yams builds a tree
        // from it; Yams has no public API for events.
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // oneDNN's matmul on weights packed once per step (PackedMatmul), fp32 and bf16; Debian's
        // libdnnl-dev has no pkg-config file, so the module map names the libraries.
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        // Elementwise kernels in C: clang vectorises them and target_clones picks AVX-512/AVX2 at load time.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]),
        // The one clock every duration is measured on.
        .target(name: "Clock"),
        .target(name: "Kernels", dependencies: ["CBLAS", "CKernels", "CDNNL", "Clock"]),
        // The model's specification as data (its config, a cell's name, a batch): what Config and
        // TextData need of a model, without its kernels.
        .target(name: "ModelSpec"),
        .target(name: "Models", dependencies: ["ModelSpec", "Kernels", "CKernels", "Clock"]),
        .target(name: "Collectives", dependencies: ["Files", "Clock"]),
        .target(name: "MPICollectives", dependencies: ["Collectives", "CMPI", "Files", "Kernels", "Clock"]),
        .target(name: "Files"),
        .target(name: "NGram", dependencies: ["Files"]),
        // TensorBoard event files: TFRecord framing (CRC-32C by hand) around Event protocol
        // buffers, whose Swift code is generated once from Sources/TensorBoard/Proto and committed.
        .target(name: "TensorBoard", dependencies: ["Files", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["Proto"]),
        .target(name: "Config", dependencies: ["ModelSpec", "Kernels", "Files", "CLibYAML", "Yams"]),
        .target(name: "TextData", dependencies: ["Config", "ModelSpec", "Kernels", "Files"]),
        .target(name: "Checkpoints", dependencies: [
            "Config", "TextData", "ModelSpec", "Models", "Kernels", "Files", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // A SIGBUS on a mapped file that shrank, said in one line: a signal handler in C.
        .target(name: "CMappedFiles"),
        // Prepared datasets: a corpus tokenized once (`rnntrain prepare`) and read memory-mapped.
        .target(name: "PreparedData", dependencies: [
            "Checkpoints", "TextData", "Collectives", "Config", "Files", "CMappedFiles", "Clock", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Swapping a run's prepared dataset for a new one in one step: renameat2, which Swift cannot see.
        .target(name: "CRename"),
        // The training step: the trainer, the gradient reducers, the optimizer and its schedule,
        // evaluation and sampling.
        .target(name: "Training", dependencies: [
            "PreparedData", "Checkpoints", "TextData", "Config", "ModelSpec", "Models", "Kernels", "CKernels", "Collectives", "Files", "Clock",
        ]),
        // The run around the step: its directory and lock, resume, the prepared RUN/data, metrics,
        // TensorBoard, the progress line and every rank's times.
        .target(name: "Runs", dependencies: [
            "Training", "PreparedData", "Checkpoints", "TextData", "Config", "Models", "Kernels", "Collectives", "Files", "TensorBoard",
            "CRename", "Clock",
        ]),
        // `rnntrain bench`: timed steps on synthetic tokens and the core's measured peaks.
        .target(name: "Benchmarks", dependencies: ["Training", "Config", "ModelSpec", "Models", "Kernels", "CKernels", "Collectives", "TextData", "Files", "Clock"]),
        // The ONNX graph of a checkpoint's model (`rnntrain export`); onnx.pb.swift is generated, committed.
        .target(name: "ONNXExport", dependencies: [
            "ModelSpec", "Models", "Kernels", "TextData", "Files", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["onnx.proto"]),
        // An n-gram model's run directory: written, verified, read back, scored and sampled.
        .target(name: "NGramFiles", dependencies: ["NGram", "Checkpoints", "Config", "Files", "Kernels", "TextData", "Training"]),
        .executableTarget(name: "rnntrain", dependencies: [
            "Training", "Runs", "Benchmarks", "PreparedData", "Checkpoints", "TextData", "Config", "ModelSpec", "Models", "Kernels", "Collectives",
            "MPICollectives", "Files", "NGram", "NGramFiles",
            "ONNXExport", "Clock",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // Assertions on the UserError (or AgreedError) a call throws, for the test targets of the modules that throw them.
        .target(name: "ErrorAssertions", dependencies: ["Files", "Collectives"], path: "Tests/ErrorAssertions"),
        // A small corpus, its config and a trainer, for the tests of the step and of the run.
        .target(name: "TrainingSupport", dependencies: [
            "Training", "Config", "TextData", "ModelSpec", "Models", "Kernels", "Collectives", "Files", "TestSupport",
        ],
                path: "Tests/TrainingSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "Models", "CKernels", "TestSupport"]),
        .testTarget(name: "ClockTests", dependencies: ["Clock"]),
        .testTarget(name: "NGramTests", dependencies: ["NGram", "TestSupport"]),
        .testTarget(name: "NGramFilesTests", dependencies: ["NGramFiles", "NGram", "TextData", "Config", "Files"]),
        .testTarget(name: "TensorBoardTests", dependencies: ["TensorBoard", "Files", "TestSupport"]),
        .testTarget(name: "ONNXExportTests", dependencies: [
            "ONNXExport", "ModelSpec", "Models", "Config", "TextData", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .testTarget(name: "ModelSpecTests", dependencies: ["ModelSpec"]),
        .testTarget(name: "ModelsTests", dependencies: ["ModelSpec", "Models", "TestSupport"]),
        .testTarget(name: "FilesTests", dependencies: ["Files", "ErrorAssertions", "TestSupport"]),
        .testTarget(name: "CollectivesTests", dependencies: ["Collectives"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "ModelSpec", "Files", "ErrorAssertions", "TestSupport"]),
        .testTarget(name: "TextDataTests", dependencies: ["TextData", "Config", "ModelSpec", "Files", "ErrorAssertions"]),
        // FuzzTests throws mutated files at every reader of a checkpoint, the config's and the
        // prepared token file's (PreparedData's TokenFileHeader) too.
        .testTarget(name: "CheckpointsTests", dependencies: [
            "Checkpoints", "PreparedData", "TextData", "Config", "ModelSpec", "Models", "Kernels", "Files", "ErrorAssertions", "TestSupport",
        ]),
        .testTarget(name: "PreparedDataTests", dependencies: [
            "PreparedData", "Checkpoints", "TextData", "Config", "Files", "ErrorAssertions", "TestSupport",
        ]),
        .testTarget(name: "TrainingTests", dependencies: [
            "Training", "Runs", "PreparedData", "Checkpoints", "TextData", "Config", "ModelSpec", "Models", "Kernels", "Collectives", "Files",
            "ErrorAssertions", "TestSupport", "TrainingSupport",
        ]),
        .testTarget(name: "RunsTests", dependencies: [
            "Runs", "Training", "PreparedData", "Checkpoints", "TextData", "Config", "Models", "Kernels", "Collectives", "Files",
            "TensorBoard", "ErrorAssertions", "TestSupport", "TrainingSupport",
        ]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Training"]),
        // Runs the built rnntrain binary (and mpirun) as a user would.
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)

// The tests are compiled once and run once: in a release build (launch/test's, under
// AddressSanitizer) they are left unoptimized, which saves a quarter of that build; the code they
// test is optimized.
for target in package.targets where target.type == .test || target.path?.hasPrefix("Tests/") == true {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-Onone"], .when(configuration: .release))]
}
