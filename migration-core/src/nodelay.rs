//! `TCP_NODELAY` on the process's TCP connections, which sqlx 0.9.0 leaves off.
//!
//! With Nagle's algorithm on, a small write that follows one the server does
//! not answer waits for the server's delayed ACK, 40 ms on Linux: on MariaDB
//! every evicted prepared statement (`COM_STMT_CLOSE`, then the next
//! command), so a 300-revision `up` over TCP spent 20 of its 23 s waiting
//! (docs/benchmarks.md, "Findings"; fixed in sqlx by transact-rs/sqlx#4336,
//! not released). sqlx offers no hook on its sockets, so [`sweep`] finds the
//! process's TCP sockets in `/proc/self/fd`, takes a second descriptor of
//! each through `pidfd_getfd(2)` (safe code: the duplicate is owned here and
//! closed after), and turns `TCP_NODELAY` on. The option only changes when
//! small segments leave, never what is sent, so it is harmless on any other
//! TCP socket the process has (an HTTP listener hands it to what it
//! accepts). Linux 5.6 or later; elsewhere, or where `pidfd_getfd` is refused
//! (a seccomp profile without it), nothing changes.

/// Turns `TCP_NODELAY` on for every TCP socket of the process that lacks
/// it; returns how many it changed.
pub fn sweep() -> usize {
    #[cfg(target_os = "linux")]
    {
        linux::sweep()
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use rustix::fd::OwnedFd;
    use rustix::net::AddressFamily;
    use rustix::net::SocketType;
    use rustix::net::sockopt::{set_tcp_nodelay, socket_domain, socket_type, tcp_nodelay};
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
    use std::sync::OnceLock;

    /// This process as a pidfd, opened once (`None`: the kernel has none).
    fn this_process() -> Option<&'static OwnedFd> {
        static PIDFD: OnceLock<Option<OwnedFd>> = OnceLock::new();
        PIDFD
            .get_or_init(|| pidfd_open(getpid(), PidfdFlags::empty()).ok())
            .as_ref()
    }

    pub(super) fn sweep() -> usize {
        let Some(pidfd) = this_process() else {
            return 0;
        };
        let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
            return 0;
        };
        let mut changed = 0;
        for entry in dir.flatten() {
            let is_socket = std::fs::read_link(entry.path())
                .is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
            let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if !is_socket {
                continue;
            }
            // A descriptor closed (or reused) since the listing is skipped,
            // or gets an option that changes nothing but timing.
            let Ok(dup) = pidfd_getfd(pidfd, fd, PidfdGetfdFlags::empty()) else {
                continue;
            };
            let tcp = matches!(
                socket_domain(&dup),
                Ok(AddressFamily::INET | AddressFamily::INET6)
            ) && socket_type(&dup).is_ok_and(|t| t == SocketType::STREAM);
            if tcp && tcp_nodelay(&dup).is_ok_and(|on| !on) && set_tcp_nodelay(&dup, true).is_ok() {
                changed += 1;
            }
        }
        changed
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_tcp_socket_gets_nodelay_and_keeps_working() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        assert!(!client.nodelay().unwrap());
        assert!(sweep() >= 2, "the client and the accepted socket");
        assert!(client.nodelay().unwrap());
        assert!(server.nodelay().unwrap());
        use std::io::{Read, Write};
        (&client).write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        (&server).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }
}
