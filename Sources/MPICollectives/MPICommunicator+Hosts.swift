import CMPI
import Foundation

/// The host each rank runs on, for messages that must say where a fault is.
extension MPICommunicator {
    /// Bytes of one rank's host name in the exchange; longer names are cut.
    private static let nameBytes = 128

    /// This process's host: MPI's processor name, and the address of the Open MPI daemon that
    /// started it when there is one, because emulated hosts (network namespaces) and some
    /// clusters' nodes share one hostname but never an address.
    static func localHost() -> String {
        var text = [CChar](repeating: 0, count: 1024)
        var length: Int32 = 0
        let name = MPI_Get_processor_name(&text, &length) == cmpi_success() ? String(cString: text) : "?"
        // OMPI_MCA_orte_local_daemon_uri is "jobid.vpid;tcp://ADDRESS:PORT[;...]".
        guard let uri = ProcessInfo.processInfo.environment["OMPI_MCA_orte_local_daemon_uri"],
              let start = uri.range(of: "tcp://") else { return name }
        let address = uri[start.upperBound...].prefix { $0 != ";" && $0 != "," }
        guard let colon = address.lastIndex(of: ":") else { return name }
        let host = address[..<colon]
        return host.isEmpty || host == name[...] ? name : "\(name) at \(host)"
    }

    /// Every rank's host, indexed by rank (one blocking allgather, at start).
    static func exchangeHosts(_ local: String, size: Int, world: MPI_Comm?) throws -> [String] {
        var send = [UInt8](repeating: 0, count: nameBytes)
        for (i, byte) in local.utf8.prefix(nameBytes - 1).enumerated() { send[i] = byte }
        var receive = [UInt8](repeating: 0, count: nameBytes * size)
        try check(MPI_Allgather(send, Int32(nameBytes), cmpi_byte(), &receive, Int32(nameBytes), cmpi_byte(), world),
                  "MPI_Allgather of host names")
        return (0..<size).map { r in
            let bytes = receive[(r * nameBytes)..<((r + 1) * nameBytes)].prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
