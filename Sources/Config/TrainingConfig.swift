import Kernels
import ModelSpec

// The training configuration as plain values. Keys, meanings and YAML spellings live in one
// table (ConfigOptions.swift); reading, writing and checking live in ConfigLoader.swift.
// The defaults below are the only defaults: the table reads them from `TrainingConfig()`.

/// How text becomes tokens.
public enum TokenizerKind: String, CaseIterable, Sendable { case char, byte, word }

/// `stream`: B contiguous streams, hidden state carried across minibatches (truncated BPTT).
/// `windows`: independent windows of τ tokens, each starting from a zero state.
public enum DataMode: String, CaseIterable, Sendable { case stream, windows }

/// `lm`: predict the next token. `fill-in-the-middle`: predict masked tokens from both sides.
public enum DataTask: String, CaseIterable, Sendable {
    case lm
    case fillInTheMiddle = "fill-in-the-middle"
}

public enum OptimizerKind: String, CaseIterable, Sendable { case sgd, adam, adamw, rmsprop }

public enum ScheduleKind: String, CaseIterable, Sendable { case constant, step, cosine }

/// What a step with a non-finite gradient norm does: drop the update, or stop the run.
public enum NonfinitePolicy: String, CaseIterable, Sendable { case skip, abort }
/// What the gradient sum sends: fp32 values, or bf16 values with error feedback.
public enum ReduceWire: String, CaseIterable, Sendable { case fp32, bf16 }
/// What a failed checkpoint write does: stop the job, or say so and train on.
public enum CheckpointErrorPolicy: String, CaseIterable, Sendable { case stop, `continue` }

public struct DataConfig: Equatable, Sendable {
    public var path = ""
    /// Empty: the last `valFraction` of `path` is the validation set.
    public var valPath = ""
    public var valFraction = 0.1
    public var tokenizer: TokenizerKind = .char
    /// Word tokenizer: words seen fewer times become `<unk>`.
    public var minCount = 1
    public var mode: DataMode = .stream
    public var task: DataTask = .lm
    /// Fill-in-the-middle: fraction of tokens masked.
    public var maskRate = 0.15

    public init() {}
}

public struct TrainConfig: Equatable, Sendable {
    /// B: sequences per step summed over all ranks.
    public var globalBatch = 32
    /// τ: tokens per sequence chunk, the BPTT truncation.
    public var seqLen = 64
    public var steps = 1000
    /// > 0: train this many passes over the data instead of `steps`.
    public var epochs = 0
    /// Micro-batches per step; divides `globalBatch`.
    public var accumulate = 1
    public var seed: UInt64 = 1
    /// Bit-identical results at any world size (fixed reduction groups).
    public var deterministic = false
    /// Sequences per fixed reduction group in deterministic mode.
    public var deterministicGroup = 1
    /// ZeRO stage 1: each rank sums, clips and updates only its shard of the parameters and
    /// holds only its shard of the optimizer moments; an allgather brings the weights back.
    public var shardOptimizer = false
    /// The gradient sum's wire: fp32, or bf16 with each rank's (deterministic: each group's)
    /// rounding error fed back into its next gradient.
    public var reduce: ReduceWire = .fp32
    /// Steps between replica hash checks.
    public var checkEvery = 100
    /// > 0: stop once this many validations in a row have not lowered the best validation loss
    /// (the patience of PyTorch Lightning's EarlyStopping, counted in validations).
    public var earlyStop = 0
    /// Seconds without progress before the job aborts.
    public var stepTimeout = 600.0
    /// Operands of the matrix products. Not part of the model: the weights stay fp32, so a
    /// checkpoint resumes, evaluates and samples in either precision.
    public var precision: MatmulPrecision = .fp32

    public init() {}
}

public struct OptimizerConfig: Equatable, Sendable {
    public var type: OptimizerKind = .adam
    public var lr = 2e-3
    public var momentum = 0.0
    public var nesterov = false
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var eps = 1e-8
    /// L2 for sgd/adam/rmsprop, decoupled for adamw.
    public var weightDecay = 0.0
    /// RMSprop smoothing.
    public var alpha = 0.99

    public init() {}
}

public struct ScheduleConfig: Equatable, Sendable {
    public var type: ScheduleKind = .constant
    /// Steps of linear warm-up from 0.
    public var warmup = 0
    public var stepSize = 1000
    public var gamma = 0.5
    /// Cosine floor.
    public var minLR = 0.0

    public init() {}
}

public struct ClipConfig: Equatable, Sendable {
    /// 0 disables clipping.
    public var maxNorm = 5.0
    public var nonfinite: NonfinitePolicy = .skip

    public init() {}
}

public struct CheckpointConfig: Equatable, Sendable {
    /// 0: only at the end.
    public var every = 500
    public var keep = 3
    public var onError: CheckpointErrorPolicy = .stop
    /// Keep `checkpoints/best`, a link to the checkpoint of the lowest validation loss (written
    /// at the validation that finds it, and never pruned); `train.early_stop` implies it.
    public var best = false

    public init() {}
}

/// Where rank 0 writes TensorBoard event files of the metrics: nowhere, `RUN_DIR/tb`, or a
/// directory the user names (`log.tensorboard: false`, `true`, or a path).
public enum TensorBoardOutput: Equatable, Sendable {
    case off
    case runDirectory
    case directory(String)
}

public struct LogConfig: Equatable, Sendable {
    public var every = 10
    /// 0: never.
    public var evalEvery = 200
    /// 0: the whole validation set.
    public var evalTokens = 0
    public var tensorboard: TensorBoardOutput = .off

    public init() {}
}

/// What `rnntrain bench` times: synthetic tokens, so no corpus is needed.
public struct BenchConfig: Equatable, Sendable {
    /// Vocabulary of the synthetic tokens (a mask token included for fill-in-the-middle).
    public var vocabulary = 65
    /// Untimed steps first.
    public var warmup = 3
    /// Timed steps.
    public var steps = 20

    public init() {}
}

/// What `rnntrain ngram` estimates: an interpolated modified Kneser–Ney model.
public struct NGramConfig: Equatable, Sendable {
    /// n: the model conditions on the previous n − 1 tokens.
    public var order = 5
    /// Bytes the counting may hold before it spills sorted runs to disk; 0: no limit.
    public var memory = 0

    public init() {}
}

/// Everything a training run is told by the user.
public struct TrainingConfig: Equatable, Sendable {
    /// `vocabulary` stays 0 here: it is set later from the tokenizer.
    public var model = ModelConfig()
    public var data = DataConfig()
    public var train = TrainConfig()
    public var optimizer = OptimizerConfig()
    public var schedule = ScheduleConfig()
    public var clip = ClipConfig()
    public var checkpoint = CheckpointConfig()
    public var log = LogConfig()
    public var bench = BenchConfig()
    public var ngram = NGramConfig()

    public init() {}
}
