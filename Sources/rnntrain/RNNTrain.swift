import ArgumentParser
import Foundation

@main
struct RNNTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnntrain",
        abstract: "Data-parallel trainer for recurrent sequence models.",
        subcommands: [TrainCommand.self, EvalCommand.self, SampleCommand.self, InspectCommand.self, DiffCommand.self, OptionsCommand.self, BenchCommand.self,
                      GradCheckCommand.self, GEMMBenchCommand.self])

    /// Every error a user can cause ends as one line on stderr and exit status 2; help and
    /// explicit exit codes pass through.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let status = exitCode(for: error)
            if status == .success {
                RNNTrain.exit(withError: error)
            }
            FileHandle.standardError.write(Data("rnntrain: \(message(for: error))\n".utf8))
            Foundation.exit(2)
        }
    }
}
