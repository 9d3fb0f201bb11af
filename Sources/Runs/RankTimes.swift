import Collectives
import Foundation
import Training

/// Where every rank's time went over a log interval, per step: its compute (forward, backward)
/// and its wait for the gradient sum after its own backward ended. Gathered once per log line
/// (one allgather of two numbers per rank), so it costs nothing per step.
///
/// A slow rank makes the others wait but not itself; a slow link makes every rank wait. So the
/// least wait over ranks is the communication no rank could hide (exposed), and the rank with the
/// most compute is the one the others wait for.
public struct RankTimes {
    /// Seconds per step, indexed by rank.
    public let compute: [Double]
    public let wait: [Double]

    /// The exposed wait must exceed this many times the slowest rank's compute, and
    /// `minimumWait` seconds per step, before rank 0 warns that communication is the bottleneck.
    public static let waitRatio = 4.0
    public static let minimumWait = 0.1
    /// A rank whose compute exceeds the median rank's by this factor is named as slow.
    public static let computeRatio = 2.0

    public init(compute: [Double], wait: [Double]) {
        self.compute = compute
        self.wait = wait
    }

    /// Every rank's per-step compute and wait over the interval since `before`.
    static func gather(since before: Trainer.StepTiming, now: Trainer.StepTiming, comm: Communicator) throws -> RankTimes {
        let steps = Double(max(1, now.steps - before.steps))
        let mine = [(now.compute - before.compute) / steps, (now.reduction - before.reduction) / steps]
        var all = [Double](repeating: 0, count: 2 * comm.size)
        try mine.withUnsafeBytes { send in try all.withUnsafeMutableBytes { try comm.allgather(send, into: $0) } }
        return RankTimes(compute: stride(from: 0, to: all.count, by: 2).map { all[$0] },
                         wait: stride(from: 1, to: all.count, by: 2).map { all[$0] })
    }

    public var slowestRank: Int { compute.indices.max { compute[$0] < compute[$1] } ?? 0 }
    public var exposedWait: Double { wait.min() ?? 0 }

    /// What is slow, in one line, or nil when nothing is: communication far beyond the compute
    /// (a slow link: every rank waits), or one rank computing far longer than the median.
    public func warning(hosts: [String], step: Int) -> String? {
        let slowest = slowestRank, slowestCompute = compute[slowest]
        let host = slowest < hosts.count ? " on \(hosts[slowest])" : ""
        if exposedWait > Self.waitRatio * slowestCompute, exposedWait > Self.minimumWait {
            return String(format: "at step %d every rank waits %.2f s per step for the gradient sum, %.0f× the %.3f s of compute of the slowest rank (rank %d%@): the network between the hosts is the bottleneck, not a rank (a slow or lossy link)",
                          step, exposedWait, exposedWait / max(slowestCompute, 1e-9), slowestCompute, slowest, host)
        }
        let median = compute.sorted()[compute.count / 2]
        if compute.count > 1, slowestCompute > Self.computeRatio * median, wait[slowest] < slowestCompute {
            return String(format: "at step %d rank %d%@ computes %.3f s per step, %.1f× the median rank's %.3f s: the other ranks wait for it",
                          step, slowest, host, slowestCompute, slowestCompute / max(median, 1e-9), median)
        }
        return nil
    }
}
