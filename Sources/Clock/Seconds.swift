/// Every duration rnntrain measures is taken on Swift's `ContinuousClock`, which is monotonic
/// (a wall clock set back during a run changes no step time), and reported in seconds.
public typealias Instant = ContinuousClock.Instant

extension Duration {
    /// This duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension ContinuousClock.Instant {
    /// Seconds from this instant until now.
    public var secondsAgo: Double { (ContinuousClock.now - self).seconds }
}
