import CKernels

/// The optimizers' inner loops over flat Float buffers (kernels.c): vectorised, one pass over
/// parameters, gradient and moments, the gradient scaled on the fly and cleared once read.
public enum UpdateRules {
    public static func sgdAndClearGradient(count: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                           momentum buffer: UnsafeMutablePointer<Float>, gradientScale: Float, lr: Float,
                           weightDecay: Float, momentum: Float, nesterov: Bool, first: Bool) {
        rk_sgd_f32(count, p, g, buffer, gradientScale, lr, weightDecay, momentum, nesterov ? 1 : 0, first ? 1 : 0)
    }

    public static func adamAndClearGradient(count: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, gradientScale: Float,
                            lr: Float, weightDecay: Float, decoupled: Bool, beta1: Float, beta2: Float, eps: Float,
                            step: Float, rootC2: Float) {
        rk_adam_f32(count, p, g, m, v, gradientScale, lr, weightDecay, decoupled ? 1 : 0, beta1, beta2, eps, step, rootC2)
    }

    public static func rmspropAndClearGradient(count: Int, p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                               v: UnsafeMutablePointer<Float>, gradientScale: Float, lr: Float, weightDecay: Float,
                               alpha: Float, eps: Float) {
        rk_rmsprop_f32(count, p, g, v, gradientScale, lr, weightDecay, alpha, eps)
    }
}
