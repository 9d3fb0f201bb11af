/// Errors a caller can cause by handing a model bad shapes or settings.
public enum ModelError: Error, Equatable, CustomStringConvertible {
    case invalidConfig(key: String, reason: String)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case let .invalidConfig(key, reason): return "\(key): \(reason)"
        case let .shapeMismatch(what): return "shape mismatch: \(what)"
        }
    }
}
