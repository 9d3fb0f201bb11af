import ArgumentParser
import Checkpoints
import Files
import Foundation
import Training

/// `rnntrain diff`: how far apart the weights of two checkpoints are.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare the weights of two checkpoints: max |Δ| per tensor; exit 1 if they differ beyond --tolerance.")

    @Argument(help: "First checkpoint directory.")
    var first: String

    @Argument(help: "Second checkpoint directory.")
    var second: String

    @Option(parsing: .unconditional, help: "Largest |Δ| that still counts as equal (≥ 0; 0: bit-identical).")
    var tolerance = 0.0

    func validate() throws {
        guard tolerance >= 0 else { throw ValidationError("--tolerance must be ≥ 0, got \(shown(tolerance))") }
    }

    func run() throws {
        let a = try Checkpoint.load(first), b = try Checkpoint.load(second)
        guard a.model.layout == b.model.layout else { throw UserError("\(second): a different model than \(first)") }
        var worst = 0.0, identical = true
        for t in a.model.layout.tensors where t.aliasOf == nil {
            var largest = 0.0
            for i in t.range {
                let x = a.model.parameters[i], y = b.model.parameters[i]
                if x.bitPattern != y.bitPattern { identical = false }
                largest = max(largest, Double(abs(x - y)))
            }
            worst = max(worst, largest)
            try StandardOutput.line("\(t.name.padding(toLength: 28, withPad: " ", startingAt: 0)) max |Δ| \(largest)")
        }
        try StandardOutput.line(identical ? "bit-identical" : "max |Δ| \(worst)")
        if worst > tolerance || (tolerance == 0 && !identical) { throw ExitCode(1) }
    }
}
