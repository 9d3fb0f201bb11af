@testable import Checkpoints
@testable import Config
import Dispatch
import Files
import Foundation
import Glibc
import PreparedData
import TestSupport
@testable import TextData
import XCTest

/// The seeded mutation fuzzer of every reader a checkpoint or config goes through: each mutated
/// input must either decode or throw a one-line `UserError`; any other error fails the test, a
/// trap ends the process (after saving the input and naming it, see `CrashReport`), an input that
/// takes more than `hangSeconds` ends it too, and the peak RSS may not grow by more than 64 MB.
///
///     RNNTRAIN_FUZZ_ITERATIONS   inputs in all (default 100 000 here; launch/fuzz runs millions)
///     RNNTRAIN_FUZZ_SEED         the seed (default fixed, so CI is reproducible); printed
///     RNNTRAIN_FUZZ_FIRST        index of the first input: with ITERATIONS=1, replays one input
///
/// Input i is built from a generator seeded by (seed, i) alone, so any one can be replayed.
final class FuzzTests: XCTestCase {
    static let defaultIterations = 100_000
    static let defaultSeed: UInt64 = 20_261_127
    static let hangSeconds = 30.0
    static let rssGrowthLimit = 64 << 20

    enum Reader: String, CaseIterable {
        case safetensors = "SafeTensors.decodeWithMetadata"
        case state = "TrainingState.decode"
        case model = "ModelFile.decode"
        case checkpoint = "Checkpoint(files:name:)"
        case config = "TrainingConfig.parse"
        case manifest = "CheckpointStore.parseManifest"
        case directory = "Checkpoint.load (files on disk)"
        case tokenHeader = "TokenFileHeader.parse"

        /// Share of the inputs, by how much each reader has to explore and how fast it runs: a
        /// whole checkpoint (three files, one of them YAML) and a config (Yams, whose tag
        /// resolution runs regular expressions) cost several times what a safetensors file does.
        var weight: Int {
            switch self {
            case .safetensors: return 30
            case .state: return 16
            case .model: return 22
            case .checkpoint: return 4
            case .config: return 12
            case .manifest: return 16
            case .directory: return 0  // every `directoryEvery`-th input instead
            case .tokenHeader: return 8
            }
        }
    }

    /// One input in this many goes through real files (write, read back, verify, decode).
    static let directoryEvery = 1000

    struct Tally {
        var accepted = 0
        var refused = 0
        /// Seconds spent making the inputs and reading them.
        var making = 0.0
        var reading = 0.0
    }

    func testMutatedInputsDecodeOrThrowUserError() throws {
        let environment = ProcessInfo.processInfo.environment
        let total = try environment["RNNTRAIN_FUZZ_ITERATIONS"].map { try XCTUnwrap(Int($0), "RNNTRAIN_FUZZ_ITERATIONS") }
            ?? Self.defaultIterations
        let seed = try environment["RNNTRAIN_FUZZ_SEED"].map { try XCTUnwrap(UInt64($0), "RNNTRAIN_FUZZ_SEED") } ?? Self.defaultSeed
        let first = try environment["RNNTRAIN_FUZZ_FIRST"].map { try XCTUnwrap(Int($0), "RNNTRAIN_FUZZ_FIRST") } ?? 0
        print("fuzz: seed \(seed), inputs \(first)..<\(first + total) (replay one: RNNTRAIN_FUZZ_SEED=\(seed) RNNTRAIN_FUZZ_FIRST=<i> RNNTRAIN_FUZZ_ITERATIONS=1)")

        let directory = try temporaryDirectory(self, "fuzz")
        let seeds = Corpus()
        CrashReport.install(seed: seed, path: directory.deletingLastPathComponent().appendingPathComponent("rnntrain-fuzz-crash.bin").path)
        defer { CrashReport.uninstall() }
        let watchdog = Watchdog(limit: Self.hangSeconds)
        defer { watchdog.stop() }

        var tallies: [Reader: Tally] = [:]
        var failures: [String] = []
        var slowest = (seconds: 0.0, index: 0, reader: Reader.safetensors)
        let weights = Reader.allCases.flatMap { Array(repeating: $0, count: $0.weight) }
        let started = DispatchTime.now().uptimeNanoseconds
        var baseline = peakRSS()
        let warmUp = first + min(total / 100, 1000)

        for index in first..<(first + total) {
            if index == warmUp { baseline = peakRSS() }
            var rng = Mutator.RNG(seed: seed ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93))
            _ = rng.next()
            let reader = index % Self.directoryEvery == Self.directoryEvery - 1 ? .directory : rng.pick(weights)
            let made = DispatchTime.now().uptimeNanoseconds
            let input = seeds.input(for: reader, rng: &rng, directory: directory)
            let before = DispatchTime.now().uptimeNanoseconds
            tallies[reader, default: Tally()].making += Double(before - made) * 1e-9
            watchdog.begin(index: index, reader: reader.rawValue)
            let outcome = CrashReport.guarding(index: index, input: input.saved) { try input.run() }
            watchdog.end()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - before) * 1e-9
            if seconds > slowest.seconds { slowest = (seconds, index, reader) }
            tallies[reader, default: Tally()].reading += seconds

