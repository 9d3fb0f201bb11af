import Config
import Foundation

extension ScheduleConfig {
    /// Learning rate for the update after `step` completed steps, of `total`: a linear warm-up
    /// from 0 over `warmup` steps, then constant, step decay (× gamma every step_size steps), or
    /// a cosine from lr down to min_lr at the last step. A pure function of the step, so a
    /// resumed run needs no schedule state.
    public func learningRate(base lr: Double, step: Int, total: Int) -> Double {
        if warmup > 0, step < warmup { return lr * Double(step + 1) / Double(warmup) }
        switch type {
        case .constant:
            return lr
        case .step:
            return lr * pow(gamma, Double((step - warmup) / stepSize))
        case .cosine:
            let span = max(1, total - warmup - 1)
            let progress = min(1, Double(step - warmup) / Double(span))
            return minLR + (lr - minLR) * 0.5 * (1 + cos(Double.pi * progress))
        }
    }
}
