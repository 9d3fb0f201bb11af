import ModelSpec
import Yams

/// One row of the table: the single place where each option has its key, default and meaning.
/// The parser accepts exactly these keys, `yaml()` writes them in this order, and the table of
/// docs/configuration.md is printed from them, so the three cannot drift apart.
public struct ConfigOption: Sendable {
    /// `section.name`, as written in YAML and in `--set`, e.g. "train.seq_len".
    public let key: String
    /// One line for docs/configuration.md and `--help`.
    public let meaning: String
    /// The value in `TrainingConfig()`, as YAML.
    public let defaultValue: String
    /// Reads a YAML node into the config; throws `ConfigValueError` with the reason only
    /// (the caller knows the file and key).
    let read: @Sendable (Node, inout TrainingConfig) throws -> Void
    /// The option's value in a config, as YAML that `read` accepts.
    let render: @Sendable (TrainingConfig) -> String

    init(_ key: String, _ meaning: String,
         read: @escaping @Sendable (Node, inout TrainingConfig) throws -> Void,
         render: @escaping @Sendable (TrainingConfig) -> String) {
        self.key = key
        self.meaning = meaning
        self.read = read
        self.render = render
        // Read off the struct defaults, so a default is written down only once.
        self.defaultValue = render(TrainingConfig())
    }

    public var section: String { String(key.prefix { $0 != "." }) }
    public var name: String { String(key.drop { $0 != "." }.dropFirst()) }

    /// This option's value in `config`, as YAML.
    public func value(in config: TrainingConfig) -> String { render(config) }
}

// One factory per value type; each ties a key to a stored property through a key path.
extension ConfigOption {
    /// The option at `path`, read from YAML by `parse` and written back by `write`.
    static func stored<V>(_ key: String, _ path: WritableKeyPath<TrainingConfig, V>, _ meaning: String,
                          parse: @escaping @Sendable (Node) throws -> V,
                          write: @escaping @Sendable (V) -> String) -> ConfigOption {
        ConfigOption(key, meaning, read: { $1[keyPath: path] = try parse($0) }, render: { write($0[keyPath: path]) })
    }

    /// `model.cell`: `mlp` or a cell's name by its form. Which cells exist is the cells' own
    /// declaration in Models, which this module does not see: `CellRegistry.check` refuses a
    /// name no cell declares.
    static func architecture(_ key: String, _ meaning: String) -> ConfigOption {
        stored(key, \.model.architecture, meaning, parse: { node in
            guard let scalar = node.scalar, !YAMLValue.isNull(node), let value = Architecture(rawValue: scalar.string) else {
                throw ConfigValueError(reason: "expected a cell's name or mlp, got \(YAMLValue.describe(node))")
            }
            return value
        }, write: { $0.rawValue })
    }

    static func int(_ key: String, _ path: WritableKeyPath<TrainingConfig, Int>, _ meaning: String) -> ConfigOption {
        stored(key, path, meaning, parse: { try YAMLValue.int($0) }, write: { String($0) })
    }

    static func uint64(_ key: String, _ path: WritableKeyPath<TrainingConfig, UInt64>, _ meaning: String) -> ConfigOption {
        stored(key, path, meaning, parse: { try YAMLValue.uint64($0) }, write: { String($0) })
    }

    /// Bytes: an integer, or one with a binary suffix K, M, G or T ("64M").
    static func size(_ key: String, _ path: WritableKeyPath<TrainingConfig, Int>, _ meaning: String) -> ConfigOption {
        stored(key, path, meaning, parse: { try YAMLValue.size($0) }, write: { YAMLValue.renderSize($0) })
    }

    static func double(_ key: String, _ path: WritableKeyPath<TrainingConfig, Double>, _ meaning: String) -> ConfigOption {
        stored(key, path, meaning, parse: { try YAMLValue.double($0) }, write: { YAMLValue.render($0) })
    }

    static func bool(_ key: String, _ path: WritableKeyPath<TrainingConfig, Bool>, _ meaning: String) -> ConfigOption {
        stored(key, path, meaning, parse: { try YAMLValue.bool($0) }, write: { String($0) })
    }

    static func string(_ key: String, _ path: WritableKeyPath<TrainingConfig, String>, _ meaning: String) -> ConfigOption {
        stored(key, path, meaning, parse: { try YAMLValue.string($0) }, write: { YAMLValue.quote($0) })
    }