            switch outcome {
            case .success:
                tallies[reader, default: Tally()].accepted += 1
            case .failure(let error as UserError):
                tallies[reader, default: Tally()].refused += 1
                let message = error.description
                if message.contains("\n") || message.contains("\r") || message.isEmpty || !input.named(message) {
                    failures.append("input \(index) (\(reader.rawValue)): message is not one line naming the file: \(String(message.debugDescription.prefix(300)))")
                }
            case .failure(let error):
                failures.append("input \(index) (\(reader.rawValue)): \(type(of: error)), not a UserError: \(String("\(error)".prefix(300)))")
            }
            if failures.count >= 10 { break }
        }

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
        let tried = tallies.values.reduce(0) { $0 + $1.accepted + $1.refused }
        let growth = peakRSS() - baseline
        for reader in Reader.allCases {
            let t = tallies[reader] ?? Tally()
            print(String(format: "fuzz: %@: %d inputs, %d accepted, %d refused with a UserError; %.1f s making them, %.1f s reading",
                         reader.rawValue, t.accepted + t.refused, t.accepted, t.refused, t.making, t.reading))
        }
        print(String(format: "fuzz: %d inputs tried, 0 crashes, %d failures, seed %llu, %.1f s (%.0f inputs/s), slowest input %d (%@) %.3f s, peak RSS grew %d MB",
                     tried, failures.count, seed, seconds, Double(tried) / seconds, slowest.index, slowest.reader.rawValue,
                     slowest.seconds, growth >> 20))
        for failure in failures { XCTFail(failure) }
        XCTAssertEqual(tried, failures.count >= 10 ? tried : total, "every input was tried")
        assertMemoryGrowth(growth, below: Self.rssGrowthLimit, "peak RSS grew by \(growth >> 20) MB: some input made a reader allocate far beyond its size")
        // A reader that accepted nothing or refused nothing is not being explored.
        for reader in Reader.allCases where (tallies[reader].map { $0.accepted + $0.refused } ?? 0) >= 1000 {
            XCTAssertGreaterThan(tallies[reader]!.refused, 0, "\(reader.rawValue) refused nothing")
            XCTAssertGreaterThan(tallies[reader]!.accepted, 0, "\(reader.rawValue) accepted nothing: mutations never get past its first check")
        }
    }

    /// Every seed must decode: otherwise the fuzzer mutates inputs that were wrong to begin with.
    func testSeedsAreValid() throws {
        for seed in FuzzSeeds.checkpoints {
            XCTAssertNoThrow(try ModelFile.decode(seed.model, source: seed.label), seed.label)
            XCTAssertNoThrow(try TrainingState.decode(seed.state, source: seed.label), seed.label)
            XCTAssertNoThrow(try Checkpoints.Checkpoint(files: seed.files, name: seed.label), seed.label)
            XCTAssertEqual(try CheckpointStore.parseManifest(Array(seed.manifest.utf8), source: seed.label).count, 3)
        }
        for config in FuzzSeeds.configs {
            XCTAssertNoThrow(try TrainingConfig.parse(yaml: config, source: "seed.yaml"))
        }
        for (header, size) in Corpus.tokenHeaders {
            XCTAssertNoThrow(try TokenFileHeader.parse(header, fileSize: size, source: "seed.tokens"))
        }
    }
}

// MARK: - Inputs

extension FuzzTests {
    /// One mutated input, ready to run against its reader.
    struct Input {
        /// The bytes worth saving if the reader crashes (the mutated file).
        let saved: [UInt8]
        /// The names a message may start with: the file (or checkpoint), or an option key.
        let sources: [String]
        let run: () throws -> Void

