/// A fixed-size, zero-initialised, 64-byte-aligned array of trivially copyable elements.
///
/// Parameters, gradients and activations live in these: raw pointers go straight to BLAS and the
/// C kernels, and nothing is reallocated once a buffer exists.
public final class Buffer<Element: BitwiseCopyable> {
    public let count: Int
    public let base: UnsafeMutablePointer<Element>

    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        let bytes = max(1, count * MemoryLayout<Element>.stride)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        base = raw.bindMemory(to: Element.self, capacity: max(1, count))
    }

    public convenience init(_ values: [Element]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { base.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    public subscript(index: Int) -> Element {
        get { base[index] }
        set { base[index] = newValue }
    }

    public var bytes: Int { count * MemoryLayout<Element>.stride }

    /// How many of the entries in `range` (all by default) are infinite or NaN.
    public func nonfiniteCount(in range: Range<Int>? = nil) -> Int where Element == Float {
        var n = 0
        for i in range ?? 0..<count where !base[i].isFinite { n += 1 }
        return n
    }

    public var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }

    public func zero() {
        UnsafeMutableRawPointer(base).initializeMemory(as: UInt8.self, repeating: 0,
                                                       count: count * MemoryLayout<Element>.stride)
    }

    public func copy(from other: Buffer<Element>) {
        precondition(other.count == count, "buffer sizes differ")
        base.update(from: other.base, count: count)
    }
}
