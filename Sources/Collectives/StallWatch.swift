import Clock
import Foundation

/// How a backend waits in a collective without hanging the job: it polls the collective, lets
/// the rank answer liveness pings meanwhile, and after `timeout` seconds asks which ranks do not
/// answer and throws `StallError`. The backend supplies the three operations; a poll-driven
/// backend (Open MPI moves a non-blocking collective only inside MPI calls) needs nothing else.
public struct StallWatch {
    /// Seconds a collective may wait (train.step_timeout).
    public var timeout = Double.infinity
    /// The training step, for the message.
    public var step = 0
    /// This rank, and every rank's host (empty when the backend does not know), for the message.
    public var rank = 0
    public var hosts: [String] = []

    public init() {}

    /// How long a pinged rank has to answer: a rank waiting in a collective answers within
    /// one poll, so a quarter of the timeout, 1 to 5 s, separates waiting from stuck.
    public var grace: Double { min(5.0, max(1.0, timeout / 4)) }

    /// Polls `done` until it holds, calling `answerPings` between polls; after `timeout`
    /// seconds throws `StallError` with the ranks `unresponsiveRanks` names, each with whether
    /// it had announced that it reached this step's collectives.
    public func wait(in operation: String, until done: () throws -> Bool, answeringPings answerPings: () throws -> Void,
                     unresponsiveRanks: () throws -> [(rank: Int, arrived: Bool)]) throws {
        let start = ContinuousClock.now
        // A short backoff: a sum over shared memory completes in microseconds.
        var pause: UInt32 = 1
        while try !done() {
            try answerPings()
            let waited = start.secondsAgo
            if waited > timeout {
                let silent = try unresponsiveRanks()
                throw StallError(step: step, seconds: waited, operation: operation, missing: silent.map(\.rank),
                                 arrived: Set(silent.filter(\.arrived).map(\.rank)), rank: rank, hosts: hosts, grace: grace)
            }
            usleep(pause)
            pause = min(pause * 2, 200)
        }
    }

}

/// A collective waited longer than the timeout.
public struct StallError: Error, CustomStringConvertible {
    public let step: Int
    public let seconds: Double
    /// What the rank was waiting in.
    public let operation: String
    /// Ranks that did not answer a liveness ping: busy elsewhere, hung or stopped, or behind a
    /// dead link. Empty when every rank answered, so the collective itself did not advance.
    public let missing: [Int]
    /// The missing ranks that had announced they reached this step's collectives: they were
    /// waiting, as this rank is, so when they are on another host the link is what fails.
    public let arrived: Set<Int>
    /// The rank that waited, and every rank's host (empty when unknown).
    public let rank: Int
    public let hosts: [String]
    /// Seconds the missing ranks had to answer the ping.
    public let grace: Double

    public init(step: Int, seconds: Double, operation: String, missing: [Int], arrived: Set<Int> = [], rank: Int = 0,
                hosts: [String] = [], grace: Double = 0) {
        (self.step, self.seconds, self.operation, self.missing) = (step, seconds, operation, missing)
        (self.arrived, self.rank, self.hosts, self.grace) = (arrived, rank, hosts, grace)
    }

    /// The ranks whose silence is a link's fault: waiting like this rank, but on another host.
    public var links: [Int] { missing.filter { arrived.contains($0) && host($0) != nil && host($0) != host(rank) } }

    func host(_ r: Int) -> String? { r < hosts.count ? hosts[r] : nil }

    func named(_ r: Int) -> String { host(r).map { "rank \(r) (host \($0))" } ?? "rank \(r)" }

    public var description: String {
        let when = "for \(Int(seconds)) s at step \(step) (train.step_timeout)"
        if missing.isEmpty {
            return "\(operation) made no progress \(when) though every rank answers pings: a link between hosts is too slow "
                + "or drops data; aborting the job"
        }
        let links = self.links
        if !links.isEmpty {
            let which = links.map { "the link between \(named(rank)) and \(named($0))" }.joined(separator: ", ")
            return "\(which) carries nothing \(when): \(links.count == 1 ? "rank \(links[0]) has" : "those ranks have") reached "
                + "\(operation) but \(links.count == 1 ? "answers" : "answer") no ping within \(Int(grace.rounded(.up))) s; aborting the job"
        }
        let stuck = missing
        let who = stuck.count == 1 ? "rank \(stuck[0])" : "ranks \(stuck.map(String.init).joined(separator: ", "))"
        let places = stuck.compactMap(host)
        let distinct = Array(Set(places)).sorted()
        let whereText = places.count == stuck.count ? ", on host\(distinct.count == 1 ? "" : "s") \(distinct.joined(separator: ", "))" : ""
        // A silent rank on another host that never said it arrived may be hung, or behind a link that died first.
        let remote = stuck.contains { host($0) != nil && host($0) != host(rank) }
        return "\(who) made no progress \(when)\(whereText)\(remote ? " (hung, stopped, or its host's link is down)" : ""); aborting the job"
    }
}
