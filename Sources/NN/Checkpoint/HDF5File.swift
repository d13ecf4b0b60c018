// A thin Swift layer over the parts of the HDF5 C API that checkpoints use: files, groups,
// float datasets and scalar attributes. Everything here is internal; `Checkpoint` is the
// public face.
//
// The C library's type and property-list "constants" are macros over globals that `H5open()`
// initialises (`H5T_NATIVE_FLOAT` is `(H5OPEN H5T_NATIVE_FLOAT_g)`), so this file reads the
// globals directly inside `HDF5Library.withLock`, which calls `H5open()` first. The globals are
// written once by the library and only read afterwards, under the lock; `@preconcurrency`
// tells Swift 6 to accept references to them.
@preconcurrency import CHDF5
import Foundation

/// A failed HDF5 library call: the C function that failed and the messages of HDF5's error stack.
struct HDF5Error: Error, CustomStringConvertible {
    /// The C function whose return value reported the failure, e.g. `H5Fopen`.
    var function: String
    /// The outermost and innermost messages of HDF5's error stack, joined by ": "; empty if the
    /// stack was empty.
    var message: String

    var description: String {
        message.isEmpty ? "\(function) failed" : "\(function) failed: \(message)"
    }
}

/// Process-wide access to the HDF5 library.
///
/// Debian's serial HDF5 must not be entered from two threads at once, and its error stack and
/// error-printing settings are global, so every use of the library, from opening a file to
/// closing its last handle, runs inside `withLock(_:)`.
enum HDF5Library {
    private static let lock = NSLock()

    /// The value HDF5 uses for "default property list", "whole dataspace" and "default error stack".
    static let defaultID: hid_t = 0
    /// `H5T_VARIABLE`, the size of a variable-length string type: `(size_t)-1`, which Swift sees as `Int`.
    static let variableLength = -1

    /// Runs `body` while holding the process-wide HDF5 lock, with the library initialised,
    /// automatic error printing switched off and the error stack empty.
    ///
    /// `body` must close every handle it opens before it returns: handles must not escape.
    static func withLock<Result, Failure: Error>(
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        _ = H5open()
            // Without this HDF5 prints its error stack to stderr on every failure. In thread-safe
            // builds the setting is per thread, so it is made on every entry, not once.
        _ = H5Eset_auto2(defaultID, nil, nil)
        _ = H5Eclear2(defaultID)
        return try body()
    }

    /// Throws the current error stack as an `HDF5Error` when `status` is negative.
    static func check(_ status: herr_t, _ function: String) throws(HDF5Error) {
        if status < 0 { throw failure(function) }
    }

    /// Returns `id`, or throws the current error stack as an `HDF5Error` when it is negative.
    static func check(id: hid_t, _ function: String) throws(HDF5Error) -> hid_t {
        if id < 0 { throw failure(function) }
        return id
    }

    /// Collects the messages of the current error stack into an error for `function` and clears the stack.
    static func failure(_ function: String) -> HDF5Error {
        final class Messages { var lines: [String] = [] }
        let messages = Messages()
        let walker: H5E_walk2_t = { _, entry, context in
            guard let entry, let context else { return 0 }
            let messages = Unmanaged<Messages>.fromOpaque(context).takeUnretainedValue()
            if let text = entry.pointee.desc.map({ String(cString: $0) }), !text.isEmpty,
               messages.lines.last != text {
                messages.lines.append(text)
            }
            return 0
        }
        withExtendedLifetime(messages) {
            _ = H5Ewalk2(defaultID, H5E_WALK_DOWNWARD, walker, Unmanaged.passUnretained(messages).toOpaque())
        }
        _ = H5Eclear2(defaultID)
        // The outermost entry says what failed, the innermost why; the ones between are internals.
        let lines = messages.lines.count > 2 ? [messages.lines.first!, messages.lines.last!] : messages.lines
        let message = lines.joined(separator: ": ").split(whereSeparator: \.isNewline).joined(separator: " ")
        return HDF5Error(function: function, message: message)
    }
}

