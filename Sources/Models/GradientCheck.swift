import Kernels
import ModelSpec

/// Central finite differences against the analytic gradient, in Double, for every parameter
/// tensor and the initial state of a small model with a non-zero initial state and dropout off.
public enum GradientCheck {
    /// Largest relative error a case may show.
    public static let tolerance = 1e-6

    /// One model shape to check.
    public struct Case: Sendable {
        public var name: String
        public var config: ModelConfig
        public var masked: Bool

        public init(name: String, config: ModelConfig, masked: Bool) {
            self.name = name
            self.config = config
            self.masked = masked
        }
    }

    /// What a case found: the worst entry and how many were compared.
    public struct Report: Sendable {
        public var name: String
        public var maxRelativeError: Double
        public var worst: String
        public var entries: Int

        public var passed: Bool { maxRelativeError <= tolerance }
    }

    /// The names `--cell` takes: every registered cell form, then the MLP.
    public static var cellNames: [String] { CellRegistry.forms.map(\.name) + ["mlp"] }

    /// A small config for a named cell; nil for an unknown name.
    public static func config(cell name: String, layers: Int, bidirectional: Bool, tied: Bool = false) -> ModelConfig? {
        var c = ModelConfig()
        if let form = CellRegistry.form(named: name) {
            form.apply(to: &c)
        } else if name == "mlp" {
            c.architecture = .windowedMLP
            c.context = 3
        } else {
            return nil
        }
        c.vocabulary = 5
        c.hidden = 3
        c.layers = name == "mlp" ? 1 : layers
        c.bidirectional = name == "mlp" ? false : bidirectional
        c.embedding = tied ? c.decoderInput : 4
        c.tieWeights = tied
        return c
    }

    /// One case per (cell, layers, direction) asked for, plain and with a loss mask.
    public static func cases(cells: [String], layers: [Int], bidirectional: [Bool]) -> [Case] {
        var out: [Case] = []
        for cell in cells {
            for l in cell == "mlp" ? [1] : layers {
                for bi in cell == "mlp" ? [false] : bidirectional {
                    let name = "\(cell) layers=\(l)\(bi ? " bidirectional" : "")"
                    let config = config(cell: cell, layers: l, bidirectional: bi)!
                    out.append(Case(name: name, config: config, masked: false))
                    out.append(Case(name: name + " masked", config: config, masked: true))
                }
            }
        }
        return out
    }

    /// The whole matrix: every registered cell form × layers {1, 2} × {uni, bi}, the MLP, tied weights.
    public static func matrix() -> [Case] {
        var all = cases(cells: CellRegistry.forms.map(\.name), layers: [1, 2], bidirectional: [false, true])
        all += cases(cells: ["mlp"], layers: [1], bidirectional: [false])
        for (cell, bi) in [("lstm", false), ("gru-linear-before-reset", true), ("mlp", false)] {
            let config = config(cell: cell, layers: cell == "mlp" ? 1 : 2, bidirectional: bi, tied: true)!
            let name = "\(cell) layers=\(config.layers)\(bi ? " bidirectional" : "") tied"
            all.append(Case(name: name, config: config, masked: false))
        }
        return all
    }

    /// `sequences` = 1 takes the GEMV path of every per-step product.
    public static func run(_ c: Case, seed: UInt64 = 1, sequences n: Int = 2) throws -> Report {
        let model = try Model<Double>(config: c.config, seed: seed)
        let steps = 4
        var rng = SplitMix64(seed: seed &+ 17)
        let V = c.config.vocabulary
        let tokens = { (count: Int) in (0..<count).map { _ in Int32(rng.next() % UInt64(V)) } }
        var batch = Batch(steps: steps, sequences: n, inputs: tokens(steps * n), targets: tokens(steps * n))
        if c.masked {
            batch.mask = (0..<steps * n).map { $0 % 3 == 1 ? 0 : 1 }
        }
        if c.config.isWindowedMLP {
            batch.history = (0..<(c.config.context - 1) * n).map { $0 < n ? -1 : Int32(rng.next() % UInt64(V)) }
        }
        let state = Buffer<Double>(count: n * model.stateLayout.width)
        for i in 0..<state.count { state[i] = rng.uniform(0.5) }
        let stateGradient = Buffer<Double>(count: state.count)

        model.zeroGradients()
        _ = try model.train(batch, initialState: state, initialStateGradient: stateGradient)

        var report = Report(name: c.name, maxRelativeError: 0, worst: "", entries: 0)
        func compare(_ label: String, _ values: Buffer<Double>, _ index: Int, analytic: Double) throws {
            let numeric = try derivative(of: { try model.evaluate(batch, initialState: state).loss },
                                         at: values, index: index)
            let error = relativeError(analytic, numeric)
            report.entries += 1
            if error > report.maxRelativeError || report.worst.isEmpty {
                report.maxRelativeError = max(error, report.maxRelativeError)
                if error >= report.maxRelativeError {
                    report.worst = "\(label)[\(index)] analytic \(analytic) numeric \(numeric)"
                }
            }
        }
        for t in model.layout.tensors where t.aliasOf == nil {
            for i in t.range {
                try compare(t.name, model.parameters, i, analytic: model.gradients[i])
            }
        }
        for i in 0..<state.count {
            try compare("initial state", state, i, analytic: stateGradient[i])
        }
        return report
    }

    /// ∂f/∂values[index] by the fourth-order central stencil
    /// (f(x−2ε) − 8f(x−ε) + 8f(x+ε) − f(x+2ε)) / 12ε, whose truncation error is O(ε⁴).
    public static func derivative(of f: () throws -> Double, at values: Buffer<Double>, index: Int) throws -> Double {
        let x = values[index], eps = 1e-3
        func at(_ d: Double) throws -> Double {
            values[index] = x + d
            return try f()
        }
        let result = try (at(-2 * eps) - 8 * at(-eps) + 8 * at(eps) - at(2 * eps)) / (12 * eps)
        values[index] = x
        return result
    }

    /// |a − b| / max(|a|, |b|, 1e-5). Gradients below 1e-5 in magnitude (entries of unused
    /// embedding rows are exactly 0) are compared on that scale: the stencil's own rounding
    /// error is about 1e-12 for losses of order 10, which would swamp a relative comparison.
    public static func relativeError(_ a: Double, _ b: Double) -> Double {
        abs(a - b) / max(abs(a), abs(b), 1e-5)
    }
}
