/// How text is cut into tokens. (Duplicate of the definition in TrainingConfig.swift, kept so
/// this worktree builds on its own; the lead deletes one when merging.)
public enum TokenizerKind: String, CaseIterable, Sendable { case char, byte, word }