/// An HDF5 identifier that this process owns, released by `close()` or, failing that, on deinit.
class HDF5Object {
    /// The identifier; negative once closed.
    private(set) var id: hid_t
    private let release: (hid_t) -> herr_t
    private let releaseName: String

    init(id: hid_t, release: @escaping (hid_t) -> herr_t, releaseName: String) {
        self.id = id
        self.release = release
        self.releaseName = releaseName
    }

    /// Releases the identifier, reporting a failure (a file close can fail while writing out buffers).
    func close() throws(HDF5Error) {
        guard id >= 0 else { return }
        let status = release(id)
        id = -1
        try HDF5Library.check(status, releaseName)
    }

    deinit {
        if id >= 0 { _ = release(id) }
    }
}

/// Factories for handles used during one call. They are not inlined on purpose: an inlined
/// allocation lets the optimiser promote the object to the stack, and in release builds such
/// stack-promoted handles came back with corrupted headers ("deallocated with non-zero retain
/// count") in Swift 6.3; heap objects do not.
extension HDF5Object {
    @inline(never)
    static func dataspace(_ id: hid_t) -> HDF5Object {
        HDF5Object(id: id, release: { H5Sclose($0) }, releaseName: "H5Sclose")
    }
    @inline(never)
    static func datatype(_ id: hid_t) -> HDF5Object {
        HDF5Object(id: id, release: { H5Tclose($0) }, releaseName: "H5Tclose")
    }
    @inline(never)
    static func attribute(_ id: hid_t) -> HDF5Object {
        HDF5Object(id: id, release: { H5Aclose($0) }, releaseName: "H5Aclose")
    }
    @inline(never)
    static func dataset(_ id: hid_t) -> HDF5Object {
        HDF5Object(id: id, release: { H5Dclose($0) }, releaseName: "H5Dclose")
    }
    @inline(never)
    static func propertyList(_ id: hid_t) -> HDF5Object {
        HDF5Object(id: id, release: { H5Pclose($0) }, releaseName: "H5Pclose")
    }
}

/// The value of a scalar attribute, or a description of one this layer does not read.
enum HDF5AttributeValue: Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    /// Any other datatype or a dataspace with more than one element, described for error messages.
    case unsupported(String)
}

/// The element type of a dataset, as far as checkpoints care.
enum HDF5ElementType: Equatable, CustomStringConvertible {
    case float(bits: Int)
    case integer(bits: Int, signed: Bool)
    case string
    case other(String)

    init(datatype: hid_t) {
        let bits = H5Tget_size(datatype) * 8
        switch H5Tget_class(datatype) {
        case H5T_FLOAT: self = .float(bits: bits)
        case H5T_INTEGER: self = .integer(bits: bits, signed: H5Tget_sign(datatype) != H5T_SGN_NONE)
        case H5T_STRING: self = .string
        case H5T_COMPOUND: self = .other("compound")
        case H5T_ENUM: self = .other("enum")
        case H5T_ARRAY: self = .other("array")
        case H5T_VLEN: self = .other("variable-length sequence")
        case H5T_OPAQUE: self = .other("opaque")
        case H5T_REFERENCE: self = .other("reference")
        case H5T_BITFIELD: self = .other("bitfield")
        case H5T_TIME: self = .other("time")
        default: self = .other("unknown")
        }
    }

    var description: String {
        switch self {
        case .float(let bits): "float\(bits)"
        case .integer(let bits, let signed): "\(signed ? "int" : "uint")\(bits)"
        case .string: "string"
        case .other(let name): name
        }
    }
}

/// Attribute access shared by files, groups and datasets.
class HDF5AttributeOwner: HDF5Object {
    /// The names of the attributes attached to this object, in name order.
    func attributeNames() throws(HDF5Error) -> [String] {
        final class Names { var values: [String] = [] }
        let names = Names()
        let collect: H5A_operator2_t = { _, name, _, context in
            guard let name, let context else { return -1 }
            Unmanaged<Names>.fromOpaque(context).takeUnretainedValue().values.append(String(cString: name))
            return 0
        }
        var index: hsize_t = 0
        let status = withExtendedLifetime(names) {
            H5Aiterate2(id, H5_INDEX_NAME, H5_ITER_INC, &index, collect, Unmanaged.passUnretained(names).toOpaque())
        }
        try HDF5Library.check(status, "H5Aiterate2")
        return names.values
    }

