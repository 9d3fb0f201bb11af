import Foundation

extension Trainer {
    /// What one step did, in global terms.
    public struct StepReport {
        public var loss: Double
        public var tokens: Int
        public var gradientNorm: Double
        public var clipped: Bool
        public var skipped: Bool
        public var lr: Double
        /// A rank got SIGTERM (15) or SIGINT (2): stop after this step.
        public var stopSignal: Int32 = 0
        /// A rank got SIGUSR1: write a checkpoint after this step.
        public var checkpointRequested = false
    }
}

extension Trainer.StepReport {
    /// The report of a step before clipping: the mean loss over `count` scored tokens, and what
    /// the ranks' signals ask of every rank.
    init(totals: StepTotals, count: Double, gradientNorm: Double, lr: Double, tokens: Int) {
        self.init(loss: totals.loss / count, tokens: tokens, gradientNorm: gradientNorm, clipped: false, skipped: false, lr: lr)
        stopSignal = totals.requests.term > 0 ? SIGTERM : (totals.requests.int > 0 ? SIGINT : 0)
        checkpointRequested = totals.requests.usr1 > 0
    }
}