    static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ key: String, _ path: WritableKeyPath<TrainingConfig, E>, _ meaning: String
    ) -> ConfigOption where E.RawValue == String {
        stored(key, path, meaning, parse: { try YAMLValue.choice($0, E.self) }, write: { $0.rawValue })
    }

    /// `tensorboard: false | true | DIRECTORY`, the one option that is a boolean or a path. A
    /// path that reads as a boolean is quoted (`"true"`), as `yaml()` writes every path.
    static func tensorboard(_ key: String, _ meaning: String) -> ConfigOption {
        ConfigOption(key, meaning, read: { node, config in
            if node.tag == Tag(.bool) {
                config.log.tensorboard = try YAMLValue.bool(node) ? .runDirectory : .off
                return
            }
            let path = YAMLValue.isNull(node) ? "" : (node.scalar?.string ?? "")
            guard !path.isEmpty else {
                throw ConfigValueError(reason: "expected true, false or a directory, got \(YAMLValue.describe(node))")
            }
            config.log.tensorboard = .directory(path)
        }, render: {
            switch $0.log.tensorboard {
            case .off: return "false"
            case .runDirectory: return "true"
            case let .directory(path): return YAMLValue.quote(path)
            }
        })
    }

    /// `betas: [β1, β2]`, the one list-valued option, written the way PyTorch users know it.
    static func betas(_ key: String, _ meaning: String) -> ConfigOption {
        ConfigOption(key, meaning, read: { node, config in
            (config.optimizer.beta1, config.optimizer.beta2) = try YAMLValue.pair(node)
        }, render: {
            "[\(YAMLValue.render($0.optimizer.beta1)), \(YAMLValue.render($0.optimizer.beta2))]"
        })
    }
}

