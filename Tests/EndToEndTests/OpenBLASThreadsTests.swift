import Foundation
import XCTest

/// A rank computes on one core: with `OPENBLAS_NUM_THREADS` unset, as a fresh shell has it, or
/// empty, as `mpirun -x` passes an unset variable, the program sets it to 1 before OpenBLAS loads
/// (it starts itself again), so `mpirun -np P` on a P-core node does not run P threads per rank;
/// a value the caller set is kept. `bench` prints OpenBLAS's own count of its threads
/// (`openblas_get_num_threads`), which tells.
final class OpenBLASThreadsTests: XCTestCase {
    func testOneThreadPerRankUnlessTheCallerAskedOtherwise() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rnntrain-blas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("bench.yaml")
        try """
        model: {cell: lstm, layers: 1, hidden: 8, embedding: 8}
        train: {global_batch: 2, seq_len: 4}
        bench: {vocabulary: 16}
        """.write(to: config, atomically: true, encoding: .utf8)
        let bench = [Tool.binary.path, "bench", "--config", config.path, "--steps", "1"]
        // Unset, OpenBLAS itself would take a thread per core: 2 cores or more tell that from 1.
        XCTAssertGreaterThan(ProcessInfo.processInfo.activeProcessorCount, 1, "needs 2 cores to tell 1 thread from OpenBLAS's default")
        for (arguments, expected) in [(["-u", "OPENBLAS_NUM_THREADS"] + bench, 1), (["OPENBLAS_NUM_THREADS="] + bench, 1),
                                      (["OPENBLAS_NUM_THREADS=2"] + bench, 2)] {
            let r = try Tool.run(URL(fileURLWithPath: "/usr/bin/env"), arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("OpenBLAS threads \(expected),"), "\(arguments.prefix(2)): \(r.stdout)")
        }
    }
}
