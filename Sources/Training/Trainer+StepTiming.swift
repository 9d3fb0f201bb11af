extension Trainer {
    /// Seconds per phase, summed over the steps since `timing` was last reset (benchmarks).
    public struct StepTiming {
        public var compute = 0.0
        /// Waiting for the gradient sum after this rank's backward finished, and (sharded) for
        /// the allgather of the updated weights: the part of communication on the critical path.
        public var reduction = 0.0
        /// Norm, clipping and the optimizer.
        public var update = 0.0
        public var total = 0.0
        public var steps = 0

        /// One step, from the uptime nanoseconds at its start and at the end of each phase;
        /// `gathering` is when the weights' allgather began (`finished` when there was none).
        mutating func add(started: UInt64, computed: UInt64, reduced: UInt64, gathering: UInt64, finished: UInt64) {
            compute += Double(computed - started) * 1e-9
            reduction += Double(reduced - computed + finished - gathering) * 1e-9
            update += Double(gathering - reduced) * 1e-9
            total += Double(finished - started) * 1e-9
            steps += 1
        }
    }
}
