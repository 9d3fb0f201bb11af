import Config
import ErrorAssertions
import Foundation
import TestSupport
@testable import Training
import TrainingSupport
import XCTest

/// The memory a run asks for, counted from the config before anything is allocated.
final class MemoryBudgetTests: XCTestCase {
    /// The count must equal what a trainer really allocates for parameters, gradients,
    /// optimizer state (read off the buffers), the fixed-point sum (8 bytes a parameter) and the
    /// activation arena (read off the model).
    func testNeedEqualsWhatATrainerAllocates() throws {
        for overrides in [["optimizer.type=adam"], ["optimizer.type=sgd", "optimizer.momentum=0"],
                          ["optimizer.type=rmsprop", "train.deterministic=true", "model.dropout=0.3"],
                          ["model.cell=gru", "model.bidirectional=true", "data.mode=windows", "data.task=fill-in-the-middle",
                           "optimizer.type=sgd", "optimizer.momentum=0.9"],
                          ["train.reduce=bf16"], ["train.reduce=bf16", "train.deterministic=true", "train.deterministic_group=2"]] {
            let trainer = try TrainingTestFixtures.trainer(self, overrides)
            let config = trainer.config
            _ = try trainer.trainStep()
            let o = trainer.optimizer
            let fixed = config.train.deterministic ? 8 * trainer.model.layout.count : 0
            let wire = trainer.reducer.wire.map { $0.residuals.reduce($0.wire.bytes) { $0 + $1.bytes } } ?? 0
            let allocated = trainer.model.parameters.bytes + trainer.model.gradients.bytes + o.first.bytes + o.second.bytes + fixed + wire
            let need = MemoryBudget.need(config: config, model: trainer.model.config, sequences: trainer.microSize,
                                         microBatches: trainer.microRanges.count)
            XCTAssertEqual(need.state, Double(allocated), "\(overrides)")
            XCTAssertEqual(need.activations, Double(trainer.model.workspaceBytes), "\(overrides)")
            // Sharded over 4 ranks, each holds a quarter of the moments.
            let sharded = MemoryBudget.need(config: config, model: trainer.model.config, sequences: trainer.microSize,
                                            microBatches: trainer.microRanges.count, shards: 4)
            XCTAssertEqual(need.state - sharded.state, Double(o.first.bytes + o.second.bytes) * 3 / 4, accuracy: 1, "\(overrides)")
        }
    }

    func testANeedAboveTheMachinesShareIsRefusedWithTheSizes() throws {
        let need = MemoryBudget.Need(state: 3 * 1024 * 1024, activations: 5 * 1024 * 1024)
        XCTAssertNoThrow(try MemoryBudget.check(need, machine: (16 * 1024 * 1024, 1), sequences: 4, steps: 8))
        XCTAssertNoThrow(try MemoryBudget.check(need, machine: (8 * 1024 * 1024, 1), sequences: 4, steps: 8))
        assertUserError(try MemoryBudget.check(need, machine: (16 * 1024 * 1024, 4), sequences: 4, steps: 8),
                        mentions: ["8.0 MiB per rank", "3.0 MiB", "5.0 MiB", "4.0 MiB", "each of its 4 ranks", "τ = 8"])
    }

    /// The text's size is that of all the files `data.path` lists (a directory of 2 × 1000
    /// bytes: 2001 joined bytes need 16.2 KiB at 8.3 bytes a byte, one file 8.1 KiB), not of one of them; a prepared
    /// dataset is mapped, so it counts nothing.
    func testTheTextIsSizedByAllItsFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnntrain-budget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        addTeardownBlock { try? FileManager.default.removeItem(at: directory) }
        for name in ["a", "b"] { try Data(repeating: 0x61, count: 1000).write(to: directory.appendingPathComponent(name)) }
        var data = DataConfig()
        data.path = directory.appendingPathComponent("a").path
        XCTAssertNoThrow(try MemoryBudget.checkText(config: data, machine: (12 * 1024, 1)))
        data.path = directory.path
        assertUserError(try MemoryBudget.checkText(config: data, machine: (12 * 1024, 1)), mentions: [directory.path, "16.2 KiB"])
        data.path = directory.path + "/*"
        assertUserError(try MemoryBudget.checkText(config: data, machine: (12 * 1024, 1)), mentions: ["16.2 KiB"])
        try Data().write(to: directory.appendingPathComponent("train.tokens"))
        data.path = directory.path
        XCTAssertNoThrow(try MemoryBudget.checkText(config: data, machine: (12 * 1024, 1)))
    }

    /// A Slurm job or a container limits memory through its control group, and a limit anywhere
    /// above the process's group applies: the smallest one counts, "max" and v1's "no limit" do not.
    func testControlGroupLimitsAreFoundOnTheWayToTheRoot() throws {
        let root = try temporaryDirectory(self, "cgroup").path
        func write(_ value: String, _ path: String) throws {
            try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
            try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: root + path + "/" + (path.hasPrefix("/memory") ? "memory.limit_in_bytes" : "memory.max")))
        }
        // v2: the job's group limits, its step's group below does not.
        try write("max", "/slurm/job_7/step_0")
        try write("4294967296", "/slurm/job_7")
        try write("max", "/slurm")
        XCTAssertEqual(MemoryBudget.cgroupLimit(membership: "0::/slurm/job_7/step_0\n", root: root), 4294967296)
        // v1, with the memory controller sharing a line with another.
        try write("9223372036854771712", "/memory/docker/abc")
        try write("1073741824", "/memory/docker")
        XCTAssertEqual(MemoryBudget.cgroupLimit(membership: "4:cpuacct,memory:/docker/abc\n1:cpu:/\n", root: root), 1073741824)
        // Unlimited everywhere, or no readable files: no limit.
        try write("9223372036854771712", "/memory/free")
        XCTAssertNil(MemoryBudget.cgroupLimit(membership: "4:memory:/free\n", root: root))
        XCTAssertNil(MemoryBudget.cgroupLimit(membership: "0::/nowhere\n", root: root))
    }
}
