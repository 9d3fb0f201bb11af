// Thin owners of oneDNN's C handles, for PackedMatmul: each class destroys its handle once, and
// holds what the handle needs alive (a memory or primitive keeps its engine, a primitive the
// memories its arguments name).
import CDNNL

/// A oneDNN call that did not return `dnnl_success`: which call, and the status by its name
/// (`dnnl_unimplemented` when no kernel of this CPU computes the shape or precision asked for).
public struct DNNLError: Error, CustomStringConvertible {
    public let call: String
    public let status: String

    public var description: String { "oneDNN \(call) failed: \(status)" }
}

@inline(__always)
func check(_ status: dnnl_status_t, _ call: @autoclosure () -> String) throws {
    guard status == dnnl_success else { throw DNNLError(call: call(), status: String(cString: dnnl_status2str(status))) }
}

/// For calls that cannot fail on arguments the object itself built (executing a primitive on the
/// memories it was created for): a failure there is a bug, reported with oneDNN's status.
@inline(__always)
func mustSucceed(_ status: dnnl_status_t, _ call: @autoclosure () -> String) {
    precondition(status == dnnl_success, "oneDNN \(call()) failed: \(String(cString: dnnl_status2str(status)))")
}

/// The CPU engine and the in-order stream primitives run on.
final class DNNLEngine {
    let engine: OpaquePointer
    let stream: OpaquePointer

    init() throws {
        var engine: OpaquePointer?, stream: OpaquePointer?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        do {
            try check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        } catch {
            dnnl_engine_destroy(engine)
            throw error
        }
        self.engine = engine!
        self.stream = stream!
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }
}

/// A row-major matrix [rows × cols] with row stride `ld`; `transposed`: stored as its transpose
/// [cols × rows] with row stride `ld`, so element (r, c) is at c·ld + r.
func matrixDescriptor(rows: Int, cols: Int, ld: Int, transposed: Bool = false,
                      type: dnnl_data_type_t) throws -> dnnl_memory_desc_t {
    var md = dnnl_memory_desc_t()
    let dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(cols)]
    let strides: [dnnl_dim_t] = transposed ? [1, dnnl_dim_t(ld)] : [dnnl_dim_t(ld), 1]
    try check(dnnl_memory_desc_init_by_strides(&md, 2, dims, type, strides), "dnnl_memory_desc_init_by_strides")
    return md
}

/// [rows × cols] in whatever layout the primitive prefers (`format_tag_any`).
func anyLayoutDescriptor(rows: Int, cols: Int, type: dnnl_data_type_t) throws -> dnnl_memory_desc_t {
    var md = dnnl_memory_desc_t()
    let dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(cols)]
    try check(dnnl_memory_desc_init_by_tag(&md, 2, dims, type, dnnl_format_tag_any), "dnnl_memory_desc_init_by_tag")
    return md
}

/// A memory object: either oneDNN's own allocation (`owned`) or a view that `point(at:)` aims
/// at the caller's data before each run.
final class DNNLMemory {
    let handle: OpaquePointer
    private let engine: DNNLEngine

    init(_ descriptor: dnnl_memory_desc_t, engine: DNNLEngine, owned: Bool) throws {
        var md = descriptor, memory: OpaquePointer?
        try check(dnnl_memory_create(&memory, &md, engine.engine, owned ? rk_dnnl_memory_allocate() : nil),
                  "dnnl_memory_create")
        handle = memory!
        self.engine = engine
    }

    @inline(__always)
    func point(at data: UnsafeRawPointer) {
        mustSucceed(dnnl_memory_set_data_handle(handle, UnsafeMutableRawPointer(mutating: data)),
                    "dnnl_memory_set_data_handle")
    }

    deinit { dnnl_memory_destroy(handle) }
}