        /// Compared as bytes: as Characters, a combining mark after ": " would hide the prefix.
        func named(_ message: String) -> Bool {
            sources.contains { message.utf8.starts(with: ($0 + ": ").utf8) || message.utf8.starts(with: ($0 + "/").utf8) }
        }
    }

    /// The seeds, and how to turn them into mutated inputs for each reader.
    final class Corpus {
        let small = FuzzSeeds.checkpoints.filter { !FuzzSeeds.isLarge($0) }
        let large = FuzzSeeds.checkpoints.filter(FuzzSeeds.isLarge)
        let safetensors: [[UInt8]]
        /// The safetensors seeds decoded, for mutating one metadata value.
        let decoded: [[UInt8]: (tensors: [SafeTensors.Tensor], metadata: [String: String])]
        let configs: [[UInt8]]
        let manifests: [[UInt8]]
        /// Prepared token file headers of each width and tokenizer, with the size of their file.
        static let tokenHeaders: [([UInt8], Int)] = [(1, 65, TokenizerKind.char, 1000), (2, 257, .byte, 3), (2, 30_000, .word, 0),
                                                     (4, 70_000, .word, 12)].map { width, size, kind, count in
            let header = TokenFileHeader(width: width, count: count, vocabularySize: size, tokenizer: kind,
                                         vocabularyHash: Array(repeating: 0xAB, count: 32))
            return (header.encoded(), TokenFileHeader.size + count * width)
        }
        /// A validation message names the key, not the file (TrainingConfig.validate).
        let optionKeys = TrainingConfig.options.map(\.key) + ["model.vocabulary"]

        init() {
            safetensors = FuzzSeeds.checkpoints.flatMap { [$0.model, $0.state] }
            var decoded: [[UInt8]: (tensors: [SafeTensors.Tensor], metadata: [String: String])] = [:]
            for bytes in safetensors {
                let file = try! SafeTensors.decodeWithMetadata(bytes, source: "seed")
                decoded[bytes] = (file.tensors.keys.sorted().map { file.tensors[$0]! }, file.metadata)
            }
            self.decoded = decoded
            configs = FuzzSeeds.configs.map { Array($0.utf8) }
            manifests = FuzzSeeds.checkpoints.map { Array($0.manifest.utf8) }
        }

        /// A seed checkpoint; a large one in 20 picks.
        func pickCheckpoint(_ rng: inout Mutator.RNG) -> FuzzSeeds.Checkpoint {
            rng.chance(0.05) && !large.isEmpty ? rng.pick(large) : rng.pick(small)
        }

        /// A seed safetensors file of any kind, large ones as rarely as in `pickCheckpoint`.
        func pickSafetensors(_ rng: inout Mutator.RNG) -> [UInt8] {
            let checkpoint = pickCheckpoint(&rng)
            return rng.chance(0.5) ? checkpoint.model : checkpoint.state
        }

