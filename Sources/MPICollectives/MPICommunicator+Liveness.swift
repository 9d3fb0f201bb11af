import CMPI
import Clock
import Collectives
import Foundation

/// The liveness pings behind `StallWatch`: point-to-point messages on their own tags, so they
/// pass while every collective is stuck.
extension MPICommunicator {
    private static let pingTag: Int32 = 7302, pongTag: Int32 = 7303, arrivalTag: Int32 = 7304

    /// Tells every other rank that this rank reached a collective of the current step, once per
    /// step, so a rank left waiting can tell a peer that waits too (then a silent link is the
    /// fault) from one that never came (hung or stopped).
    func announceArrival() throws {
        guard size > 1, watch.step != announced else { return }
        announced = watch.step
        for other in 0..<size where other != rank {
            let value = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
            value.pointee = Int64(watch.step)
            var request: MPI_Request? = cmpi_request_null()
            try check(MPI_Isend(value, 1, cmpi_int64(), Int32(other), Self.arrivalTag, world, &request), "MPI_Isend")
            replies.append((request, value))
        }
    }

    /// Records the arrivals other ranks announced, without waiting.
    private func receiveArrivals() throws {
        while true {
            var flag: Int32 = 0
            var status = cmpi_empty_status()
            try check(MPI_Iprobe(cmpi_any_source(), Self.arrivalTag, world, &flag, &status), "MPI_Iprobe")
            guard flag != 0 else { return }
            var step: Int64 = 0
            try check(MPI_Recv(&step, 1, cmpi_int64(), status.MPI_SOURCE, Self.arrivalTag, world, cmpi_status_ignore()), "MPI_Recv")
            arrivals[Int(status.MPI_SOURCE)] = max(arrivals[Int(status.MPI_SOURCE)], Int(step))
        }
    }

    /// Answers every ping that has arrived and notes announced arrivals, without waiting.
    func answerPings() throws {
        guard size > 1 else { return }
        try receiveArrivals()
        while true {
            var flag: Int32 = 0
            var status = cmpi_empty_status()
            try check(MPI_Iprobe(cmpi_any_source(), Self.pingTag, world, &flag, &status), "MPI_Iprobe")
            guard flag != 0 else { break }
            let value = UnsafeMutablePointer<Int64>.allocate(capacity: 1)
            try check(MPI_Recv(value, 1, cmpi_int64(), status.MPI_SOURCE, Self.pingTag, world, cmpi_status_ignore()), "MPI_Recv")
            var request: MPI_Request? = cmpi_request_null()
            try check(MPI_Isend(value, 1, cmpi_int64(), status.MPI_SOURCE, Self.pongTag, world, &request), "MPI_Isend")
            replies.append((request, value))
        }
        replies.removeAll { reply in
            var request = reply.request, flag: Int32 = 0
            MPI_Test(&request, &flag, cmpi_status_ignore())
            if flag != 0 { reply.value.deallocate() }
            return flag != 0
        }
    }

    /// Pings every other rank and waits a grace period for the answers of this round; the
    /// silent ranks come with whether they had announced reaching this step.
    func unresponsiveRanks() throws -> [(rank: Int, arrived: Bool)] {
        round += 1
        let grace = watch.grace
        ping.pointee = round
        var receives: [Int: MPI_Request?] = [:]
        for other in 0..<size where other != rank {
            var send: MPI_Request? = cmpi_request_null()
            try check(MPI_Isend(ping, 1, cmpi_int64(), Int32(other), Self.pingTag, world, &send), "MPI_Isend")
            // Nobody waits for a ping to be sent: let MPI complete and free it on its own.
            MPI_Request_free(&send)
            var receive: MPI_Request? = cmpi_request_null()
            try check(MPI_Irecv(pongs + other, 1, cmpi_int64(), Int32(other), Self.pongTag, world, &receive), "MPI_Irecv")
            receives[other] = receive
        }
        var answered = Set<Int>()
        let start = ContinuousClock.now
        while answered.count < receives.count, start.secondsAgo < grace {
            try answerPings()
            for (other, var request) in receives where !answered.contains(other) {
                var flag: Int32 = 0
                try check(MPI_Test(&request, &flag, cmpi_status_ignore()), "MPI_Test")
                guard flag != 0 else { continue }
                if pongs[other] == round {
                    answered.insert(other)
                } else {
                    // An answer to an older round: listen again.
                    try check(MPI_Irecv(pongs + other, 1, cmpi_int64(), Int32(other), Self.pongTag, world, &request), "MPI_Irecv")
                }
                receives[other] = request
            }
            usleep(1000)
        }
        return receives.keys.filter { !answered.contains($0) }.sorted().map { ($0, arrivals[$0] >= watch.step) }
    }
}