/// Primitive attributes every PackedMatmul primitive shares: the scratchpad is ours (allocated
/// once per primitive, below), so a run never allocates; `accumulate` adds a sum post-op,
/// C = A·B + 1·C, which reads C in the kernel instead of in a second pass.
func primitiveAttributes(accumulate: Bool) throws -> OpaquePointer {
    var attr: OpaquePointer?
    try check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
    do {
        try check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
                  "dnnl_primitive_attr_set_scratchpad_mode")
        if accumulate {
            var ops: OpaquePointer?
            try check(dnnl_post_ops_create(&ops), "dnnl_post_ops_create")
            defer { dnnl_post_ops_destroy(ops) }
            try check(dnnl_post_ops_append_sum(ops, 1), "dnnl_post_ops_append_sum")
            try check(dnnl_primitive_attr_set_post_ops(attr, ops), "dnnl_primitive_attr_set_post_ops")
        }
    } catch {
        dnnl_primitive_attr_destroy(attr)
        throw error
    }
    return attr!
}

/// A primitive descriptor: what oneDNN chose for a problem (kernel, layouts), before a primitive exists.
final class DNNLPrimitiveDescriptor {
    let handle: OpaquePointer

    /// The matmul dst = src · weights (+ dst with `accumulate`).
    init(matmulOf src: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, dst: dnnl_memory_desc_t,
         accumulate: Bool, engine: DNNLEngine) throws {
        var s = src, w = weights, d = dst, desc = dnnl_matmul_desc_t()
        try check(dnnl_matmul_desc_init(&desc, &s, &w, nil, &d), "dnnl_matmul_desc_init")
        let attr = try primitiveAttributes(accumulate: accumulate)
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: OpaquePointer?
        try check(dnnl_primitive_desc_create(&pd, &desc, attr, engine.engine, nil), "dnnl_primitive_desc_create (matmul)")
        handle = pd!
    }

    /// The reorder (layout and type conversion; f32 → bf16 rounds to nearest even) from `src` to `dst`.
    init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t, engine: DNNLEngine) throws {
        var s = src, d = dst
        let attr = try primitiveAttributes(accumulate: false)
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: OpaquePointer?
        try check(dnnl_reorder_primitive_desc_create(&pd, &s, engine.engine, &d, engine.engine, attr),
                  "dnnl_reorder_primitive_desc_create")
        handle = pd!
    }

    func descriptor(_ what: dnnl_query_t) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(handle, what, 0).pointee
    }

    /// oneDNN's name for the kernel it chose, as its verbose mode prints it ("brg:avx512_core_bf16").
    var implementation: String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(handle, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else {
            return "unknown"
        }
        return String(cString: name)
    }

    deinit { dnnl_primitive_desc_destroy(handle) }
}

/// A primitive bound to its argument memories, which are fixed at creation: a run only aims the
/// views at new data (`DNNLMemory.point`) and executes, allocating nothing.
final class DNNLPrimitive {
    private let primitive: OpaquePointer
    /// Held so the handles in `arguments` outlive the primitive.
    private let memories: [DNNLMemory]
    private let arguments: UnsafeMutableBufferPointer<dnnl_exec_arg_t>
    private let engine: DNNLEngine

    /// `arguments`: (DNNL_ARG_…, memory) pairs; the scratchpad the descriptor asks for is added here.
    init(_ descriptor: DNNLPrimitiveDescriptor, arguments: [(Int32, DNNLMemory)], engine: DNNLEngine) throws {
        var all = arguments
        var scratchpad = descriptor.descriptor(dnnl_query_scratchpad_md)
        if dnnl_memory_desc_get_size(&scratchpad) > 0 {
            let memory = try DNNLMemory(scratchpad, engine: engine, owned: true)
            all.append((Int32(DNNL_ARG_SCRATCHPAD), memory))
        }
        var p: OpaquePointer?
        try check(dnnl_primitive_create(&p, descriptor.handle), "dnnl_primitive_create")
        primitive = p!
        memories = all.map { $0.1 }
        let buffer = UnsafeMutableBufferPointer<dnnl_exec_arg_t>.allocate(capacity: all.count)
        _ = buffer.initialize(from: all.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) })
        self.arguments = buffer
        self.engine = engine
    }

    /// Executes on the engine's stream; `wait` blocks until the stream is idle.
    @inline(__always)
    func run(wait: Bool = true) {
        mustSucceed(dnnl_primitive_execute(primitive, engine.stream, Int32(arguments.count), arguments.baseAddress),
                    "dnnl_primitive_execute")
        if wait { mustSucceed(dnnl_stream_wait(engine.stream), "dnnl_stream_wait") }
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        arguments.deallocate()
    }
}
