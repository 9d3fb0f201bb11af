import Foundation
import XCTest

/// Two emulated hosts (network namespaces on a bridge, launch/cluster): ranks on different hosts
/// talk over TCP, and deterministic training still gives the single-process weights bit for bit.
final class MultiRankClusterTests: MultiRankTestCase {
    let cluster = Tool.root.appendingPathComponent("launch/cluster")
    var clusterUp = false

    /// Runs a command to completion within `limit` seconds.
    func command(_ path: String, _ arguments: [String], limit: TimeInterval = 60) throws -> MultiRankResult {
        finish(try start(URL(fileURLWithPath: path), arguments, directory: Tool.root), limit: limit)
    }

    override func tearDown() {
        if clusterUp {
            if let r = try? command(cluster.path, ["down"]), r.status != 0 {
                XCTFail("launch/cluster down failed:\n\(r.output)")
            }
            clusterUp = false
        }
        super.tearDown()
    }

    func testTwoEmulatedHostsTrainBitIdenticallyToOneProcess() throws {
        // The one allowed skip: a machine that refuses network namespaces.
        let probe = "rnnprobe\(getpid())"
        let add = try command("/usr/sbin/ip", ["netns", "add", probe])
        if add.status != 0 {
            throw XCTSkip("ip netns add is refused here: \(add.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        _ = try command("/usr/sbin/ip", ["netns", "del", probe])

        clusterUp = true
        let up = try command(cluster.path, ["up", "2"])
        XCTAssertEqual(up.status, 0, "launch/cluster up 2:\n\(up.output)")
        guard up.status == 0 else { return }
        let flags = try command(cluster.path, ["flags"])
        XCTAssertEqual(flags.status, 0, flags.output)
        let options = flags.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        // The emulated hosts, from the hostfile the flags point at.
        guard let at = options.firstIndex(of: "--hostfile"), at + 1 < options.count else {
            return XCTFail("no --hostfile in the flags: \(flags.stdout)")
        }
        let hostfile = try String(contentsOfFile: options[at + 1], encoding: .utf8)
        let emulated = Set(hostfile.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        XCTAssertEqual(emulated.count, 2, "hostfile:\n\(hostfile)")

        let config = try writeConfig(extra: ["data": ["mode: stream"], "model": ["dropout: 0.2"]])
        let single = try train(ranks: 0, config: config, runDir: "single", ["train.deterministic=true"])

        let dir = scratch.appendingPathComponent("hosts")
        let job = try start(Self.mpirun, ["-np", "2"] + options + ["--display-map", "-x", "OPENBLAS_NUM_THREADS",
                                          "-x", "OMP_NUM_THREADS", Tool.binary.path, "train", "--config", config.path,
                                          "--run-dir", dir.path, "--set", "train.deterministic=true"])
        let r = finish(job)
        XCTAssertEqual(r.status, 0, r.output)
        // mpirun's own map: one rank on each emulated host.
        let hosts = Set(r.stdout.components(separatedBy: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "Data for node: ") else { return nil }
            return line[range.upperBound...].split(whereSeparator: \.isWhitespace).first.map(String.init)
        })
        XCTAssertEqual(hosts, emulated, "ranks were not placed on the two emulated hosts:\n\(r.stdout.prefix(3000))")
        XCTAssertEqual(r.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("training ") && $0.contains("on 2 ranks") }.count, 1,
                       r.stdout)

        assertBitIdentical(try weights(single, step: 30), try weights(dir, step: 30), "two emulated hosts vs one process")
    }
}
