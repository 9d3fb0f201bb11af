import ArgumentParser
import Files
import Foundation

@main
struct RNNTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnntrain",
        abstract: "Data-parallel trainer for recurrent sequence models.",
        subcommands: [TrainCommand.self, PrepareCommand.self, EvalCommand.self, SampleCommand.self, InspectCommand.self, DiffCommand.self, OptionsCommand.self, ConfigCommand.self, NGramCommand.self, ExportCommand.self, BenchCommand.self,
                      GradCheckCommand.self, GEMMBenchCommand.self])

    /// First OpenBLAS's threads and kernels (`OpenBLASEnvironment`), which may start the program again.
    /// Every error a user can cause ends as one line on stderr and exit status 2; help and
    /// explicit exit codes pass through. A Foundation file error that escaped a command is
    /// reworded to "<path>: <strerror>" (`UserError.describing`), never printed as an NSError dump.
    static func main() {
        // First the restart, which must see the descriptors as our caller left them.
        OpenBLASEnvironment.apply()
        StandardStreams.prepare()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let status = exitCode(for: error)
            if status == .success {
                // Help, written with a checked write so `--help > /dev/full` fails too.
                do { try StandardOutput.line(fullMessage(for: error)) } catch {
                    StandardError.line("rnntrain: \(UserError.describing(error))")
                    Foundation.exit(2)
                }
                Foundation.exit(0)
            }
            let line = UserError.describing(error) { message(for: $0) }
            StandardError.line("rnntrain: \(line)")
            Foundation.exit(2)
        }
    }
}
