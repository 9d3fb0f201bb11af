import Foundation

/// What started this process.
public enum Launcher {
    /// Whether this process was started by a launcher that gives it an MPI world (mpirun,
    /// srun, or any PMI/PMIx launcher), judged from the environment without touching MPI.
    public static var isMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { env[$0] != nil }
    }
}
