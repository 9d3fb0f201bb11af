import ArgumentParser
import Collectives
import Files
import Foundation
import MPICollectives
import Training

/// Which world a command runs in.
enum WorldChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, single, mpi
}

struct WorldOptions: ParsableArguments {
    @Option(help: "auto (MPI when started by mpirun or srun, else one process), single, or mpi.")
    var comm: WorldChoice = .auto

    func makeCommunicator() throws -> Communicator {
        switch comm {
        case .single: return SingleProcessCommunicator()
        case .mpi: return try MPICommunicator()
        case .auto: return Launcher.isMPI ? try MPICommunicator() : SingleProcessCommunicator()
        }
    }

    /// Runs `body` in the chosen world. An error every rank agreed on is printed once (by
    /// rank 0) and every rank exits with 2; any other error on any rank aborts the whole job.
    func run(_ body: (Communicator) throws -> Void) throws {
        let comm = try makeCommunicator()
        do {
            try body(comm)
            comm.finish()
        } catch let stop as Interrupted {
            comm.finish()
            throw ExitCode(stop.status)
        } catch let error as AgreedError {
            if comm.isRoot { StandardError.line("rnntrain: \(error)") }
            comm.finish()
            throw ExitCode(2)
        } catch {
            if comm.size > 1 { comm.abort(UserError.describing(error)) }
            throw error
        }
    }
}
