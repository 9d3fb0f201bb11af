import Foundation

/// A graph under construction: its nodes in order, its constant tensors (initializers), its
/// inputs and outputs, with the ONNX protocol buffer boilerplate in one place.
struct GraphBuilder {
    /// A tensor dimension in an input's or output's type: a number, or a name the caller chooses
    /// at run time (ONNX's `dim_param`).
    enum Dimension {
        case fixed(Int)
        case symbolic(String)
    }

    private(set) var graph = Onnx_GraphProto()

    init(name: String, doc: String) {
        graph.name = name
        graph.docString = doc
    }

    /// A float constant [dims], stored little-endian in `raw_data`.
    @discardableResult
    mutating func constant(_ name: String, _ dims: [Int], floats values: [Float]) -> String {
        precondition(values.count == dims.reduce(1, *), "\(name): \(values.count) values for \(dims)")
        var t = tensor(name, dims, .float)
        var bytes = Data(count: 4 * values.count)
        bytes.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
        }
        t.rawData = bytes
        graph.initializer.append(t)
        return name
    }

    /// An int64 constant [dims] (a scalar when dims is empty).
    @discardableResult
    mutating func constant(_ name: String, _ dims: [Int], int64s values: [Int64]) -> String {
        precondition(values.count == dims.reduce(1, *), "\(name): \(values.count) values for \(dims)")
        var t = tensor(name, dims, .int64)
        t.int64Data = values
        graph.initializer.append(t)
        return name
    }

    /// Appends a node computing `outputs` from `inputs` ("" for an optional input left out); its
    /// first output's name.
    @discardableResult
    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Onnx_AttributeProto] = []) -> String {
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = "\(op)_\(graph.node.count)"
        n.input = inputs
        n.output = outputs
        n.attribute = attributes
        graph.node.append(n)
        return outputs[0]
    }

    mutating func input(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Dimension], doc: String) {
        graph.input.append(Self.valueInfo(name, type, dims, doc: doc))
    }

    mutating func output(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Dimension], doc: String) {
        graph.output.append(Self.valueInfo(name, type, dims, doc: doc))
    }

    private func tensor(_ name: String, _ dims: [Int], _ type: Onnx_TensorProto.DataType) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map(Int64.init)
        t.dataType = Int32(type.rawValue)
        return t
    }

    private static func valueInfo(_ name: String, _ type: Onnx_TensorProto.DataType, _ dims: [Dimension],
                                  doc: String) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            switch d {
            case .fixed(let size): dim.dimValue = Int64(size)
            case .symbolic(let name): dim.dimParam = name
            }
            return dim
        }
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(type.rawValue)
        tensorType.shape = shape
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensorType
        info.docString = doc
        return info
    }
}

/// Node attributes, by ONNX type.
enum Attribute {
    static func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .int
        a.i = Int64(value)
        return a
    }

    static func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .ints
        a.ints = values.map(Int64.init)
        return a
    }

    static func string(_ name: String, _ value: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .string
        a.s = Data(value.utf8)
        return a
    }

    static func strings(_ name: String, _ values: [String]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        a.type = .strings
        a.strings = values.map { Data($0.utf8) }
        return a
    }
}
