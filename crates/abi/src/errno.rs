//! Linux error numbers.
//!
//! Mirrors `include/uapi/asm-generic/errno-base.h` (1..=34) and
//! `include/uapi/asm-generic/errno.h` (35..=133), the numbering shared by x86-64 and aarch64
//! (Alpha, MIPS, PA-RISC and SPARC renumber some of them; those targets are not served here),
//! plus the kernel-internal restart codes of `include/linux/errno.h` (512..=516), which a
//! syscall layer must see and translate but which never reach a user program.
//!
//! Descriptions are glibc's `strerror(3)` texts; names are glibc's `strerrorname_np(3)`.

use core::fmt;

/// A Linux error number (`errno`), always the positive value: a raw syscall returns its
/// negation.
///
/// Any `i32` can be wrapped ([`Errno::from_raw`]); [`Errno::name`] and
/// [`Errno::description`] return `None` for numbers Linux does not define (41, 58, and
/// everything outside `1..=133` and `512..=516`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Errno(i32);

impl Errno {
    /// Wraps a raw (positive) error number.
    #[must_use]
    pub const fn from_raw(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The raw (positive) error number.
    #[must_use]
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The symbolic name, e.g. `"EINVAL"`; for a number with two names the primary one
    /// (`"EAGAIN"` for 11, `"EDEADLK"` for 35, `"EOPNOTSUPP"` for 95).
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        match lookup(self.0) {
            Some((name, _)) => Some(name),
            None => None,
        }
    }

    /// The `strerror(3)`-style text, e.g. `"Invalid argument"`.
    #[must_use]
    pub const fn description(self) -> Option<&'static str> {
        match lookup(self.0) {
            Some((_, text)) => Some(text),
            None => None,
        }
    }

    /// The error number called `name`: a primary name or one of the aliases `EWOULDBLOCK`,
    /// `EDEADLOCK` and `ENOTSUP`. Case-sensitive.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Errno> {
        match name {
            "EWOULDBLOCK" => return Some(Errno::EWOULDBLOCK),
            "EDEADLOCK" => return Some(Errno::EDEADLOCK),
            "ENOTSUP" => return Some(Errno::ENOTSUP),
            _ => {}
        }
        Errno::ALL.iter().copied().find(|e| e.name() == Some(name))
    }

    /// `EWOULDBLOCK`, an alias of [`Errno::EAGAIN`] (11).
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EDEADLOCK`, an alias of [`Errno::EDEADLK`] (35) on x86-64 and aarch64.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// `ENOTSUP` (glibc), an alias of [`Errno::EOPNOTSUPP`] (95) on Linux. Not the kernel's
    /// internal `ENOTSUPP` (524), which this crate does not define.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;
}

/// Defines the named constants, [`Errno::ALL`] and the number → (name, text) lookup from
/// one table, so the three cannot drift apart.
macro_rules! errno_table {
    ($($name:ident = $num:literal, $text:literal;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($num), "): ", $text, ".")]
                pub const $name: Errno = Errno($num);
            )*

            /// Every named error number, once each (aliases excluded), in ascending order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];
        }

        /// The (name, description) of `raw`, if Linux defines it.
        const fn lookup(raw: i32) -> Option<(&'static str, &'static str)> {
            match raw {
                $($num => Some((stringify!($name), $text)),)*
                _ => None,
            }
        }
    };
}

errno_table! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ECHRNG = 44, "Channel number out of range";
    EL2NSYNC = 45, "Level 2 not synchronized";
    EL3HLT = 46, "Level 3 halted";
    EL3RST = 47, "Level 3 reset";
    ELNRNG = 48, "Link number out of range";
    EUNATCH = 49, "Protocol driver not attached";
    ENOCSI = 50, "No CSI structure available";
    EL2HLT = 51, "Level 2 halted";
    EBADE = 52, "Invalid exchange";
    EBADR = 53, "Invalid request descriptor";
    EXFULL = 54, "Exchange full";
    ENOANO = 55, "No anode";
    EBADRQC = 56, "Invalid request code";
    EBADSLT = 57, "Invalid slot";
    EBFONT = 59, "Bad font file format";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENONET = 64, "Machine is not on the network";
    ENOPKG = 65, "Package not installed";
    EREMOTE = 66, "Object is remote";
    ENOLINK = 67, "Link has been severed";
    EADV = 68, "Advertise error";
    ESRMNT = 69, "Srmount error";
    ECOMM = 70, "Communication error on send";
    EPROTO = 71, "Protocol error";
    EMULTIHOP = 72, "Multihop attempted";
    EDOTDOT = 73, "RFS specific error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTUNIQ = 76, "Name not unique on network";
    EBADFD = 77, "File descriptor in bad state";
    EREMCHG = 78, "Remote address changed";
    ELIBACC = 79, "Can not access a needed shared library";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ELIBSCN = 81, ".lib section in a.out corrupted";
    ELIBMAX = 82, "Attempting to link in too many shared libraries";
    ELIBEXEC = 83, "Cannot exec a shared library directly";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    ERESTART = 85, "Interrupted system call should be restarted";
    ESTRPIPE = 86, "Streams pipe error";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection on reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "Too many references: cannot splice";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    ENOTNAM = 118, "Not a XENIX named type file";
    ENAVAIL = 119, "No XENIX semaphores available";
    EISNAM = 120, "Is a named type file";
    EREMOTEIO = 121, "Remote I/O error";
    EDQUOT = 122, "Disk quota exceeded";
    ENOMEDIUM = 123, "No medium found";
    EMEDIUMTYPE = 124, "Wrong medium type";
    ECANCELED = 125, "Operation canceled";
    ENOKEY = 126, "Required key not available";
    EKEYEXPIRED = 127, "Key has expired";
    EKEYREVOKED = 128, "Key has been revoked";
    EKEYREJECTED = 129, "Key was rejected by service";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    ERFKILL = 132, "Operation not possible due to RF-kill";
    EHWPOISON = 133, "Memory page has hardware error";
    ERESTARTSYS = 512, "Interrupted system call should be restarted";
    ERESTARTNOINTR = 513, "Interrupted system call should be restarted, even after a handler ran";
    ERESTARTNOHAND = 514, "Interrupted system call should be restarted if no handler ran";
    ENOIOCTLCMD = 515, "No ioctl command";
    ERESTART_RESTARTBLOCK = 516, "Interrupted system call should be restarted by restart_syscall";
}

impl fmt::Debug for Errno {
    /// The name (`EINVAL`), or `Errno(N)` for a number Linux does not define.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    /// `EINVAL (Invalid argument)`, or `Unknown error N` for a number Linux does not define.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match lookup(self.0) {
            Some((name, text)) => write!(f, "{name} ({text})"),
            None => write!(f, "Unknown error {}", self.0),
        }
    }
}

impl core::error::Error for Errno {}

impl From<Errno> for i32 {
    fn from(e: Errno) -> i32 {
        e.0
    }
}
