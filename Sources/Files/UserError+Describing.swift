import Foundation
import Glibc

extension UserError {
    /// The one line a user sees for any error: a `UserError`'s description, "<path>: <strerror>"
    /// for Foundation's file errors, and `otherwise` of any other error (by default its
    /// description; the command line passes ArgumentParser's wording for its own errors).
    ///
    /// Foundation (FileManager, FileHandle, `Data.write`) throws NSErrors whose description is a
    /// dump (`Error Domain=NSCocoaErrorDomain Code=640 "There isn't enough space." UserInfo={…}`)
    /// that hides the file and the system's words. swift-corelibs-foundation keeps both in the
    /// user info: the path under `NSFilePathErrorKey` or `NSURLErrorKey`, the errno as an
    /// underlying `NSPOSIXErrorDomain` error; this rebuilds the line FileIO's own errors read.
    public static func describing(_ error: any Error,
                                  otherwise: (any Error) -> String = { String(describing: $0) }) -> String {
        if let error = error as? UserError { return oneLine(error.description) }
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return oneLine(otherwise(error)) }
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let reason = posixCode(of: ns).map { String(cString: strerror($0)) } ?? ns.localizedDescription
        return oneLine(path.map { "\($0): \(reason)" } ?? reason)
    }

    /// The errno behind a Foundation error: its own code in the POSIX domain, else an underlying
    /// error's (FileManager stores a Swift `POSIXError` there, which bridges to an NSError).
    private static func posixCode(of error: NSError) -> Int32? {
        if error.domain == NSPOSIXErrorDomain { return Int32(truncatingIfNeeded: error.code) }
        guard let underlying = error.userInfo[NSUnderlyingErrorKey] as? any Error else { return nil }
        return posixCode(of: underlying as NSError)
    }

    /// Line breaks become spaces: the rule is one line on stderr, whatever a library wrote.
    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
