import ArgumentParser
import Files
import Foundation
import ModelSpec
import Models

/// `rnntrain gradcheck`: finite differences against BPTT, in Double.
struct GradCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradcheck",
        abstract: "Check every analytic gradient against central finite differences (Double).")

    @Option(help: "Cell: \(GradientCheck.cellNames.joined(separator: "|")).")
    var cell = "lstm"

    @Option(parsing: .unconditional, help: "Recurrent layers (≥ 1).")
    var layers = 1

    @Flag(help: "Bidirectional layers.")
    var bidirectional = false

    @Flag(help: "The whole matrix: every cell above but the MLP × layers {1, 2} × {uni, bi}, the MLP, tied weights.")
    var all = false

    func validate() throws {
        guard GradientCheck.cellNames.contains(cell) else {
            throw ValidationError("--cell must be one of \(GradientCheck.cellNames.joined(separator: ", "))")
        }
        guard layers >= 1 else { throw ValidationError("--layers must be ≥ 1, got \(layers)") }
        guard !(cell == "mlp" && (layers != 1 || bidirectional)) else {
            throw ValidationError("the mlp has one layer and no directions")
        }
    }

    func run() throws {
        let cases = all ? GradientCheck.matrix()
            : GradientCheck.cases(cells: [cell], layers: [layers], bidirectional: [bidirectional])
        var failed = 0
        for c in cases {
            let r = try GradientCheck.run(c)
            if !r.passed { failed += 1 }
            let verdict = r.passed ? "ok  " : "FAIL"
            try StandardOutput.line("\(verdict) \(r.name.padding(toLength: 52, withPad: " ", startingAt: 0)) max rel err \(String(format: "%.2e", r.maxRelativeError))  (\(r.entries) entries)")
            if !r.passed { try StandardOutput.line("     worst: \(r.worst)") }
        }
        try StandardOutput.line("\(cases.count - failed)/\(cases.count) cases within \(GradientCheck.tolerance)")
        if failed > 0 { throw ExitCode(1) }
    }
}