        func input(for reader: Reader, rng: inout Mutator.RNG, directory: URL) -> Input {
            switch reader {
            case .safetensors:
                let bytes = mutateSafetensors(pickSafetensors(&rng), rng: &rng)
                return Input(saved: bytes, sources: ["fuzz.safetensors"]) {
                    _ = try SafeTensors.decodeWithMetadata(bytes, source: "fuzz.safetensors")
                }
            case .state:
                let seed = rng.chance(0.9) ? pickCheckpoint(&rng).state : pickSafetensors(&rng)
                let bytes = mutateSafetensors(seed, rng: &rng)
                return Input(saved: bytes, sources: ["state.safetensors"]) {
                    _ = try TrainingState.decode(bytes, source: "state.safetensors")
                }
            case .model:
                let seed = rng.chance(0.9) ? pickCheckpoint(&rng).model : pickSafetensors(&rng)
                let bytes = mutateSafetensors(seed, rng: &rng)
                return Input(saved: bytes, sources: ["model.safetensors"]) {
                    _ = try ModelFile.decode(bytes, source: "model.safetensors")
                }
            case .config:
                var mutator = Mutator(seed: rng.next(), corpus: configs)
                let bytes = mutator.mutate(rng.pick(configs))
                let text = String(decoding: bytes, as: UTF8.self)
                return Input(saved: bytes, sources: ["fuzz.yaml"] + optionKeys) {
                    _ = try TrainingConfig.parse(yaml: text, source: "fuzz.yaml")
                }
            case .manifest:
                var mutator = Mutator(seed: rng.next(), corpus: manifests)
                let bytes = mutator.mutate(rng.pick(manifests))
                return Input(saved: bytes, sources: ["SHA256SUMS"]) {
                    _ = try CheckpointStore.parseManifest(bytes, source: "SHA256SUMS")
                }
            case .tokenHeader:
                let (header, size) = rng.pick(Self.tokenHeaders)
                var mutator = Mutator(seed: rng.next(), corpus: Self.tokenHeaders.map(\.0))
                let bytes = mutator.mutate(header)
                // Mostly the seed's own file size, so mutations of single fields are what is refused.
                let fileSize = rng.chance(0.7) ? size : rng.chance(0.5) ? rng.below(1 << 20) : Int(rng.next() >> 1)
                return Input(saved: bytes, sources: ["fuzz.tokens"]) {
                    _ = try TokenFileHeader.parse(bytes, fileSize: fileSize, source: "fuzz.tokens")
                }
            case .checkpoint:
                let (files, saved) = mutateCheckpoint(rng: &rng)
                return Input(saved: saved, sources: ["fuzz-checkpoint"]) {
                    _ = try Checkpoints.Checkpoint(files: files, name: "fuzz-checkpoint")
                }
            case .directory:
                let (files, saved) = mutateCheckpoint(rng: &rng)
                let url = directory.appendingPathComponent("step-00000001")
                try? FileManager.default.removeItem(at: url)
                try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                var manifest = files.keys.sorted().map { SHA256.hex(SHA256.hash(files[$0]!)) + "  " + $0 + "\n" }.joined()
                if rng.chance(0.3) {  // a manifest that no longer matches, or is itself damaged
                    var mutator = Mutator(seed: rng.next(), corpus: manifests)
                    manifest = String(decoding: mutator.mutate(Array(manifest.utf8)), as: UTF8.self)
                }
                for (name, bytes) in files { try? Data(bytes).write(to: url.appendingPathComponent(name)) }
                try? Data(manifest.utf8).write(to: url.appendingPathComponent(CheckpointStore.manifestName))
                return Input(saved: saved, sources: [url.path]) {
                    _ = try Checkpoints.Checkpoint.load(url.path)
                }
            }
        }

        /// A seed checkpoint with one file mutated, or files of two different seeds mixed.
        func mutateCheckpoint(rng: inout Mutator.RNG) -> (files: [String: [UInt8]], saved: [UInt8]) {
            var files = pickCheckpoint(&rng).files
            let names = files.keys.sorted()
            if rng.chance(0.15) {
                let name = rng.pick(names)
                files[name] = pickCheckpoint(&rng).files[name]
                return (files, files[name]!)
            }
            let name = rng.pick(names)
            let bytes: [UInt8]
            if name == Checkpoints.Checkpoint.configName {
                var mutator = Mutator(seed: rng.next(), corpus: configs)
                bytes = mutator.mutate(files[name]!)
            } else {
                bytes = mutateSafetensors(files[name]!, rng: &rng)
            }
            files[name] = bytes
            return (files, bytes)
        }

        /// Mutations of a safetensors file: of the raw bytes; of the header only, with the length
        /// field kept right so the mutation reaches the JSON; or of one metadata value (the model
        /// config, the vocabulary, a counter), re-encoded so it reaches the reader behind the header.
        func mutateSafetensors(_ seed: [UInt8], rng: inout Mutator.RNG) -> [UInt8] {
            mutateSafetensorsBranch(seed, rng: &rng, rng.below(10))
        }
        func mutateSafetensorsBranch(_ seed: [UInt8], rng: inout Mutator.RNG, _ branch: Int) -> [UInt8] {
            var mutator = Mutator(seed: rng.next(), corpus: safetensors)
            switch branch {
            case 0, 1, 2:
                return mutator.mutate(seed)
            case 3, 4, 5, 6:
                let length = seed.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
                let header = mutator.mutate(Array(seed[8..<(8 + length)]))
                var out = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header
                out += seed[(8 + length)...]
                if rng.chance(0.1) { out = mutator.mutateOnce(out) }
                return out
            default:
                guard let decoded = decoded[seed], !decoded.metadata.isEmpty else { return mutator.mutate(seed) }
                var metadata = decoded.metadata
                let key = rng.pick(metadata.keys.sorted())
                let metadataCorpus = decoded.metadata.values.map { Array($0.utf8) }
                // Kept small: re-encoding a large value costs a debug build milliseconds, and
                // the raw and header mutations already try large inputs.
                var valueMutator = Mutator(seed: rng.next(), corpus: metadataCorpus, large: false)
                metadata[key] = String(decoding: valueMutator.mutate(Array(metadata[key]!.utf8)), as: UTF8.self)
                if rng.chance(0.1) { metadata[key] = nil }
                var tensors = decoded.tensors
                if rng.chance(0.2), !tensors.isEmpty {  // drop a tensor, or add a stray one
                    if rng.chance(0.5) { tensors.remove(at: rng.below(tensors.count)) } else {
                        tensors.append(SafeTensors.Tensor(name: "stray", dtype: .f32, shape: [1], bytes: [0, 0, 128, 63]))
                    }
                }
                return SafeTensors.encode(tensors, metadata: metadata)
            }
        }
    }
}

