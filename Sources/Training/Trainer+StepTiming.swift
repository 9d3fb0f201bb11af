import Clock

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

        public init() {}

        /// One step, from the instants at its start and at the end of each phase; `gathering` is
        /// when the weights' allgather began (`finished` when there was none).
        mutating func add(started: Instant, computed: Instant, reduced: Instant, gathering: Instant, finished: Instant) {
            compute += (computed - started).seconds
            reduction += (reduced - computed).seconds + (finished - gathering).seconds
            update += (gathering - reduced).seconds
            total += (finished - started).seconds
            steps += 1
        }
    }
}
