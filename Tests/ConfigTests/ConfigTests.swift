@testable import Config
import Files
import Foundation
import ModelSpec
import XCTest

final class ConfigTests: XCTestCase {
    // MARK: Helpers

    /// The message of the UserError `body` throws; fails the test if it throws nothing or something else.
    private func userError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            try body()
            XCTFail("expected a UserError, got success", file: file, line: line)
        } catch let error as UserError {
            return error.description
        } catch {
            XCTFail("expected a UserError, got \(error)", file: file, line: line)
        }
        return ""
    }

    private func parse(_ yaml: String, _ overrides: [String] = []) throws -> TrainingConfig {
        try TrainingConfig.parse(yaml: yaml, source: "config.yaml", overrides: overrides)
    }

    /// Every key set to a non-default value that still passes validation.
    private let fullYAML = """
    # every option, none at its default
    model:
      cell: gru
      activation: relu
      layers: 3
      hidden: 128
      embedding: 256
      bidirectional: true
      gru_variant: linear-before-reset
      dropout: 0.25
      tie_weights: true
      context: 4
    data:
      path: corpus/train.txt
      val_path: "corpus/val.txt"
      val_fraction: 0.05
      tokenizer: word
      min_count: 3
      mode: windows
      task: fill-in-the-middle
      mask_rate: 0.3
    train:
      global_batch: 48
      seq_len: 35
      steps: 5000
      epochs: 2
      accumulate: 4
      seed: 18446744073709551615
      deterministic: true
      deterministic_group: 4
      shard_optimizer: true
      reduce: bf16
      check_every: 50
      early_stop: 4
      step_timeout: 120.5
      precision: bf16
    optimizer:
      type: sgd
      lr: 0.5
      momentum: 0.9
      nesterov: true
      betas: [0.8, 0.95]
      eps: 1e-6
      weight_decay: 0.01
      alpha: 0.9
    schedule:
      type: cosine
      warmup: 100
      step_size: 2000
      gamma: 0.1
      min_lr: 1.0e-4
    clip:
      max_norm: 0.25
      nonfinite: abort
    checkpoint:
      every: 0
      keep: 5
      best: true
      on_error: continue
    log:
      every: 1
      eval_every: 150
      eval_tokens: 4096
      tensorboard: /data/tb/run-7
    bench:
      vocabulary: 10000
      warmup: 5
      steps: 40
    ngram:
      order: 7
      memory: 64M
    """

    private var fullConfig: TrainingConfig {
        var c = TrainingConfig()
        c.model.architecture = .recurrent(.gru)
        c.model.activation = .relu
        c.model.layers = 3
        c.model.hidden = 128
        c.model.embedding = 256
        c.model.bidirectional = true
        c.model.gruVariant = .linearBeforeReset
        c.model.dropout = 0.25
        c.model.tieWeights = true
        c.model.context = 4
        c.data.path = "corpus/train.txt"
        c.data.valPath = "corpus/val.txt"
        c.data.valFraction = 0.05
        c.data.tokenizer = .word
        c.data.minCount = 3
        c.data.mode = .windows
        c.data.task = .fillInTheMiddle
        c.data.maskRate = 0.3
        c.train.globalBatch = 48
        c.train.seqLen = 35
        c.train.steps = 5000
        c.train.epochs = 2
        c.train.accumulate = 4
        c.train.seed = .max
        c.train.deterministic = true
        c.train.deterministicGroup = 4
        c.train.shardOptimizer = true
        c.train.reduce = .bf16
        c.train.checkEvery = 50
        c.train.earlyStop = 4
        c.train.stepTimeout = 120.5
        c.train.precision = .bf16
        c.optimizer.type = .sgd
        c.optimizer.lr = 0.5
        c.optimizer.momentum = 0.9
        c.optimizer.nesterov = true
        c.optimizer.beta1 = 0.8
        c.optimizer.beta2 = 0.95
        c.optimizer.eps = 1e-6
        c.optimizer.weightDecay = 0.01
        c.optimizer.alpha = 0.9
        c.schedule.type = .cosine
        c.schedule.warmup = 100
        c.schedule.stepSize = 2000
        c.schedule.gamma = 0.1
        c.schedule.minLR = 1e-4
        c.clip.maxNorm = 0.25
        c.clip.nonfinite = .abort
        c.checkpoint.every = 0
        c.checkpoint.keep = 5
        c.log.every = 1
        c.log.evalEvery = 150
        c.log.evalTokens = 4096
        c.log.tensorboard = .directory("/data/tb/run-7")
        c.checkpoint.onError = .continue
        c.checkpoint.best = true
        c.bench.vocabulary = 10000
        c.bench.warmup = 5
        c.bench.steps = 40
        c.ngram.order = 7
        c.ngram.memory = 64 << 20
        return c
    }

    /// `section.key` for each `  key:` line under a `section:` line of block YAML.
    private func keys(inYAML text: String) -> [String] {
        var section = ""
        var keys: [String] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            if line.first?.isWhitespace == true { keys.append("\(section).\(name)") } else { section = name }
        }
        return keys
    }

    // MARK: Defaults

    func testDefaults() throws {
        let c = TrainingConfig()
        XCTAssertEqual(c.model, ModelConfig())
        XCTAssertEqual(c.model.vocabulary, 0)
        XCTAssertEqual(c.data.path, "")
        XCTAssertEqual(c.data.valPath, "")
        XCTAssertEqual(c.data.valFraction, 0.1)
        XCTAssertEqual(c.data.tokenizer, .char)
        XCTAssertEqual(c.data.minCount, 1)
        XCTAssertEqual(c.data.mode, .stream)
        XCTAssertEqual(c.data.task, .lm)
        XCTAssertEqual(c.data.maskRate, 0.15)
        XCTAssertEqual(c.train.globalBatch, 32)
        XCTAssertEqual(c.train.seqLen, 64)
        XCTAssertEqual(c.train.steps, 1000)
        XCTAssertEqual(c.train.epochs, 0)
        XCTAssertEqual(c.train.accumulate, 1)
        XCTAssertEqual(c.train.seed, 1)
        XCTAssertFalse(c.train.deterministic)
        XCTAssertEqual(c.train.deterministicGroup, 1)
        XCTAssertFalse(c.train.shardOptimizer)
        XCTAssertEqual(c.train.reduce, .fp32)
        XCTAssertEqual(c.train.checkEvery, 100)
        XCTAssertEqual(c.train.stepTimeout, 600)
        XCTAssertEqual(c.train.precision, .fp32)
        XCTAssertEqual(c.optimizer.type, .adam)
        XCTAssertEqual(c.optimizer.lr, 2e-3)
        XCTAssertEqual(c.optimizer.momentum, 0)
        XCTAssertFalse(c.optimizer.nesterov)
        XCTAssertEqual(c.optimizer.beta1, 0.9)
        XCTAssertEqual(c.optimizer.beta2, 0.999)
        XCTAssertEqual(c.optimizer.eps, 1e-8)
        XCTAssertEqual(c.optimizer.weightDecay, 0)
        XCTAssertEqual(c.optimizer.alpha, 0.99)
        XCTAssertEqual(c.schedule.type, .constant)
        XCTAssertEqual(c.schedule.warmup, 0)
        XCTAssertEqual(c.schedule.stepSize, 1000)
        XCTAssertEqual(c.schedule.gamma, 0.5)
        XCTAssertEqual(c.schedule.minLR, 0)
        XCTAssertEqual(c.clip.maxNorm, 5)
        XCTAssertEqual(c.clip.nonfinite, .skip)
        XCTAssertEqual(c.checkpoint.every, 500)
        XCTAssertEqual(c.checkpoint.keep, 3)
        XCTAssertEqual(c.log.every, 10)
        XCTAssertEqual(c.log.evalEvery, 200)
        XCTAssertEqual(c.log.evalTokens, 0)
        XCTAssertEqual(c.log.tensorboard, .off)
        XCTAssertEqual(c.bench.vocabulary, 65)
        XCTAssertEqual(c.bench.steps, 20)
        XCTAssertNoThrow(try c.validate())
    }

    func testEmptyFilesAreDefaults() throws {
        XCTAssertEqual(try parse(""), TrainingConfig())
        XCTAssertEqual(try parse("# only a comment\n"), TrainingConfig())
        XCTAssertEqual(try parse("train:\n  # nothing set yet\n"), TrainingConfig())
    }

    // MARK: Parsing

    func testFullFileSetsEveryKey() throws {
        let parsed = try parse(fullYAML)
        XCTAssertEqual(parsed, fullConfig)
        // The file covers the whole table, and every value in it differs from the default,
        // so a key that is silently ignored would fail the equality above.
        XCTAssertEqual(keys(inYAML: fullYAML), TrainingConfig.options.map(\.key))
        for option in TrainingConfig.options {
            XCTAssertNotEqual(option.value(in: parsed), option.defaultValue, option.key)
        }
    }

    func testYAMLValueForms() throws {
        // Block list for betas, YAML 1.1 booleans and integer spellings, an int where a double is expected.
        let c = try parse("""
        optimizer:
          betas:
            - 0.5
            - 0.75
          lr: 1
        model:
          bidirectional: yes
        data:
          task: fill-in-the-middle
          mode: windows
          path: 2024
        train:
          steps: 1_000_000
          seq_len: 0x20
        """)
        XCTAssertEqual(c.optimizer.beta1, 0.5)
        XCTAssertEqual(c.optimizer.beta2, 0.75)
        XCTAssertEqual(c.optimizer.lr, 1.0)
        XCTAssertTrue(c.model.bidirectional)
        XCTAssertEqual(c.data.path, "2024")
        XCTAssertEqual(c.train.steps, 1_000_000)
        XCTAssertEqual(c.train.seqLen, 32)
    }

    /// `log.tensorboard` is a boolean or a path; a path that reads as a boolean or a number is
    /// taken as a path when quoted, and each form is written back as it reads.
    func testTensorBoardTakesABooleanOrADirectory() throws {
        let forms: [(String, TensorBoardOutput)] = [
            ("true", .runDirectory), ("false", .off), ("runs/tb", .directory("runs/tb")),
            ("\"true\"", .directory("true")), ("2024", .directory("2024")),
        ]
        for (text, expected) in forms {
            let config = try parse("log:\n  tensorboard: \(text)\n")
            XCTAssertEqual(config.log.tensorboard, expected, text)
            XCTAssertEqual(try TrainingConfig.parse(yaml: config.yaml(), source: "resolved.yaml"), config, text)
            XCTAssertEqual(try parse("", ["log.tensorboard=\(text)"]).log.tensorboard, expected, "--set \(text)")
        }
        for (text, got) in [("", "nothing"), ("\"\"", "\"\""), ("[a, b]", "a list of 2 items")] {
            XCTAssertEqual(userError { _ = try self.parse("log:\n  tensorboard: \(text)\n") },
                           "config.yaml: log.tensorboard: expected true, false or a directory, got \(got)", text)
        }
    }

    func testLoadReadsAFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID()).yaml")
        try "train:\n  seq_len: 16\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let c = try TrainingConfig.load(path: url.path, overrides: ["train.steps=3"])
        XCTAssertEqual(c.train.seqLen, 16)
        XCTAssertEqual(c.train.steps, 3)
        // Errors in a loaded file name that file.
        try "train:\n  seq_len: x\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertTrue(userError { _ = try TrainingConfig.load(path: url.path) }.hasPrefix("\(url.path): train.seq_len:"))
    }

    func testLoadMissingFileNamesThePath() {
        let path = "/nonexistent/dir/config.yaml"
        let message = userError { _ = try TrainingConfig.load(path: path) }
        XCTAssertTrue(message.contains(path), message)
        let directory = FileManager.default.temporaryDirectory.path
        XCTAssertTrue(userError { _ = try TrainingConfig.load(path: directory) }.contains(directory))
    }

    // MARK: Round trip

    func testYAMLRoundTripsDefaults() throws {
        let text = TrainingConfig().yaml()
        XCTAssertEqual(try TrainingConfig.parse(yaml: text, source: "resolved.yaml"), TrainingConfig())
        XCTAssertEqual(keys(inYAML: text), TrainingConfig.options.map(\.key))
        XCTAssertTrue(text.hasPrefix("model:\n  cell: lstm\n"), text)
        XCTAssertTrue(text.contains("\n  betas: [0.9, 0.999]\n"), text)
    }

    func testYAMLRoundTripsNonDefaults() throws {
        var config = fullConfig
        // Strings that would change meaning unquoted: a comment, a colon, quotes, escapes, a number.
        config.data.path = "runs/a: #b \"c\" \\d\té\n"
        config.data.valPath = "123"
        config.optimizer.lr = 1.0 / 3.0
        config.schedule.minLR = 1e-300
        let text = config.yaml()
        XCTAssertEqual(try TrainingConfig.parse(yaml: text, source: "resolved.yaml"), config, text)
    }

    // MARK: Overrides

    func testOverridesApplyInOrderAndWinOverTheFile() throws {
        let c = try parse("train:\n  seq_len: 32\n  steps: 10\n", [
            "train.seq_len=128", "train.steps=5", "train.steps=7",
            "optimizer.betas=[0.5, 0.6]", "data.path=x y.txt", "model.cell=gru", "data.val_path=",
        ])
        XCTAssertEqual(c.train.seqLen, 128)
        XCTAssertEqual(c.train.steps, 7)
        XCTAssertEqual(c.optimizer.beta1, 0.5)
        XCTAssertEqual(c.optimizer.beta2, 0.6)
        XCTAssertEqual(c.data.path, "x y.txt")
        XCTAssertEqual(c.data.valPath, "")
        XCTAssertEqual(c.model.architecture, .recurrent(.gru))
    }

    func testOverridesAreValidatedTogether() throws {
        // Each alone is invalid; together they are fine, so validation runs after all overrides.
        let c = try parse("", ["model.bidirectional=true", "data.task=fill-in-the-middle", "data.mode=windows"])
        XCTAssertTrue(c.model.bidirectional)
    }

    // MARK: Strictness

    func testExactTypeMessage() {
        XCTAssertEqual(userError { _ = try self.parse("train:\n  seq_len: abc\n") },
                       #"config.yaml: train.seq_len: expected an integer, got "abc""#)
    }

    func testStrictnessErrorsNameSourceAndKey() {
        // (YAML text, substrings the one-line message must contain)
        let cases: [(String, [String])] = [
            ("trian:\n  steps: 1\n", ["trian", "unknown section", "did you mean train?"]),
            ("training:\n  steps: 1\n", ["training", "unknown section"]),
            ("train:\n  seqlen: 5\n", ["train.seqlen", "unknown key", "did you mean train.seq_len?"]),
            ("optimizer:\n  betas1: 0.9\n", ["optimizer.betas1", "did you mean optimizer.betas?"]),
            ("train:\n  steps: 1e3\n", ["train.steps", "integer", "\"1e3\""]),
            ("train:\n  steps: 2.0\n", ["train.steps", "integer"]),
            ("train:\n  steps: \"100\"\n", ["train.steps", "integer"]),
            ("train:\n  steps:\n", ["train.steps", "got nothing"]),
            ("train:\n  steps: 99999999999999999999\n", ["train.steps", "integer"]),
            ("optimizer:\n  lr: fast\n", ["optimizer.lr", "number", "\"fast\""]),
            ("optimizer:\n  lr: [1, 2]\n", ["optimizer.lr", "a list"]),
            ("optimizer:\n  lr: .nan\n", ["optimizer.lr", "finite"]),
            ("optimizer:\n  lr: .inf\n", ["optimizer.lr", "finite"]),
            ("train:\n  deterministic: maybe\n", ["train.deterministic", "true or false"]),
            ("model:\n  bidirectional: 1\n", ["model.bidirectional", "true or false"]),
            ("train:\n  seed: -1\n", ["train.seed", "non-negative"]),
            ("train:\n  seed: 0.5\n", ["train.seed", "non-negative integer"]),
            ("data:\n  path: [a, b]\n", ["data.path", "string"]),
            ("model:\n  cell: Trans-Former\n", ["model.cell", "a cell's name or mlp", "\"Trans-Former\""]),
            ("model:\n  cell: \(String(repeating: "a", count: 33))\n", ["model.cell", "a cell's name or mlp"]),
            ("data:\n  task: FIM\n", ["data.task", "lm, fill-in-the-middle"]),
            ("model:\n  cell:\n", ["model.cell", "got nothing"]),
            ("train: 5\n", ["train", "mapping", "\"5\""]),
            ("model: [a, b]\n", ["model", "mapping", "list"]),
            ("train:\n  steps: 1\n  steps: 2\n", ["train.steps", "duplicate", "line 2"]),
            ("train:\n  steps: 1\nmodel:\n  cell: gru\ntrain:\n  seq_len: 2\n", ["train", "duplicate"]),
            ("train: {steps: 1, steps: 2}\n", ["train.steps", "duplicate"]),
            ("train:\n  steps: [1, 2\n", ["invalid YAML", "line"]),
            ("train:\n\tsteps: 1\n", ["invalid YAML", "line 2"]),
            ("- a\n- b\n", ["top level", "list"]),
            ("hello\n", ["top level", "\"hello\""]),
            ("train:\n  seq_len:\n    x: 1\n", ["train.seq_len", "nested too deeply"]),
            ("[train]: 1\n", ["keys must be plain names"]),
            ("optimizer:\n  betas: 0.9\n", ["optimizer.betas", "two numbers"]),
            ("optimizer:\n  betas: [0.9]\n", ["optimizer.betas", "two numbers"]),
            ("optimizer:\n  betas: [0.9, 0.9, 0.9]\n", ["optimizer.betas", "two numbers"]),
            ("optimizer:\n  betas: [0.9, x]\n", ["optimizer.betas", "\"x\""]),
            ("optimizer:\n  betas: [0.9, [0.9]]\n", ["optimizer.betas", "a list"]),
        ]
        for (yaml, expected) in cases {
            let message = userError { _ = try self.parse(yaml) }
            XCTAssertTrue(message.hasPrefix("config.yaml: "), "\(yaml) -> \(message)")
            XCTAssertFalse(message.contains("\n"), "\(yaml) -> \(message)")
            for part in expected {
                XCTAssertTrue(message.contains(part), "\(yaml) -> \(message), missing \(part)")
            }
        }
    }

    func testNoSuggestionWhenNothingIsClose() {
        let message = userError { _ = try self.parse("train:\n  banana: 1\n") }
        XCTAssertTrue(message.contains("train.banana"), message)
        XCTAssertFalse(message.contains("did you mean"), message)
    }

    func testMalformedOverridesNameTheOverride() {
        let cases: [(String, [String])] = [
            ("train.steps", ["--set train.steps", "section.key=value"]),
            ("train.stepz=5", ["--set train.stepz=5", "train.stepz", "did you mean train.steps?"]),
            ("train=5", ["--set train=5", "unknown key"]),
            ("steps=5", ["--set steps=5", "unknown key"]),
            ("train.steps=abc", ["--set train.steps=abc", "train.steps", "integer"]),
            ("optimizer.betas=[1, 2", ["--set optimizer.betas=[1, 2", "invalid YAML"]),
            ("optimizer.betas=0.9", ["--set optimizer.betas=0.9", "optimizer.betas"]),
            ("model.hidden=a: 1", ["--set model.hidden=a: 1", "model.hidden", "nested too deeply"]),
            ("model.cell=", ["model.cell", "got nothing"]),
        ]
        for (override, expected) in cases {
            let message = userError { _ = try self.parse("", [override]) }
            XCTAssertFalse(message.contains("\n"), "\(override) -> \(message)")
            for part in expected {
                XCTAssertTrue(message.contains(part), "\(override) -> \(message), missing \(part)")
            }
        }
    }

    // MARK: Validation

    func testValidationRulesNameTheKey() {
        let fim = ["data.task=fill-in-the-middle", "data.mode=windows"]
        let mlp = ["model.cell=mlp", "model.layers=1"]
        // (overrides on top of the defaults, key the message must start with)
        let cases: [([String], String)] = [
            (["optimizer.lr=0"], "optimizer.lr"),
            (["optimizer.lr=-1e-3"], "optimizer.lr"),
            (["model.hidden=0"], "model.hidden"),
            (["model.embedding=0"], "model.embedding"),
            (["model.layers=0"], "model.layers"),
            (["train.seq_len=0"], "train.seq_len"),
            (["train.global_batch=0"], "train.global_batch"),
            (["train.accumulate=0"], "train.accumulate"),
            (["train.accumulate=5"], "train.accumulate"),
            (["train.steps=0"], "train.steps"),
            (["train.epochs=-1"], "train.epochs"),
            (["model.dropout=1"], "model.dropout"),
            (["model.dropout=-0.1"], "model.dropout"),
            (["data.val_fraction=1"], "data.val_fraction"),
            (["data.val_fraction=-0.1"], "data.val_fraction"),
            (["data.mask_rate=0"], "data.mask_rate"),
            (["data.mask_rate=1"], "data.mask_rate"),
            (["data.min_count=0"], "data.min_count"),
            (["model.context=0"], "model.context"),
            (["model.bidirectional=true"], "model.bidirectional"),
            (["model.tie_weights=true"], "model.tie_weights"),
            (fim + ["model.bidirectional=true", "model.tie_weights=true", "model.embedding=256"], "model.tie_weights"),
            (mlp + ["model.tie_weights=true"], "model.tie_weights"),
            (["model.cell=mlp"], "model.layers"),
            (mlp + fim + ["model.bidirectional=true"], "model.bidirectional"),
            (["data.task=fill-in-the-middle"], "data.task"),
            (["optimizer.betas=[1.0, 0.9]"], "optimizer.betas"),
            (["optimizer.betas=[0.9, -0.1]"], "optimizer.betas"),
            (["optimizer.eps=0"], "optimizer.eps"),
            (["optimizer.momentum=-0.5"], "optimizer.momentum"),
            (["optimizer.nesterov=true", "optimizer.momentum=0.9"], "optimizer.nesterov"),
            (["optimizer.nesterov=true", "optimizer.type=sgd"], "optimizer.nesterov"),
            (["optimizer.weight_decay=-1"], "optimizer.weight_decay"),
            (["optimizer.alpha=1"], "optimizer.alpha"),
            (["optimizer.alpha=-0.1"], "optimizer.alpha"),
            (["schedule.warmup=-1"], "schedule.warmup"),
            (["schedule.step_size=0"], "schedule.step_size"),
            (["schedule.gamma=0"], "schedule.gamma"),
            (["schedule.gamma=1.5"], "schedule.gamma"),
            (["schedule.min_lr=-1e-4"], "schedule.min_lr"),
            (["schedule.min_lr=0.002"], "schedule.min_lr"),
            (["clip.max_norm=-1"], "clip.max_norm"),
            (["checkpoint.every=-1"], "checkpoint.every"),
            (["checkpoint.keep=0"], "checkpoint.keep"),
            (["log.every=0"], "log.every"),
            (["log.eval_every=-1"], "log.eval_every"),
            (["log.eval_tokens=-1"], "log.eval_tokens"),
            (["train.check_every=0"], "train.check_every"),
            (["train.deterministic_group=0"], "train.deterministic_group"),
            (["bench.vocabulary=2"], "bench.vocabulary"),
            (["bench.steps=0"], "bench.steps"),
            (["train.deterministic_group=5"], "train.deterministic_group"),
            (["train.step_timeout=0"], "train.step_timeout"),
        ]
        for (overrides, key) in cases {
            let message = userError { _ = try self.parse("", overrides) }
            XCTAssertTrue(message.hasPrefix("\(key): "), "\(overrides) -> \(message)")
        }
    }

    /// ngram.memory: bytes as an integer or with a binary suffix, 0 or at least 1M; written back
    /// with the largest suffix that divides it, which reads back the same.
    func testNGramMemoryTakesSizesWithSuffixes() throws {
        let cases: [(String, Int, String)] = [("0", 0, "0"), ("1048576", 1 << 20, "1M"), ("64M", 64 << 20, "64M"),
                                              ("2G", 2 << 30, "2G"), ("1T", 1 << 40, "1T"), ("1536K", 1536 << 10, "1536K"),
                                              ("1048577", (1 << 20) + 1, "1048577")]
        for (text, bytes, written) in cases {
            let config = try parse("", ["ngram.memory=\(text)"])
            XCTAssertEqual(config.ngram.memory, bytes, text)
            XCTAssertTrue(config.yaml().contains("  memory: \(written)\n"), "\(text) written as \(written)")
            XCTAssertEqual(try parse(config.yaml()), config, text)
        }
        for text in ["64m", "1.5G", "-1", "-1M", "M", "64MB", "99999999999T", "true"] {
            XCTAssertTrue(userError { _ = try self.parse("", ["ngram.memory=\(text)"]) }.contains("ngram.memory: expected"), text)
        }
        XCTAssertEqual(userError { _ = try self.parse("", ["ngram.memory=1023K"]) },
                       "ngram.memory: must be 0 (no limit) or at least 1M, got 1023K")
    }

    func testBidirectionalLanguageModelMessage() {
        XCTAssertEqual(userError { _ = try self.parse("model:\n  bidirectional: true\n") },
                       "model.bidirectional: a bidirectional model sees the future; use task fill-in-the-middle")
    }

    func testBoundaryValuesThatAreValid() throws {
        let fim = ["data.task=fill-in-the-middle", "data.mode=windows"]
        let valid: [[String]] = [
            ["train.steps=0", "train.epochs=1"],  // epochs > 0 replaces steps
            ["train.accumulate=8"],
            ["model.cell=mlp", "model.layers=1", "model.tie_weights=true", "model.hidden=64"],
            fim + ["model.bidirectional=true", "model.tie_weights=true", "model.embedding=512"],
            ["model.tie_weights=true", "model.embedding=256"],
            ["optimizer.type=sgd", "optimizer.momentum=0.9", "optimizer.nesterov=true"],
            ["optimizer.betas=[0, 0]", "optimizer.alpha=0", "schedule.gamma=1", "clip.max_norm=0"],
            ["checkpoint.every=0", "log.eval_every=0", "data.val_fraction=0", "model.dropout=0"],
        ]
        for overrides in valid {
            XCTAssertNoThrow(try parse("", overrides), "\(overrides)")
        }
    }

    func testValidateChecksTheStructDirectly() {
        var config = TrainingConfig()
        config.train.seqLen = 0
        XCTAssertTrue(userError { try config.validate() }.hasPrefix("train.seq_len: "))
    }

    // MARK: The table

    func testMarkdownTableMatchesTheParser() throws {
        let lines = TrainingConfig.markdownTable().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "| key | default | meaning |")
        let rows = Array(lines.dropFirst(2))
        XCTAssertEqual(rows.count, TrainingConfig.options.count)
        let tableKeys = rows.map { row -> String in
            let cells = row.split(separator: "|", omittingEmptySubsequences: false)
            return cells[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
        XCTAssertEqual(Set(tableKeys).count, tableKeys.count, "duplicate rows")
        // Every key in the table is accepted by the parser with its listed default…
        for option in TrainingConfig.options {
            XCTAssertTrue(tableKeys.contains(option.key), option.key)
            XCTAssertEqual(try parse("", ["\(option.key)=\(option.defaultValue)"]), TrainingConfig(), option.key)
            XCTAssertFalse(option.meaning.isEmpty, option.key)
        }
        // …and every key the parser accepts (those of the full file, which sets all) is in the table.
        XCTAssertEqual(Set(keys(inYAML: fullYAML)), Set(tableKeys))
        XCTAssertEqual(tableKeys, keys(inYAML: TrainingConfig().yaml()))
        // A key outside the table is refused.
        XCTAssertFalse(tableKeys.contains("model.vocabulary"))
        XCTAssertTrue(userError { _ = try self.parse("model:\n  vocabulary: 50\n") }.contains("model.vocabulary"))
    }

    func testEditDistance() {
        XCTAssertEqual(TrainingConfig.editDistance("", "abc"), 3)
        XCTAssertEqual(TrainingConfig.editDistance("abc", ""), 3)
        XCTAssertEqual(TrainingConfig.editDistance("seqlen", "seq_len"), 1)
        XCTAssertEqual(TrainingConfig.editDistance("kitten", "sitting"), 3)
    }
}
