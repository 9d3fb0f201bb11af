import Foundation
import XCTest

/// Which OpenBLAS kernels run decides deterministic mode's bits, and that choice used to live in
/// launch/setup (OPENBLAS_CORETYPE=SkylakeX), so the bare binary and a plain `mpirun` (OpenBLAS's
/// own pick: Prescott on this CPU) gave other weights than `launch/mpirun` for the same config.
/// The program now chooses: every launcher gives the same bits. Run with OPENBLAS_CORETYPE
/// removed from the environment, as a fresh shell has it. (The Slurm launcher is compared in
/// launch/stages/slurm, which has a real Slurm.)
final class LauncherBitsTests: MultiRankTestCase {
    func testBareBinaryPlainMpirunAndLaunchMpirunGiveTheSameBits() throws {
        let config = try writeConfig(extra: ["train": ["deterministic: true"]])
        func args(_ name: String) -> [String] {
            ["train", "--config", config.path, "--run-dir", scratch.appendingPathComponent(name).path]
        }
        let unset = ["OPENBLAS_CORETYPE"]
        let launchers: [(name: String, job: () throws -> MultiRankJob)] = [
            ("bare", { try self.start(Tool.binary, args("bare"), plain: true, removing: unset) }),
            ("mpirun", { try self.start(Self.mpirun, Self.mpirunOptions(ranks: 2) + [Tool.binary.path] + args("mpirun"),
                                        removing: unset) }),
            ("launch-mpirun", { try self.start(Tool.root.appendingPathComponent("launch/mpirun"), ["-n", "2", "--"] + args("launch-mpirun"),
                                               environment: ["RNNTRAIN_BIN": Tool.binary.path], removing: unset) }),
        ]
        var models: [(name: String, bytes: Data)] = []
        var kernels: [String] = []
        for launcher in launchers {
            let r = finish(try launcher.job())
            XCTAssertEqual(r.status, 0, "\(launcher.name):\n\(r.output.suffix(3000))")
            let final = checkpoint(scratch.appendingPathComponent(launcher.name), step: 30)
            models.append((launcher.name, try Data(contentsOf: final.appendingPathComponent("model.safetensors"))))
            let state = try SafetensorsFile(url: final.appendingPathComponent("state.safetensors"))
            kernels.append(state.metadata["kernels_openblas"] ?? "unrecorded")
        }
        for other in models.dropFirst() {
            XCTAssertTrue(other.bytes == models[0].bytes, "model.safetensors of \(other.name) differs from the bare binary's")
        }
        XCTAssertEqual(Set(kernels).count, 1, "the launchers ran other kernels: \(kernels)")
        // On a CPU with SkylakeX's AVX-512 subsets the program takes AVX-512 kernels by itself.
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set((cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? "").split(separator: " "))
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy({ flags.contains(Substring($0)) }) {
            XCTAssertTrue(["SkylakeX", "Cooperlake", "SapphireRapids"].contains(kernels[0]), "OpenBLAS ran \(kernels[0])")
        }
    }
}