    /// Reads the attribute `name`: a string, or a number converted to `Int64` or `Double`.
    func readAttribute(_ name: String) throws(HDF5Error) -> HDF5AttributeValue {
        let attribute = HDF5Object.attribute(try HDF5Library.check(id: H5Aopen(id, name, HDF5Library.defaultID), "H5Aopen"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(attribute) {} }
        let datatype = HDF5Object.datatype(try HDF5Library.check(id: H5Aget_type(attribute.id), "H5Aget_type"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(datatype) {} }
        let dataspace = HDF5Object.dataspace(try HDF5Library.check(id: H5Aget_space(attribute.id), "H5Aget_space"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(dataspace) {} }
        let elementType = HDF5ElementType(datatype: datatype.id)
        let elements = H5Sget_simple_extent_npoints(dataspace.id)
        guard elements == 1 else {
            return .unsupported("\(elementType) with \(max(elements, 0)) elements")
        }
        switch elementType {
        case .integer:
            var value: Int64 = 0
            try HDF5Library.check(H5Aread(attribute.id, H5T_NATIVE_INT64_g, &value), "H5Aread")
            return .integer(value)
        case .float:
            var value: Double = 0
            try HDF5Library.check(H5Aread(attribute.id, H5T_NATIVE_DOUBLE_g, &value), "H5Aread")
            return .float(value)
        case .string:
            return .string(try readString(attribute: attribute.id, datatype: datatype.id))
        case .other:
            return .unsupported("\(elementType)")
        }
    }

    private func readString(attribute: hid_t, datatype: hid_t) throws(HDF5Error) -> String {
        let memoryType = HDF5Object.datatype(try HDF5Library.check(id: H5Tcopy(H5T_C_S1_g), "H5Tcopy"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(memoryType) {} }
        try HDF5Library.check(H5Tset_cset(memoryType.id, H5Tget_cset(datatype)), "H5Tset_cset")
        let isVariableLength = H5Tis_variable_str(datatype)
        if isVariableLength < 0 { throw HDF5Library.failure("H5Tis_variable_str") }
        if isVariableLength > 0 {
            try HDF5Library.check(H5Tset_size(memoryType.id, HDF5Library.variableLength), "H5Tset_size")
            var pointer: UnsafeMutablePointer<CChar>? = nil
            try HDF5Library.check(H5Aread(attribute, memoryType.id, &pointer), "H5Aread")
            defer { if let pointer { _ = H5free_memory(pointer) } }
            return pointer.map { String(cString: $0) } ?? ""
        }
        let size = H5Tget_size(datatype)
        guard size > 0 else { throw HDF5Library.failure("H5Tget_size") }
        // Read as NUL-padded (not NUL-terminated, which would drop the last character of a full
        // string); HDF5 converts space padding, and the text ends at the first NUL.
        try HDF5Library.check(H5Tset_size(memoryType.id, size), "H5Tset_size")
        try HDF5Library.check(H5Tset_strpad(memoryType.id, H5T_STR_NULLPAD), "H5Tset_strpad")
        var bytes = [UInt8](repeating: 0, count: size)
        try HDF5Library.check(H5Aread(attribute, memoryType.id, &bytes), "H5Aread")
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Attaches a scalar attribute `name` holding `value`: a fixed-length NUL-padded UTF-8 string
    /// (which must not contain NUL), a little-endian int64 or a little-endian float64.
    func writeAttribute(_ name: String, _ value: HDF5AttributeValue) throws(HDF5Error) {
        let dataspace = HDF5Object.dataspace(try HDF5Library.check(id: H5Screate(H5S_SCALAR), "H5Screate"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(dataspace) {} }
        switch value {
        case .string(let text):
            // Fixed length, so the bytes sit in the (checksummed) object header. Variable-length
            // strings would live in the global heap, which has no checksum and whose corruption
            // crashes HDF5 1.10 inside H5Aread.
            var bytes = Array(text.utf8)
            precondition(!bytes.contains(0), "attribute \(name): strings must not contain NUL")
            if bytes.isEmpty { bytes = [0] }  // HDF5 has no zero-length string type
            let datatype = HDF5Object.datatype(try HDF5Library.check(id: H5Tcopy(H5T_C_S1_g), "H5Tcopy"))
            // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
            // the handle, right after the last read of `.id`, before HDF5 is done with it.
            defer { withExtendedLifetime(datatype) {} }
            try HDF5Library.check(H5Tset_size(datatype.id, bytes.count), "H5Tset_size")
            try HDF5Library.check(H5Tset_strpad(datatype.id, H5T_STR_NULLPAD), "H5Tset_strpad")
            try HDF5Library.check(H5Tset_cset(datatype.id, H5T_CSET_UTF8), "H5Tset_cset")
            let attribute = HDF5Object.attribute(try HDF5Library.check(
                id: H5Acreate2(id, name, datatype.id, dataspace.id, HDF5Library.defaultID, HDF5Library.defaultID),
                "H5Acreate2"))
            // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
            // the handle, right after the last read of `.id`, before HDF5 is done with it.
            defer { withExtendedLifetime(attribute) {} }
            try HDF5Library.check(H5Awrite(attribute.id, datatype.id, bytes), "H5Awrite")
            try attribute.close()
        case .integer(var number):
            let attribute = HDF5Object.attribute(try HDF5Library.check(
                id: H5Acreate2(id, name, H5T_STD_I64LE_g, dataspace.id, HDF5Library.defaultID, HDF5Library.defaultID),
                "H5Acreate2"))
            // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
            // the handle, right after the last read of `.id`, before HDF5 is done with it.
            defer { withExtendedLifetime(attribute) {} }
            try HDF5Library.check(H5Awrite(attribute.id, H5T_NATIVE_INT64_g, &number), "H5Awrite")
            try attribute.close()
        case .float(var number):
            let attribute = HDF5Object.attribute(try HDF5Library.check(
                id: H5Acreate2(id, name, H5T_IEEE_F64LE_g, dataspace.id, HDF5Library.defaultID, HDF5Library.defaultID),
                "H5Acreate2"))
            // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
            // the handle, right after the last read of `.id`, before HDF5 is done with it.
            defer { withExtendedLifetime(attribute) {} }
            try HDF5Library.check(H5Awrite(attribute.id, H5T_NATIVE_DOUBLE_g, &number), "H5Awrite")
            try attribute.close()
        case .unsupported(let description):
            preconditionFailure("writeAttribute cannot write an unsupported value (\(description))")
        }
    }
}

/// What a link inside a group leads to.
enum HDF5Member {
    case group(HDF5Group)
    case dataset(HDF5Dataset)
    /// A named datatype or another kind of object, described for error messages.
    case other(String)
}

/// A group, or a file seen as its root group.
class HDF5Group: HDF5AttributeOwner {
    /// The names of the links in this group, in name order.
    func memberNames() throws(HDF5Error) -> [String] {
        var info = H5G_info_t()
        try HDF5Library.check(H5Gget_info(id, &info), "H5Gget_info")
        var names: [String] = []
        names.reserveCapacity(Int(info.nlinks))
        for index in 0..<info.nlinks {
            let length = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, HDF5Library.defaultID)
            guard length >= 0 else { throw HDF5Library.failure("H5Lget_name_by_idx") }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            let written = H5Lget_name_by_idx(id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count,
                                             HDF5Library.defaultID)
            guard written >= 0 else { throw HDF5Library.failure("H5Lget_name_by_idx") }
            names.append(String(decoding: buffer.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return names
    }

    /// Opens the object that the link `name` leads to (following soft links).
    func openMember(_ name: String) throws(HDF5Error) -> HDF5Member {
        let object = try HDF5Library.check(id: H5Oopen(id, name, HDF5Library.defaultID), "H5Oopen")
        switch H5Iget_type(object) {
        case H5I_GROUP:
            return .group(HDF5Group(id: object, release: { H5Gclose($0) }, releaseName: "H5Gclose"))
        case H5I_DATASET:
            return .dataset(try HDF5Dataset(opened: object))
        case H5I_DATATYPE:
            _ = H5Oclose(object)
            return .other("named datatype")
        default:
            _ = H5Oclose(object)
            return .other("object of unknown type")
        }
    }

    /// Creates the group `name` inside this one.
    func createGroup(_ name: String) throws(HDF5Error) -> HDF5Group {
        let properties = try HDF5Group.untimedCreationProperties(H5P_CLS_GROUP_CREATE_ID_g)
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(properties) {} }
        let group = try HDF5Library.check(
            id: H5Gcreate2(id, name, HDF5Library.defaultID, properties.id, HDF5Library.defaultID), "H5Gcreate2")
        return HDF5Group(id: group, release: { H5Gclose($0) }, releaseName: "H5Gclose")
    }

    /// Writes `scalars` as a contiguous little-endian float32 dataset `name` of `shape`
    /// (`[]` gives a scalar dataspace).
    func writeFloatDataset(_ name: String, shape: [Int], scalars: UnsafeBufferPointer<Float>) throws(HDF5Error) {
        precondition(scalars.count == shape.reduce(1, *), "dataset \(name): \(scalars.count) scalars for shape \(shape)")
        let dataspaceID: hid_t
        if shape.isEmpty {
            dataspaceID = H5Screate(H5S_SCALAR)
        } else {
            let extents = shape.map { hsize_t($0) }
            dataspaceID = H5Screate_simple(Int32(extents.count), extents, nil)
        }
        let dataspace = HDF5Object.dataspace(try HDF5Library.check(id: dataspaceID, "H5Screate"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(dataspace) {} }
        let properties = try HDF5Group.untimedCreationProperties(H5P_CLS_DATASET_CREATE_ID_g)
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(properties) {} }
        let dataset = HDF5Object.dataset(try HDF5Library.check(
                id: H5Dcreate2(id, name, H5T_IEEE_F32LE_g, dataspace.id, HDF5Library.defaultID, properties.id,
                               HDF5Library.defaultID),
                "H5Dcreate2"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(dataset) {} }
        if scalars.count > 0 {
            try HDF5Library.check(
                H5Dwrite(dataset.id, H5T_NATIVE_FLOAT_g, HDF5Library.defaultID, HDF5Library.defaultID,
                         HDF5Library.defaultID, scalars.baseAddress),
                "H5Dwrite")
        }
        try dataset.close()
    }

    /// Object-creation properties that leave out modification times, so that equal contents give equal files.
    private static func untimedCreationProperties(_ propertyClass: hid_t) throws(HDF5Error) -> HDF5Object {
        let properties = HDF5Object.propertyList(try HDF5Library.check(id: H5Pcreate(propertyClass), "H5Pcreate"))
        try HDF5Library.check(H5Pset_obj_track_times(properties.id, false), "H5Pset_obj_track_times")
        return properties
    }
}

/// An open dataset with its shape and element type.
final class HDF5Dataset: HDF5AttributeOwner {
    /// The extents, `[]` for a scalar dataspace, `nil` for a null (empty) dataspace.
    let shape: [Int]?
    /// The element type stored in the file.
    let elementType: HDF5ElementType

    fileprivate init(opened dataset: hid_t) throws(HDF5Error) {
        var shape: [Int]? = nil
        var elementType = HDF5ElementType.other("unknown")
        var failure: HDF5Error? = nil
        let dataspace = H5Dget_space(dataset)
        let datatype = H5Dget_type(dataset)
        if dataspace < 0 || datatype < 0 {
            failure = HDF5Library.failure(dataspace < 0 ? "H5Dget_space" : "H5Dget_type")
        } else {
            elementType = HDF5ElementType(datatype: datatype)
            switch H5Sget_simple_extent_type(dataspace) {
            case H5S_SCALAR:
                shape = []
            case H5S_SIMPLE:
                let rank = H5Sget_simple_extent_ndims(dataspace)
                if rank < 0 {
                    failure = HDF5Library.failure("H5Sget_simple_extent_ndims")
                } else {
                    var extents = [hsize_t](repeating: 0, count: Int(rank))
                    if H5Sget_simple_extent_dims(dataspace, &extents, nil) < 0 {
                        failure = HDF5Library.failure("H5Sget_simple_extent_dims")
                    } else if extents.contains(where: { $0 > hsize_t(Int.max) }) {
                        failure = HDF5Error(function: "H5Sget_simple_extent_dims", message: "extent out of range")
                    } else {
                        shape = extents.map { Int($0) }
                    }
                }
            case H5S_NULL:
                shape = nil
            default:
                failure = HDF5Library.failure("H5Sget_simple_extent_type")
            }
        }
        if dataspace >= 0 { _ = H5Sclose(dataspace) }
        if datatype >= 0 { _ = H5Tclose(datatype) }
        self.shape = shape
        self.elementType = elementType
        super.init(id: dataset, release: { H5Dclose($0) }, releaseName: "H5Dclose")
        if let failure { throw failure }
    }

    /// Reads the whole dataset into `buffer` as native `Float`, letting HDF5 convert from the
    /// stored float type (float64 values are rounded to the nearest float32).
    func readFloats(into buffer: UnsafeMutableBufferPointer<Float>) throws(HDF5Error) {
        guard buffer.count > 0 else { return }
        try HDF5Library.check(
            H5Dread(id, H5T_NATIVE_FLOAT_g, HDF5Library.defaultID, HDF5Library.defaultID, HDF5Library.defaultID,
                    buffer.baseAddress),
            "H5Dread")
    }
}

/// An HDF5 file, which is also its root group.
final class HDF5File: HDF5Group {
    /// Whether the file at `path` starts with the HDF5 signature (at offset 0 or a user-block
    /// offset); `nil` when HDF5 could not check, e.g. because the file cannot be read.
    static func hasSignature(path: String) -> Bool? {
        switch H5Fis_hdf5(path) {
        case let result where result > 0: true
        case 0: false
        default: nil
        }
    }

    /// Opens an existing file for reading.
    static func open(readingFrom path: String) throws(HDF5Error) -> HDF5File {
        let file = try HDF5Library.check(id: H5Fopen(path, 0 /* H5F_ACC_RDONLY */, HDF5Library.defaultID), "H5Fopen")
        return HDF5File(id: file, release: { H5Fclose($0) }, releaseName: "H5Fclose")
    }

    /// Creates a file at `path`, replacing any file there.
    ///
    /// The file uses the object formats of HDF5 1.8 (the oldest release h5py still supports), whose
    /// superblock and object headers carry checksums, so damaged metadata is reported on reading
    /// instead of being misread.
    static func create(path: String) throws(HDF5Error) -> HDF5File {
        let access = HDF5Object.propertyList(try HDF5Library.check(id: H5Pcreate(H5P_CLS_FILE_ACCESS_ID_g), "H5Pcreate"))
        // Alive to the end of the scope: the optimiser may otherwise end its lifetime, and close
        // the handle, right after the last read of `.id`, before HDF5 is done with it.
        defer { withExtendedLifetime(access) {} }
        try HDF5Library.check(H5Pset_libver_bounds(access.id, H5F_LIBVER_V18, H5F_LIBVER_V18), "H5Pset_libver_bounds")
        let file = try HDF5Library.check(
            id: H5Fcreate(path, 2 /* H5F_ACC_TRUNC */, HDF5Library.defaultID, access.id), "H5Fcreate")
        return HDF5File(id: file, release: { H5Fclose($0) }, releaseName: "H5Fclose")
    }

    /// Writes all buffered data of the file to the operating system.
    func flush() throws(HDF5Error) {
        try HDF5Library.check(H5Fflush(id, H5F_SCOPE_GLOBAL), "H5Fflush")
    }
}