extension TrainingConfig {
    /// Every option, grouped by section; this order is the order of `yaml()` and of docs/configuration.md.
    public static let options: [ConfigOption] = [
        .architecture("model.cell", "a recurrent cell (`rnntrain options` lists them under this table), or mlp (windowed baseline, no hidden state)"),
        .choice("model.activation", \.model.activation, "φ of the vanilla RNN and of the MLP's hidden layer: tanh or relu"),
        .int("model.layers", \.model.layers, "stacked recurrent layers (the mlp has exactly 1)"),
        .int("model.hidden", \.model.hidden, "hidden units h per layer and direction"),
        .int("model.embedding", \.model.embedding, "token embedding width d"),
        .bool("model.bidirectional", \.model.bidirectional, "a backward RNN beside the forward one per layer (sees the future: fill-in-the-middle only)"),
        .choice("model.gru_variant", \.model.gruVariant, "GRU reset placement: notes (before the recurrent matmul) or linear-before-reset (PyTorch/cuDNN)"),
        .double("model.dropout", \.model.dropout, "dropout probability between layers, in [0, 1)"),
        .bool("model.tie_weights", \.model.tieWeights, "share the embedding with the decoder (needs embedding = hidden · directions)"),
        .int("model.context", \.model.context, "mlp: tokens of context k"),

        .string("data.path", \.data.path, "training text file"),
        .string("data.val_path", \.data.valPath, "separate validation file; empty = take val_fraction off the end of path"),
        .double("data.val_fraction", \.data.valFraction, "fraction of path held out for validation when val_path is empty, in [0, 1)"),
        .choice("data.tokenizer", \.data.tokenizer, "char, byte, or word"),
        .int("data.min_count", \.data.minCount, "word: words seen fewer times become `<unk>`"),
        .choice("data.mode", \.data.mode, "stream (state carried across batches) or windows (independent windows)"),
        .choice("data.task", \.data.task, "lm (next token) or fill-in-the-middle (masked tokens, needs mode windows)"),
        .double("data.mask_rate", \.data.maskRate, "fill-in-the-middle: fraction of tokens masked, in (0, 1)"),

        .int("train.global_batch", \.train.globalBatch, "B: sequences per step across all ranks"),
        .int("train.seq_len", \.train.seqLen, "τ: tokens per sequence chunk (BPTT truncation)"),
        .int("train.steps", \.train.steps, "optimizer steps to run"),
        .int("train.epochs", \.train.epochs, "passes over the data; > 0 overrides steps"),
        .int("train.accumulate", \.train.accumulate, "micro-batches per step (divides global_batch)"),
        .uint64("train.seed", \.train.seed, "seed of every random choice (init, dropout, shuffles)"),
        .bool("train.deterministic", \.train.deterministic, "bit-identical results at any world size"),
        .int("train.deterministic_group", \.train.deterministicGroup,
             "deterministic: sequences per fixed-point reduction group (world size must divide B / group)"),
        .bool("train.shard_optimizer", \.train.shardOptimizer,
              "each rank sums, clips and updates 1/W of the parameters and keeps 1/W of the optimizer moments (ZeRO stage 1); in deterministic mode the same bits as without"),
        .choice("train.reduce", \.train.reduce,
                "the gradient sum's wire: fp32, or bf16 (2 bytes a value, each addition in fp32 rounded back to bf16, each rank's rounding error fed back into its next gradient; deterministic: each group's, the sum stays 64-bit fixed point)"),
        .int("train.check_every", \.train.checkEvery, "steps between replica hash checks"),
        .int("train.early_stop", \.train.earlyStop, "stop after this many validations in a row without a new lowest validation loss (keeps checkpoints/best); 0 = never"),
        .double("train.step_timeout", \.train.stepTimeout, "seconds without progress before the job aborts"),
        .choice("train.precision", \.train.precision,
                "operands of the matrix products: fp32, or bf16 (fp32 sums; weights, gradients and optimizer state stay fp32)"),

        .choice("optimizer.type", \.optimizer.type, "sgd, adam, adamw, or rmsprop"),
        .double("optimizer.lr", \.optimizer.lr, "peak learning rate"),
        .double("optimizer.momentum", \.optimizer.momentum, "sgd: momentum"),
        .bool("optimizer.nesterov", \.optimizer.nesterov, "sgd: Nesterov momentum (needs momentum > 0)"),
        .betas("optimizer.betas", "adam/adamw: [β1, β2] moment decay rates"),
        .double("optimizer.eps", \.optimizer.eps, "adam/adamw/rmsprop: denominator epsilon"),
        .double("optimizer.weight_decay", \.optimizer.weightDecay, "L2 for sgd/adam/rmsprop, decoupled for adamw"),
        .double("optimizer.alpha", \.optimizer.alpha, "rmsprop: smoothing constant"),

        .choice("schedule.type", \.schedule.type, "constant, step, or cosine"),
        .int("schedule.warmup", \.schedule.warmup, "steps of linear warm-up from 0"),
        .int("schedule.step_size", \.schedule.stepSize, "step: steps between decays"),
        .double("schedule.gamma", \.schedule.gamma, "step: decay factor, in (0, 1]"),
        .double("schedule.min_lr", \.schedule.minLR, "cosine: floor of the learning rate"),

        .double("clip.max_norm", \.clip.maxNorm, "global gradient-norm limit; 0 = no clipping"),
        .choice("clip.nonfinite", \.clip.nonfinite, "what a non-finite gradient norm or loss, or an update that would overflow a weight, does: skip (the step) or abort (the run)"),

        .int("checkpoint.every", \.checkpoint.every, "steps between checkpoints; 0 = only at the end"),
        .int("checkpoint.keep", \.checkpoint.keep, "newest checkpoints kept"),
        .bool("checkpoint.best", \.checkpoint.best, "keep checkpoints/best, a link to the checkpoint of the lowest validation loss, never pruned"),
        .choice("checkpoint.on_error", \.checkpoint.onError, "a failed write (disk full, I/O error): stop the job, or continue training"),

        .int("log.every", \.log.every, "steps per metrics line"),
        .int("log.eval_every", \.log.evalEvery, "steps between validations; 0 = never"),
        .int("log.eval_tokens", \.log.evalTokens, "validation tokens per evaluation; 0 = all"),
        .tensorboard("log.tensorboard", "TensorBoard event files of every metrics line: false, true (in RUN_DIR/tb), or a directory"),

        .int("bench.vocabulary", \.bench.vocabulary, "bench: vocabulary of the synthetic tokens"),
        .int("bench.warmup", \.bench.warmup, "bench: untimed steps before timing"),
        .int("bench.steps", \.bench.steps, "bench: timed steps"),

        .int("ngram.order", \.ngram.order, "ngram: order n of the Kneser–Ney model (the previous n − 1 tokens), 1 to 16"),
        .size("ngram.memory", \.ngram.memory,
              "ngram: bytes of counts held while counting (K, M, G suffixes) before sorted runs spill to disk; 0 = no limit, else at least 1M"),
    ]

    /// Section names in table order.
    static let sections: [String] = options.reduce(into: []) { names, option in
        if names.last != option.section { names.append(option.section) }
    }

    static let optionsByKey: [String: ConfigOption] =
        Dictionary(uniqueKeysWithValues: options.map { ($0.key, $0) })

    /// `| key | default | meaning |`, one row per option, for docs/configuration.md.
    public static func markdownTable() -> String {
        // A `|` inside a cell would split it; escape it.
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| key | default | meaning |", "| --- | --- | --- |"]
        for option in options {
            lines.append("| `\(option.key)` | `\(cell(option.defaultValue))` | \(cell(option.meaning)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
