import Config
import Foundation
import Kernels

/// One update rule over the flat parameter buffer, or over one rank's shard of it (the sharded
/// update), PyTorch's semantics: SGD (momentum, Nesterov, L2 weight decay), Adam (L2), AdamW
/// (decoupled decay), RMSprop.
///
/// The gradient arrives unscaled (summed over the global batch): `gradientScale` folds the
/// division by the token count and the clipping factor into the same pass, which also clears
/// the gradient for the next step, so each buffer is touched once.
public struct Optimizer {
    public let config: OptimizerConfig
    /// The parameters this optimizer updates, as indices of the flat buffer.
    public let range: Range<Int>
    /// First moment (SGD momentum buffer, Adam m) of `range`; empty when unused.
    public let first: Buffer<Float>
    /// Second moment (Adam v, RMSprop square average) of `range`; empty when unused.
    public let second: Buffer<Float>
    /// Updates applied so far: Adam's bias correction uses it.
    public var updates: Int = 0

    public init(config: OptimizerConfig, range: Range<Int>) {
        self.config = config
        self.range = range
        first = Buffer(count: Optimizer.usesFirst(config) ? range.count : 0)
        second = Buffer(count: Optimizer.usesSecond(config) ? range.count : 0)
    }

    public init(config: OptimizerConfig, parameterCount: Int) {
        self.init(config: config, range: 0..<parameterCount)
    }

    static func usesFirst(_ config: OptimizerConfig) -> Bool {
        config.type == .adam || config.type == .adamw || (config.type == .sgd && config.momentum > 0)
    }

    static func usesSecond(_ config: OptimizerConfig) -> Bool { config.type != .sgd }

    /// p ← update(p, gradientScale · g) over `range` at learning rate lr, reading the gradient
    /// once and leaving it zero there. Returns how many written weights and moments are outside
    /// the box of `updateIsFinite` (zero lets the next step skip `nonfiniteResults`).
    @discardableResult
    public mutating func updateAndClearGradient(parameters: Buffer<Float>, gradients: Buffer<Float>, gradientScale: Float,
                                                lr: Double) -> Int {
        updates += 1
        return rule(parameters: parameters, gradients: gradients, gradientScale: gradientScale, lr: lr, update: updates,
                    apply: true)
    }

    /// True when the next update certainly writes only finite values, so `nonfiniteResults`
    /// need not be asked: every weight and first moment is within ±B and every second moment
    /// within B² (B = `UpdateRules.box`, 2^40, as the last update found them), every scaled
    /// gradient value within B (`gradientBound` bounds |gradientScale · g|, e.g. the clipped
    /// norm of the mean gradient, which bounds each of its entries), and the settings within
    /// bounds under which the rule's largest intermediate stays below 2^123 (derived in
    /// docs/distributed.md, "The exposed tail"): lr ≤ 2^40, weight decay ≤ 2^20, lr · weight decay ≤ 2^40,
    /// momentum ≤ 2^20, betas and alpha in [0, 1], Adam's lr/(1 − β1^t) ≤ 2^40 and its ratio to
    /// eps ≤ 2^60, RMSprop's lr/eps ≤ 2^60. False says nothing: then ask.
    public func updateIsFinite(gradientBound: Double, lr: Double) -> Bool {
        let b = UpdateRules.box, lr = Double(Float(lr)).magnitude, wd = Double(Float(config.weightDecay)).magnitude
        guard gradientBound <= b, lr <= b, wd <= 0x1p20, lr * wd <= b else { return false }
        let eps = Double(Float(config.eps))
        switch config.type {
        case .sgd:
            return Double(Float(config.momentum)).magnitude <= 0x1p20
        case .adam, .adamw:
            let t = Double(updates + 1)
            let b1 = Double(Float(config.beta1)), b2 = Double(Float(config.beta2))
            guard (0...1).contains(b1), (0..<1).contains(b2) else { return false }
            let step = Double(Float(lr / (1 - pow(config.beta1, t))))
            return step <= b && eps > 0 && step / eps <= 0x1p60 && Float((1 - pow(config.beta2, t)).squareRoot()) > 0
        case .rmsprop:
            let a = Double(Float(config.alpha))
            return (0...1).contains(a) && eps > 0 && lr / eps <= 0x1p60
        }
    }

    /// How many parameters and moments `updateAndClearGradient` with these arguments would make
    /// infinite or NaN; nothing changes. A finite gradient can still overflow a weight (a huge
    /// learning rate, no clipping), so the trainer asks before it updates, when the step can
    /// still be refused whole.
    public func nonfiniteResults(parameters: Buffer<Float>, gradients: Buffer<Float>, gradientScale: Float, lr: Double) -> Int {
        rule(parameters: parameters, gradients: gradients, gradientScale: gradientScale, lr: lr, update: updates + 1, apply: false)
    }

    /// The configured rule as update number `t` (Adam's bias correction), applied or only counted.
    private func rule(parameters: Buffer<Float>, gradients: Buffer<Float>, gradientScale: Float, lr: Double, update t: Int,
                      apply: Bool) -> Int {
        let n = range.count
        let p = parameters.base + range.lowerBound, g = gradients.base + range.lowerBound
        let lr = Float(lr), wd = Float(config.weightDecay)
        switch config.type {
        case .sgd:
            // The first update sets the momentum buffer to the gradient, as torch.optim.SGD does.
            return UpdateRules.sgd(count: n, p: p, g: g, momentum: first.base, gradientScale: gradientScale, lr: lr,
                                   weightDecay: wd, momentum: Float(config.momentum), nesterov: config.nesterov, first: t == 1,
                                   apply: apply)
        case .adam, .adamw:
            let c1 = 1 - pow(config.beta1, Double(t))
            let c2 = 1 - pow(config.beta2, Double(t))
            return UpdateRules.adam(count: n, p: p, g: g, m: first.base, v: second.base, gradientScale: gradientScale,
                                    lr: lr, weightDecay: wd, decoupled: config.type == .adamw,
                                    beta1: Float(config.beta1), beta2: Float(config.beta2), eps: Float(config.eps),
                                    step: Float(Double(lr) / c1), rootC2: Float(c2.squareRoot()), apply: apply)
        case .rmsprop:
            return UpdateRules.rmsprop(count: n, p: p, g: g, v: second.base, gradientScale: gradientScale, lr: lr,
                                       weightDecay: wd, alpha: Float(config.alpha), eps: Float(config.eps), apply: apply)
        }
    }
}