// MARK: - Crashes and hangs

/// Saves the input being read when the process traps (SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT,
/// SIGFPE), prints which one it was, then lets the previous handler (Swift's backtracer) run.
enum CrashReport {
    nonisolated(unsafe) static var input: UnsafeRawBufferPointer?
    nonisolated(unsafe) static var index = 0
    nonisolated(unsafe) static var seed: UInt64 = 0
    nonisolated(unsafe) static var path: UnsafeMutablePointer<CChar>?
    /// The handlers we replaced, by signal number (an array: no hashing in a signal handler).
    nonisolated(unsafe) static var previous: [Glibc.sigaction] = Array(repeating: Glibc.sigaction(), count: 64)
    nonisolated(unsafe) static var installed = false
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE]

    static func install(seed: UInt64, path: String) {
        Self.seed = seed
        Self.path = strdup(path)
        Self.input = nil
        Self.index = 0
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in CrashReport.handle(signal) }
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, &previous[Int(signal)])
        }
        installed = true
    }

    static func uninstall() {
        guard installed else { return }
        for signal in signals { sigaction(signal, &previous[Int(signal)], nil) }
        installed = false
    }

    static func guarding(index: Int, input: [UInt8], _ body: () throws -> Void) -> Result<Void, Error> {
        input.withUnsafeBytes { bytes in
            Self.input = bytes
            Self.index = index
            defer { Self.input = nil }
            return Result { try body() }
        }
    }

    /// Only async-signal-safe calls: write(2), open(2), close(2), sigaction(2).
    static func handle(_ signal: Int32) {
        func say(_ text: StaticString) { _ = write(2, text.utf8Start, text.utf8CodeUnitCount) }
        func say(_ number: UInt64) {
            var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
            withUnsafeMutableBytes(of: &buffer) { raw in
                var n = number, i = 24
                repeat { i -= 1; raw[i] = UInt8(48 + n % 10); n /= 10 } while n > 0
                _ = write(2, raw.baseAddress! + i, 24 - i)
            }
        }
        say("\nfuzz: crashed on input ")
        say(UInt64(index))
        say("; replay it with RNNTRAIN_FUZZ_SEED=")
        say(seed)
        say(" RNNTRAIN_FUZZ_FIRST=")
        say(UInt64(index))
        say(" RNNTRAIN_FUZZ_ITERATIONS=1\n")
        if let input, let path {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if fd >= 0 {
                _ = write(fd, input.baseAddress, input.count)
                close(fd)
                say("fuzz: the input is saved in ")
                _ = write(2, path, strlen(path))
                say("\n")
            }
        }
        // Back to the previous handler; the faulting instruction runs again and reaches it.
        sigaction(signal, &previous[Int(signal)], nil)
    }
}

/// Ends the process if one input runs longer than `limit` seconds: a hang is a failure the test
/// could otherwise never report.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Double
    private var current: (index: Int, reader: String, started: UInt64)?
    private var running = true

    init(limit: Double) {
        self.limit = limit
        Thread { [self] in watch() }.start()
    }

    private func watch() {
        while true {
            Thread.sleep(forTimeInterval: 1)
            lock.lock()
            let (running, current) = (self.running, self.current)
            lock.unlock()
            guard running else { return }
            if let current, Double(DispatchTime.now().uptimeNanoseconds - current.started) * 1e-9 > limit {
                FileHandle.standardError.write(Data("fuzz: input \(current.index) (\(current.reader)) ran for more than \(limit) s: a hang\n".utf8))
                abort()
            }
        }
    }

    func begin(index: Int, reader: String) {
        lock.lock()
        current = (index, reader, DispatchTime.now().uptimeNanoseconds)
        lock.unlock()
    }

    func end() {
        lock.lock()
        current = nil
        lock.unlock()
    }

    func stop() {
        lock.lock()
        running = false
        lock.unlock()
    }
}
