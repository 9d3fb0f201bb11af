import Glibc

/// What every command does first, before it opens any file.
public enum StandardStreams {
    /// Opens each of descriptors 0–2 that whoever started us closed (`>&-`) on /dev/null, as
    /// daemons do: otherwise the next file we open (a run's run.lock) would become standard
    /// output and receive its lines. A closed standard output is then a lost-output error, as a
    /// full disk is (`StandardOutput`). And ignores SIGPIPE: a reader that went away (`| head`)
    /// becomes EPIPE on the write, which the command reports and outlives (training finishes and
    /// exits 2), instead of a silent death by signal that loses the steps since the last checkpoint.
    public static func prepare() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            let opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            // open takes the lowest free descriptor, which is `fd`: the lower ones are open.
            if opened >= 0, opened != fd { dup2(opened, fd); close(opened) }
            if fd == 1 { StandardOutput.closedAtStart = true }
        }
        signal(SIGPIPE, SIG_IGN)
    }
}
