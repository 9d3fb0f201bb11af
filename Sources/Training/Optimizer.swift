import Foundation
import Numerics

/// One update rule over the whole flat parameter buffer, PyTorch's semantics:
/// SGD (momentum, Nesterov, L2 weight decay), Adam (L2), AdamW (decoupled decay), RMSprop.
///
/// The gradient arrives unscaled (summed over the global batch): `gradientScale` folds the
/// division by the token count and the clipping factor into the same pass, so the gradient
/// buffer is read once and never rewritten.
public struct Optimizer {
    public let config: OptimizerConfig
    /// First moment (SGD momentum buffer, Adam m); empty when unused.
    public let first: Buffer<Float>
    /// Second moment (Adam v, RMSprop square average); empty when unused.
    public let second: Buffer<Float>
    /// Updates applied so far: Adam's bias correction uses it.
    public var updates: Int = 0

    public init(config: OptimizerConfig, parameterCount: Int) {
        self.config = config
        let usesFirst = config.type == .adam || config.type == .adamw || (config.type == .sgd && config.momentum > 0)
        let usesSecond = config.type != .sgd
        first = Buffer(count: usesFirst ? parameterCount : 0)
        second = Buffer(count: usesSecond ? parameterCount : 0)
    }

    /// p ← update(p, gradientScale · g) at learning rate lr.
    public mutating func update(parameters: Buffer<Float>, gradients: Buffer<Float>, gradientScale: Float, lr: Double) {
        let n = parameters.count
        let p = parameters.base, g = gradients.base
        let s = gradientScale, lr = Float(lr), wd = Float(config.weightDecay)
        updates += 1
        switch config.type {
        case .sgd:
            let mu = Float(config.momentum)
            if mu == 0 {
                for i in 0..<n { p[i] -= lr * (s * g[i] + wd * p[i]) }
            } else {
                let m = first.base, nesterov = config.nesterov
                // The first update sets the buffer to the gradient, as torch.optim.SGD does.
                let fresh = updates == 1
                for i in 0..<n {
                    let d = s * g[i] + wd * p[i]
                    let v = fresh ? d : mu * m[i] + d
                    m[i] = v
                    p[i] -= lr * (nesterov ? d + mu * v : v)
                }
            }
        case .adam, .adamw:
            let b1 = Float(config.beta1), b2 = Float(config.beta2), eps = Float(config.eps)
            let c1 = 1 - Float(pow(config.beta1, Double(updates)))
            let c2 = 1 - Float(pow(config.beta2, Double(updates)))
            let step = lr / c1, rootC2 = c2.squareRoot()
            let m = first.base, v = second.base
            let decoupled = config.type == .adamw
            for i in 0..<n {
                var d = s * g[i]
                if decoupled { p[i] -= lr * wd * p[i] } else { d += wd * p[i] }
                let mi = b1 * m[i] + (1 - b1) * d
                let vi = b2 * v[i] + (1 - b2) * d * d
                m[i] = mi
                v[i] = vi
                p[i] -= step * mi / (vi.squareRoot() / rootC2 + eps)
            }
        case .rmsprop:
            let a = Float(config.alpha), eps = Float(config.eps)
            let v = second.base
            for i in 0..<n {
                let d = s * g[i] + wd * p[i]
                let vi = a * v[i] + (1 - a) * d * d
                v[i] = vi
                p[i] -= lr * d / (vi.squareRoot() + eps)
            }
        }
    }
}
