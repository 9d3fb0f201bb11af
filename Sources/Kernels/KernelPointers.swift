// T's pointers as the C kernels' float or double pointers, for kernels bound outside `Scalar`:
// each recurrent cell binds its own step kernels in its own file, choosing the _f32 or _f64
// instance by `T.self == Float.self` (which specialisation folds away). Float and Double are
// the only `Scalar` types, so T is the one the name says.

extension UnsafeMutablePointer where Pointee: Scalar {
    @inline(__always) public var f32: UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: Float.self) }
    @inline(__always) public var f64: UnsafeMutablePointer<Double> { UnsafeMutableRawPointer(self).assumingMemoryBound(to: Double.self) }
}

extension UnsafePointer where Pointee: Scalar {
    @inline(__always) public var f32: UnsafePointer<Float> { UnsafeRawPointer(self).assumingMemoryBound(to: Float.self) }
    @inline(__always) public var f64: UnsafePointer<Double> { UnsafeRawPointer(self).assumingMemoryBound(to: Double.self) }
}
