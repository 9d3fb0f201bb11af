import CKernels

/// The optimizers' inner loops over flat Float buffers (kernels.c): vectorised, one pass over
/// parameters, gradient and moments, the gradient scaled on the fly and cleared once read.
///
/// With `apply` false a rule writes nothing and returns how many of the values it would write
/// are not finite (the same expressions, so the count is exact); with `apply` true it updates
/// and returns how many written values are outside the box: weights and first moments beyond
/// ±`box`, second moments beyond `box`², or not finite.
public enum UpdateRules {
    /// The bound on weights and moments under which `Optimizer.updateIsFinite` proves an update
    /// finite (RK_BOX of kernels.c).
    public static let box: Double = 0x1p40

    public static func sgd(count: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                           momentum buffer: UnsafeMutablePointer<Float>, gradientScale: Float, lr: Float,
                           weightDecay: Float, momentum: Float, nesterov: Bool, first: Bool, apply: Bool) -> Int {
        let n = nesterov ? Int32(1) : 0, f = first ? Int32(1) : 0
        guard apply else { return rk_sgd_f32_nonfinite(count, p, g, buffer, gradientScale, lr, weightDecay, momentum, n, f) }
        return rk_sgd_f32(count, p, g, buffer, gradientScale, lr, weightDecay, momentum, n, f)
    }

    public static func adam(count: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, gradientScale: Float,
                            lr: Float, weightDecay: Float, decoupled: Bool, beta1: Float, beta2: Float, eps: Float,
                            step: Float, rootC2: Float, apply: Bool) -> Int {
        let d = decoupled ? Int32(1) : 0
        guard apply else {
            return rk_adam_f32_nonfinite(count, p, g, m, v, gradientScale, lr, weightDecay, d, beta1, beta2, eps, step, rootC2)
        }
        return rk_adam_f32(count, p, g, m, v, gradientScale, lr, weightDecay, d, beta1, beta2, eps, step, rootC2)
    }

    public static func rmsprop(count: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                               v: UnsafeMutablePointer<Float>, gradientScale: Float, lr: Float, weightDecay: Float,
                               alpha: Float, eps: Float, apply: Bool) -> Int {
        guard apply else { return rk_rmsprop_f32_nonfinite(count, p, g, v, gradientScale, lr, weightDecay, alpha, eps) }
        return rk_rmsprop_f32(count, p, g, v, gradientScale, lr, weightDecay, alpha, eps)
    }
}
