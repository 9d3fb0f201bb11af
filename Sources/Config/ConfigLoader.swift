import CLibYAML
import Files
import Foundation
import ModelSpec
import Yams

// Reading, overriding, writing and checking a TrainingConfig.
//
// We walk Yams' node tree by hand instead of decoding with Codable: Codable silently ignores
// unknown keys, and a misspelt key that is ignored trains the wrong model for hours.
//
// A config may come from a checkpoint someone sent us, so the text is checked before Yams builds
// anything from it: at most 64 KiB, nesting at most 8 levels, at most 4096 nodes, and no anchors,
// aliases or tags (`checkEvents`). Aliases are the "billion laughs": a few lines that expand to
// 10^9 nodes, which Yams' duplicate-key check would walk; tags are how YAML loaders in other
// languages are talked into constructing objects. A config needs none of them.

extension TrainingConfig {
    /// Reads a file (missing/unreadable file → UserError naming the path), then `parse`.
    public static func load(path: String, overrides: [String] = []) throws -> TrainingConfig {
        // A bounded read of a regular file: /dev/zero or a FIFO named as the config is refused.
        let bytes = try FileIO.readNamed(path, kind: "config file", limit: maximumYAMLBytes)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw UserError("\(path): the config file is not UTF-8 text")
        }
        return try parse(yaml: text, source: path, overrides: overrides)
    }

    /// Parses YAML text strictly, then applies `--set key=value` overrides in order, then
    /// validates. `source` names the file in messages.
    public static func parse(yaml: String, source: String, overrides: [String] = []) throws -> TrainingConfig {
        let source = shown(source)
        var config = TrainingConfig()
        try config.apply(document: composeDocument(yaml, source: source), source: source)
        for override in overrides { try config.apply(override: override) }
        try config.validate()
        return config
    }

    /// The resolved config: every option, grouped by section, in table order, as YAML that
    /// `parse` reads back to an equal config.
    public func yaml() -> String {
        var lines: [String] = []
        var section = ""
        for option in Self.options {
            if option.section != section {
                section = option.section
                lines.append("\(section):")
            }
            lines.append("  \(option.name): \(option.render(self))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Walking the document

    /// Top level: a mapping of sections, each a mapping of keys to scalars (or the betas list).
    mutating func apply(document root: Node?, source: String) throws {
        guard let root, !YAMLValue.isNull(root) else { return }  // an empty file is all defaults
        guard case let .mapping(sections) = root else {
            throw UserError("\(source): expected a mapping of sections (\(Self.sections.joined(separator: ", "))) at the top level, got \(YAMLValue.describe(root))")
        }
        for (sectionNode, body) in sections {
            let section = try Self.keyName(sectionNode, source: source)
            guard Self.sections.contains(section) else {
                throw UserError("\(source): \(section): unknown section\(Self.suggestion(for: section, among: Self.sections))")
            }
            if YAMLValue.isNull(body) { continue }  // `train:` with every key commented out
            guard case let .mapping(keys) = body else {
                throw UserError("\(source): \(section): expected a mapping of \(section) keys, got \(YAMLValue.describe(body))")
            }
            for (keyNode, value) in keys {
                let key = "\(section).\(try Self.keyName(keyNode, source: source))"
                guard let option = Self.optionsByKey[key] else { throw Self.unknownKey(key, source: source) }
                try set(option, to: value, source: source)
            }
        }
    }

    /// Applies one `section.key=value`; the value is read as YAML with the file's rules.
    mutating func apply(override: String) throws {
        let source = "--set \(Self.shown(override))"
        guard let equals = override.firstIndex(of: "=") else {
            throw UserError("\(source): expected section.key=value")
        }
        let key = override[..<equals].trimmingCharacters(in: .whitespaces)
        guard let option = Self.optionsByKey[key] else { throw Self.unknownKey(key, source: source) }
        // YAML would fold a newline into a space, and the run would use a value nobody typed.
        guard !override.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw UserError("\(source): a control character (a newline, a tab) in a --set value; write the value on one line")
        }
        let value = try Self.composeDocument(String(override[override.index(after: equals)...]), source: source)
        try set(option, to: value ?? Node("", Tag(.null)), source: source)
    }

    private mutating func set(_ option: ConfigOption, to value: Node, source: String) throws {
        // The config is two levels deep; a mapping here is a third level.
        if case .mapping = value {
            throw UserError("\(source): \(option.key): nested too deeply (the config has only section.key levels), got a mapping")
        }
        do {
            try option.read(value, &self)
        } catch let error as ConfigValueError {
            throw UserError("\(source): \(option.key): \(error.reason)")
        }
    }

    private static func keyName(_ node: Node, source: String) throws -> String {
        guard case let .scalar(scalar) = node else {
            throw UserError("\(source): keys must be plain names, got \(YAMLValue.describe(node))")
        }
        return shown(scalar.string)
    }

    private static func unknownKey(_ key: String, source: String) -> UserError {
        UserError("\(source): \(shown(key)): unknown key\(suggestion(for: key, among: options.map(\.key)))")
    }

    /// Text from the input as it appears in a message: as it is when short and printable, else
    /// JSON-quoted and cut at 80 characters, so a hostile name cannot break the one-line message
    /// (nor, starting with a combining mark, fuse with the ": " before it).
    public static func shown(_ text: String) -> String {
        let marks: Set<Unicode.GeneralCategory> = [.nonspacingMark, .spacingMark, .enclosingMark]
        let plain = text.unicodeScalars.count <= 200
            && text.unicodeScalars.first.map { !marks.contains($0.properties.generalCategory) } ?? true
            && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f && !$0.properties.isWhitespace || $0 == " " }
        return plain ? text : JSON.quotedShort(text)
    }

    /// " (did you mean x?)" for the closest candidate within edit distance 2, else "".
    static func suggestion(for word: String, among candidates: [String]) -> String {
        // Lengths that differ by more than 2 are more than 2 edits apart: no need to compute.
        let length = word.count
        let scored = candidates.filter { abs($0.count - length) <= 2 }.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= 2 }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return "" }
        return " (did you mean \(best.0)?)"
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 0..<b.count {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (a[i - 1] == b[j] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    // MARK: YAML errors as one line

    /// Longest config text accepted (the full config written by `yaml()` is about 1.6 KB).
    static let maximumYAMLBytes = 65_536
    /// Deepest nesting of collections accepted (a config needs 3: sections, keys, betas).
    static let maximumYAMLDepth = 8
    /// Most nodes (scalars and collections) accepted (the full config has about 130).
    static let maximumYAMLNodes = 4096

    /// YAML 1.1's implicit types that options read: bool, int, float, null. Without Yams' other
    /// rules (merge "<<", timestamp, value "="), a scalar matches at most these four expressions
    /// (NSRegularExpression: the bulk of the time a config takes to read), and "<<" is a plain
    /// key, never a merge of anchored mappings.
    static let resolver = Resolver.default.removing(.merge).removing(.timestamp).removing(.value)

    /// `Yams.compose`, after `checkEvents`, with its multi-line errors reduced to one line that
    /// names the source.
    static func composeDocument(_ text: String, source: String) throws -> Node? {
        guard text.utf8.count <= maximumYAMLBytes else {
            throw UserError("\(source): \(text.utf8.count) bytes, more than the \(maximumYAMLBytes) a config may have")
        }
        try checkEvents(text, source: source)
        do {
            return try Yams.compose(yaml: text, resolver)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            let name = shown(duplicates.sorted().first ?? "?")
            let key = enclosingSection(line: context.mark.line, column: context.mark.column, in: text)
                .map { "\(shown($0)).\(name)" } ?? name
            throw UserError("\(source): \(key): duplicate key (first at line \(context.mark.line))")
        } catch {
            throw UserError("\(source): invalid YAML: \((error as? YamlError).map(oneLine) ?? "\(error)")")
        }
    }

    /// Runs libyaml's event parser (the system's libyaml, of which Yams embeds a copy; Yams' public
    /// API offers only finished trees, built with aliases resolved and duplicate keys hashed, which
    /// is what a billion-laughs text makes exponential) over the text before Yams composes it:
    /// refuses aliases, anchors and tags, nesting deeper than `maximumYAMLDepth` and more than
    /// `maximumYAMLNodes` nodes, each as soon as it is met, so nothing is ever expanded or
    /// recursed into. A syntax error ends the check quietly: composing stops at the same place,
    /// having seen only events this check accepted, and reports it in its own words.
    static func checkEvents(_ text: String, source: String) throws {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw UserError("\(source): cannot start the YAML parser") }
        defer { yaml_parser_delete(&parser) }
        try bytes.withUnsafeMutableBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var depth = 0, nodes = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return }
                defer { yaml_event_delete(&event) }
                let mark = event.start_mark
                func at() -> String { "line \(mark.line + 1), column \(mark.column + 1)" }
                func refuse(_ what: String) -> UserError {
                    UserError("\(source): \(at()): \(what) (a config takes plain values only: no anchors, aliases or tags)")
                }
                func name(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String {
                    pointer.map { JSON.quotedShort(String(cString: $0)) } ?? "?"
                }
                func checkProperties(anchor: UnsafeMutablePointer<yaml_char_t>?, tag: UnsafeMutablePointer<yaml_char_t>?) throws {
                    if anchor != nil { throw refuse("anchor &\(name(anchor))") }
                    if tag != nil { throw refuse("tag \(name(tag))") }
                }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_ALIAS_EVENT:
                    throw refuse("alias *\(name(event.data.alias.anchor))")
                case YAML_SCALAR_EVENT:
                    try checkProperties(anchor: event.data.scalar.anchor, tag: event.data.scalar.tag)
                    nodes += 1
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    if event.type == YAML_SEQUENCE_START_EVENT {
                        try checkProperties(anchor: event.data.sequence_start.anchor, tag: event.data.sequence_start.tag)
                    } else {
                        try checkProperties(anchor: event.data.mapping_start.anchor, tag: event.data.mapping_start.tag)
                    }
                    nodes += 1
                    depth += 1
                    guard depth <= maximumYAMLDepth else {
                        throw UserError("\(source): \(at()): nested deeper than \(maximumYAMLDepth) levels")
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                default:
                    break
                }
                guard nodes <= maximumYAMLNodes else {
                    throw UserError("\(source): \(at()): more than \(maximumYAMLNodes) values, far more than a config has")
                }
            }
        }
    }

    /// Yams reports a duplicate key without its parent; in block style the parent is the nearest
    /// unindented line at or above the key, so read it off the text. Nil for a top-level key.
    static func enclosingSection(line: Int, column: Int, in text: String) -> String? {
        guard column > 1 else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for index in stride(from: min(line, lines.count) - 1, through: 0, by: -1) {
            let candidate = lines[index]
            guard let first = candidate.first, !first.isWhitespace, first != "#",
                  let colon = candidate.firstIndex(of: ":") else { continue }
            return candidate[..<colon].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func oneLine(_ error: YamlError) -> String {
        func place(_ mark: Mark) -> String { "line \(mark.line), column \(mark.column)" }
        func with(_ context: YamlError.Context?, _ problem: String) -> String {
            context.map { "\(problem) (\($0.text))" } ?? problem
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            if problem.hasPrefix("Maximum nesting level reached") {
                // libyaml's own limit (1000), met while it scans ahead, before any event reaches
                // `checkEvents`; its message names a C function.
                return "\(place(mark)): nested deeper than \(maximumYAMLDepth) levels"
            }
            return "\(place(mark)): \(with(context, problem))"
        default:
            let text = "\(error)"
            return text.split(separator: "\n").first.map(String.init) ?? text
        }
    }
}

// MARK: Validation

extension TrainingConfig {
    /// Impossible values and combinations → UserError naming the key. Runs after overrides, so
    /// it sees what the run will use.
    public func validate() throws {
        func require(_ ok: Bool, _ key: String, _ reason: @autoclosure () -> String) throws {
            if !ok { throw UserError("\(key): \(reason())") }
        }

        // The model's own rules live in ModelConfig.validate(); the vocabulary comes from the
        // tokenizer later, so a placeholder stands in for it here.
        try require(model.context >= 1, "model.context", "must be at least 1, got \(model.context)")
        var withVocabulary = model
        if withVocabulary.vocabulary == 0 { withVocabulary.vocabulary = 2 }
        do {
            try withVocabulary.validate()
        } catch let ModelError.invalidConfig(key, reason) {
            throw UserError("\(key): \(reason)")
        }
        try require(!model.bidirectional || data.task != .lm, "model.bidirectional",
                    "a bidirectional model sees the future; use task fill-in-the-middle")

        try require(data.valFraction >= 0 && data.valFraction < 1, "data.val_fraction", "must be in [0, 1), got \(data.valFraction)")
        try require(data.minCount >= 1, "data.min_count", "must be at least 1, got \(data.minCount)")
        try require(data.maskRate > 0 && data.maskRate < 1, "data.mask_rate", "must be in (0, 1), got \(data.maskRate)")
        try require(data.task != .fillInTheMiddle || data.mode == .windows, "data.task",
                    "fill-in-the-middle needs data.mode windows, got \(data.mode.rawValue)")

        try require(train.globalBatch >= 1, "train.global_batch", "must be at least 1, got \(train.globalBatch)")
        try require(train.seqLen >= 1, "train.seq_len", "must be at least 1, got \(train.seqLen)")
        try require(train.epochs >= 0, "train.epochs", "must be at least 0, got \(train.epochs)")
        try require(train.epochs > 0 || train.steps >= 1, "train.steps", "must be at least 1 when train.epochs is 0, got \(train.steps)")
        try require(train.accumulate >= 1, "train.accumulate", "must be at least 1, got \(train.accumulate)")
        try require(train.globalBatch % train.accumulate == 0, "train.accumulate",
                    "must divide train.global_batch (\(train.globalBatch)), got \(train.accumulate)")
        try require(train.deterministicGroup >= 1 && train.globalBatch % train.deterministicGroup == 0,
                    "train.deterministic_group", "must be at least 1 and divide train.global_batch (\(train.globalBatch)), got \(train.deterministicGroup)")
        try require(train.checkEvery >= 1, "train.check_every", "must be at least 1, got \(train.checkEvery)")
        try require(train.stepTimeout > 0, "train.step_timeout", "must be > 0 seconds, got \(train.stepTimeout)")

        let o = optimizer
        try require(o.lr > 0, "optimizer.lr", "must be > 0, got \(o.lr)")
        try require(o.momentum >= 0, "optimizer.momentum", "must be at least 0, got \(o.momentum)")
        try require(!o.nesterov || (o.type == .sgd && o.momentum > 0), "optimizer.nesterov",
                    "needs optimizer.type sgd and optimizer.momentum > 0, got \(o.type.rawValue) with momentum \(o.momentum)")
        try require([o.beta1, o.beta2].allSatisfy { $0 >= 0 && $0 < 1 }, "optimizer.betas",
                    "each must be in [0, 1), got [\(o.beta1), \(o.beta2)]")
        try require(o.eps > 0, "optimizer.eps", "must be > 0, got \(o.eps)")
        try require(o.weightDecay >= 0, "optimizer.weight_decay", "must be at least 0, got \(o.weightDecay)")
        try require(o.alpha >= 0 && o.alpha < 1, "optimizer.alpha", "must be in [0, 1), got \(o.alpha)")

        let s = schedule
        try require(s.warmup >= 0, "schedule.warmup", "must be at least 0, got \(s.warmup)")
        try require(s.stepSize >= 1, "schedule.step_size", "must be at least 1, got \(s.stepSize)")
        try require(s.gamma > 0 && s.gamma <= 1, "schedule.gamma", "must be in (0, 1], got \(s.gamma)")
        try require(s.minLR >= 0 && s.minLR < o.lr, "schedule.min_lr", "must be in [0, optimizer.lr = \(o.lr)), got \(s.minLR)")

        try require(clip.maxNorm >= 0, "clip.max_norm", "must be at least 0 (0 = no clipping), got \(clip.maxNorm)")
        try require(checkpoint.every >= 0, "checkpoint.every", "must be at least 0, got \(checkpoint.every)")
        try require(checkpoint.keep >= 1, "checkpoint.keep", "must be at least 1, got \(checkpoint.keep)")
        try require(log.every >= 1, "log.every", "must be at least 1, got \(log.every)")
        try require(log.evalEvery >= 0, "log.eval_every", "must be at least 0, got \(log.evalEvery)")
        try require(train.earlyStop >= 0, "train.early_stop", "must be at least 0, got \(train.earlyStop)")
        try require(train.earlyStop == 0 || log.evalEvery > 0, "train.early_stop",
                    "\(train.earlyStop) needs validations, but log.eval_every is 0")
        try require(log.evalTokens >= 0, "log.eval_tokens", "must be at least 0, got \(log.evalTokens)")
        try require(bench.vocabulary >= 3, "bench.vocabulary", "must be at least 3, got \(bench.vocabulary)")
        try require(bench.warmup >= 0, "bench.warmup", "must be at least 0, got \(bench.warmup)")
        try require(bench.steps >= 1, "bench.steps", "must be at least 1, got \(bench.steps)")
        try require(ngram.order >= 1 && ngram.order <= Self.maximumNGramOrder, "ngram.order",
                    "must be 1 to \(Self.maximumNGramOrder), got \(ngram.order)")
        try require(ngram.memory == 0 || ngram.memory >= Self.minimumNGramMemory, "ngram.memory",
                    "must be 0 (no limit) or at least 1M, got \(YAMLValue.renderSize(ngram.memory))")

        // Upper bounds, so that no product or sum of these (B·τ·V activations, epochs × batches,
        // a step counter) can overflow an Int downstream.
        let limits: [(Int, String, Int)] = [
            (train.globalBatch, "train.global_batch", Self.maximumBatch), (train.seqLen, "train.seq_len", Self.maximumBatch),
            (train.epochs, "train.epochs", Self.maximumEpochs), (bench.vocabulary, "bench.vocabulary", ModelConfig.Limit.vocabulary),
            (train.steps, "train.steps", Self.maximumCount), (train.checkEvery, "train.check_every", Self.maximumCount),
            (train.earlyStop, "train.early_stop", Self.maximumCount),
            (data.minCount, "data.min_count", Self.maximumCount), (schedule.warmup, "schedule.warmup", Self.maximumCount),
            (schedule.stepSize, "schedule.step_size", Self.maximumCount), (checkpoint.every, "checkpoint.every", Self.maximumCount),
            (checkpoint.keep, "checkpoint.keep", Self.maximumCount), (log.every, "log.every", Self.maximumCount),
            (log.evalEvery, "log.eval_every", Self.maximumCount), (log.evalTokens, "log.eval_tokens", Self.maximumCount),
            (bench.warmup, "bench.warmup", Self.maximumCount), (bench.steps, "bench.steps", Self.maximumCount),
        ]
        for (value, key, limit) in limits {
            try require(value <= limit, key, "must be at most \(limit), got \(value)")
        }
    }

    /// Largest train.global_batch and train.seq_len: 65536.
    public static let maximumBatch = 1 << 16
    /// Largest train.epochs: 2^20.
    public static let maximumEpochs = 1 << 20
    /// Largest ngram.order: 16 (the n-gram tables of a 1 M-token text stop growing long before).
    public static let maximumNGramOrder = 16
    /// Smallest ngram.memory but 0: 1 MiB, so that a piece holds thousands of positions.
    public static let minimumNGramMemory = 1 << 20
    /// Largest value of every other count (steps, intervals, eval tokens, ...): 2^40.
    public static let maximumCount = 1 << 40
}

// MARK: Scalars

/// Why a value does not fit its option; the caller prefixes the file and key.
struct ConfigValueError: Error {
    let reason: String
}

/// Strict readers for YAML scalars, keyed on the tag Yams resolves (`Node.tag`; YAML 1.1 rules), so
/// `"64"` (quoted) is a string, `1e3` is a float and not an integer, and `yes` is a boolean.
enum YAMLValue {
    /// An integer scalar; YAML 1.1's base-60 form ("1:30") is refused: no option means it, and
    /// Yams computes it with trapping arithmetic ("1:0:0:0:0:0:0:0:0:0:0:0" is 60^11).
    private static func integerScalar(_ node: Node) -> Node.Scalar? {
        guard let scalar = node.scalar, node.tag == Tag(.int), !scalar.string.contains(":") else { return nil }
        return scalar
    }

    static func int(_ node: Node) throws -> Int {
        guard let scalar = integerScalar(node), let value = Int.construct(from: scalar) else {
            throw ConfigValueError(reason: "expected an integer, got \(describe(node))")
        }
        return value
    }

    static func uint64(_ node: Node) throws -> UInt64 {
        guard let scalar = integerScalar(node), let value = UInt64.construct(from: scalar) else {
            throw ConfigValueError(reason: "expected a non-negative integer, got \(describe(node))")
        }
        return value
    }

    /// Bytes: a non-negative integer, or a string of one with a binary suffix K, M, G or T
    /// (`64M` is 64 · 2^20).
    static func size(_ node: Node) throws -> Int {
        if node.tag == Tag(.int) {
            guard let value = try? int(node), value >= 0 else {
                throw ConfigValueError(reason: "expected a non-negative number of bytes, got \(describe(node))")
            }
            return value
        }
        let shifts: [Character: Int] = ["K": 10, "M": 20, "G": 30, "T": 40]
        guard let text = node.scalar?.string, node.tag == Tag(.str), let suffix = text.last, let shift = shifts[suffix],
              text.dropLast().allSatisfy(\.isASCII), let digits = Int(text.dropLast()), digits >= 0,
              digits <= Int.max >> shift else {
            throw ConfigValueError(reason: "expected bytes such as 1048576, 64M or 2G, got \(describe(node))")
        }
        return digits << shift
    }

    /// The largest of T, G, M, K that divides `bytes` as its suffix; plain bytes otherwise.
    static func renderSize(_ bytes: Int) -> String {
        for (suffix, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] where bytes != 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(suffix)"
        }
        return String(bytes)
    }

    /// Integers and floats; infinities and NaN are refused because no option means them.
    static func double(_ node: Node) throws -> Double {
        let scalar = node.scalar
        let value: Double?
        switch node.tag {
        case Tag(.int): value = integerScalar(node).flatMap(Int.construct).map(Double.init)
        case Tag(.float): value = scalar.flatMap(Double.construct)
        default: value = nil
        }
        guard let value, value.isFinite else {
            throw ConfigValueError(reason: "expected a finite number, got \(describe(node))")
        }
        return value
    }

    static func bool(_ node: Node) throws -> Bool {
        guard let scalar = node.scalar, node.tag == Tag(.bool), let value = Bool.construct(from: scalar) else {
            throw ConfigValueError(reason: "expected true or false, got \(describe(node))")
        }
        return value
    }

    /// Any scalar is its text (a path may look like a number); an empty value is "".
    static func string(_ node: Node) throws -> String {
        guard let scalar = node.scalar else {
            throw ConfigValueError(reason: "expected a string, got \(describe(node))")
        }
        return isNull(node) ? "" : scalar.string
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ node: Node, _: E.Type) throws -> E where E.RawValue == String {
        guard let scalar = node.scalar, !isNull(node), let value = E(rawValue: scalar.string) else {
            let choices = E.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigValueError(reason: "expected one of \(choices), got \(describe(node))")
        }
        return value
    }

    /// A flow or block list of exactly two numbers.
    static func pair(_ node: Node) throws -> (Double, Double) {
        guard case let .sequence(items) = node, items.count == 2 else {
            throw ConfigValueError(reason: "expected a list of two numbers like [0.9, 0.999], got \(describe(node))")
        }
        return (try double(items[0]), try double(items[1]))
    }

    static func isNull(_ node: Node) -> Bool {
        node.scalar != nil && node.tag == Tag(.null)
    }

    /// What the user wrote, for "got …".
    static func describe(_ node: Node) -> String {
        switch node {
        case let .scalar(scalar): return isNull(node) ? "nothing" : JSON.quotedShort(scalar.string)
        case let .sequence(items): return "a list of \(items.count) item\(items.count == 1 ? "" : "s")"
        case .mapping: return "a mapping"
        case .alias: return "an alias"
        }
    }

    // MARK: Writing

    /// Shortest text that reads back to the same Double; always a YAML float.
    static func render(_ value: Double) -> String {
        if value.isNaN { return ".nan" }
        if value.isInfinite { return value < 0 ? "-.inf" : ".inf" }
        return "\(value)"  // Swift prints "0.002", "1e-08", "5.0": each matches YAML's float rule
    }

    /// Always double-quoted, so no path can be mistaken for a number, a boolean or a comment.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                out += String(format: "\\x%02X", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
