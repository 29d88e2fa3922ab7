//! Seeded random scenarios: every one of the twelve calls, every command and flag, several
//! callers, and bad arguments (`BAD`, negative, stale and neighbouring ids, sizes out of
//! range), written as scenario text so that a divergence points at a line that can be read,
//! copied into a file and run again.
//!
//! Calls made in line have `IPC_NOWAIT` (every `msgsnd`/`msgrcv`, every `sembuf`); calls that
//! may sleep are `spawn`ed (at most four at a time, each with a buffer of its own) and
//! `join`ed later, so that later lines wake them, or `join` interrupts them. `shmat` addresses
//! are NULL or unaligned (fixed addresses depend on the rest of the address space, which the
//! emulation does not model). Processes are forked (from the scenario's or a forked one) and
//! end now and then; calls other than `shmat`, `shmdt` and spawned ones sometimes run in
//! them.

use std::fmt::Write;

/// xorshift64*: deterministic, seeded, good enough to pick operations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is remapped).
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed: neighbouring seeds give unrelated states, never 0.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True `percent`% of the time.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize % items.len().max(1)]
    }
}

const CALLERS: &str = "\
caller alice uid=1000 gid=1000
caller bob uid=2000 gid=2000 groups=1000
caller carol uid=3000 gid=3000 fsgid=1000
caller owner uid=0 gid=0 caps=IPC_OWNER
caller admin uid=0 gid=0 caps=SYS_ADMIN
caller locker uid=1000 gid=1000 caps=IPC_LOCK
caller nocaps uid=0 gid=0 caps=
buffer b 256
buffer small 4
buffer st 128
buffer ops 64
buffer vals 64
buffer ts 16
";

const WHO: &[&str] = &[
    "root", "root", "root", "alice", "alice", "bob", "carol", "owner", "admin", "locker", "nocaps",
];
const KEYS: &[&str] = &["IPC_PRIVATE", "IPC_PRIVATE", "0x10", "0x11", "0x12"];
const MODES: &[&str] = &["0600", "0640", "0666", "0660", "0400", "0200", "0444", "0"];
const GET_FLAGS: &[&str] = &[
    "IPC_CREAT|",
    "IPC_CREAT|",
    "IPC_CREAT|IPC_EXCL|",
    "",
    "IPC_EXCL|",
];
/// How many names of each kind a scenario uses (names are reused, so ids go stale).
const NAMES: u64 = 6;

/// Writes a scenario of `calls` random calls from `seed`.
pub fn generate(seed: u64, calls: usize) -> String {
    let mut g = Gen {
        rng: Rng::new(seed),
        out: String::new(),
        made: [0; 7],
        spawned: 0,
        pending: Vec::new(),
        spawn_buffers: 0,
        processes: Vec::new(),
        forked: 0,
    };
    let _ = writeln!(
        g.out,
        "# sysvipc random scenario: seed {seed}, {calls} calls"
    );
    g.out.push_str(CALLERS);
    let mut made = 0;
    while made < calls {
        let call = if g.rng.chance(1) {
            g.fork_or_exit();
            false
        } else if !g.pending.is_empty() && g.rng.chance(12) {
            g.join()
        } else if g.pending.len() < 4 && g.rng.chance(4) {
            g.spawn()
        } else {
            g.call()
        };
        if call {
            made += 1;
        }
    }
    while !g.pending.is_empty() {
        g.join();
    }
    while let Some(p) = g.processes.pop() {
        let _ = writeln!(g.out, "exit p{p}");
    }
    g.out
}

struct Gen {
    rng: Rng,
    out: String,
    /// How many calls were spawned so far (each gets a task `tN`).
    spawned: u64,
    /// Spawned calls not joined yet, with the buffer (`wN`) each uses.
    pending: Vec<(u64, u64)>,
    /// How many buffers `wN` for spawned calls are declared (reused once their call is
    /// joined: few buffers keep the per-line comparison cheap).
    spawn_buffers: u64,
    /// How many names of each kind exist so far.
    made: [u64; 7],
    /// Forked processes that have not exited (`pN`).
    processes: Vec<u64>,
    /// How many processes were forked so far.
    forked: u64,
}

const Q: usize = 0;
const S: usize = 1;
const M: usize = 2;
const A: usize = 3;
/// Segments backed by huge pages (IPC_PRIVATE only, so no key lookup finds them among the
/// others) and their attachments, which are never read or written: with no huge page in the
/// pool, touching one raises SIGBUS on Linux, while the emulation gives ordinary memory
/// (docs/conformance.md, shmget).
const H: usize = 4;
const HA: usize = 5;
/// Segments of 16 TiB (IPC_PRIVATE, never attached: whether a hole that large is left
/// depends on everything else mapped in the address space, which differs between the two
/// sides).
const G: usize = 6;
const PREFIX: [&str; 7] = ["q", "s", "m", "a", "h", "ha", "g"];

impl Gen {
    fn line(&mut self, text: String) {
        self.out.push_str(&text);
        self.out.push('\n');
    }

    fn who(&mut self) -> String {
        match *self.rng.pick(WHO) {
            "root" => String::new(),
            w => format!("{w}: "),
        }
    }

    /// The caller prefix of a call that may run in a forked process (not `shmat`, whose
    /// attachment a later `put` or `show` may name, not `shmdt`, and not a spawned call).
    fn who_anywhere(&mut self) -> String {
        if self.processes.is_empty() || !self.rng.chance(25) {
            return self.who();
        }
        let p = *self.rng.pick(&self.processes);
        let w = *self.rng.pick(WHO);
        format!("{w}@p{p}: ")
    }

    /// Forks a process (from the scenario's or a forked one), or ends one.
    fn fork_or_exit(&mut self) {
        if self.processes.len() < 3 && (self.processes.is_empty() || self.rng.chance(60)) {
            let n = self.forked;
            self.forked += 1;
            let from = if !self.processes.is_empty() && self.rng.chance(30) {
                format!(" from p{}", self.rng.pick(&self.processes))
            } else {
                String::new()
            };
            self.line(format!("fork p{n}{from}"));
            self.processes.push(n);
        } else if !self.processes.is_empty() {
            let i = self.rng.below(self.processes.len() as u64) as usize;
            let p = self.processes.remove(i);
            self.line(format!("exit p{p}"));
        }
    }

    /// A name to bind a new object of `kind` to.
    fn new_name(&mut self, kind: usize) -> String {
        let n = if self.made[kind] < NAMES {
            self.made[kind] += 1;
            self.made[kind] - 1
        } else {
            self.rng.below(NAMES)
        };
        format!("{}{n}", PREFIX[kind])
    }

    /// An id argument: usually a name of `kind` (perhaps removed), sometimes a bad one.
    fn id(&mut self, kind: usize) -> String {
        let r = &mut self.rng;
        if self.made[kind] == 0 || r.chance(12) {
            return match r.below(5) {
                0 => "-1".into(),
                1 => "0".into(),
                2 => r.below(4).to_string(),
                3 => "32768".into(),
                _ => "0x7fffffff".into(),
            };
        }
        let name = format!("{}{}", PREFIX[kind], r.below(self.made[kind]));
        match r.below(20) {
            0 => format!("{name}+1"),
            1 => format!("{name}+32768"),
            _ => name,
        }
    }

    fn key(&mut self) -> String {
        self.rng.pick(KEYS).to_string()
    }

    fn get_flags(&mut self) -> String {
        let f = self.rng.pick(GET_FLAGS);
        let m = self.rng.pick(MODES);
        format!("{f}{m}")
    }

    /// A buffer argument: mostly the buffer meant, sometimes BAD, NULL or a tiny one (into
    /// which a copy-out faults part-way, leaving its first bytes written on both sides).
    fn buf(&mut self, meant: &str) -> String {
        match self.rng.below(14) {
            0 => "BAD".into(),
            1 => "0".into(),
            2 => "small".into(),
            _ => meant.into(),
        }
    }

    fn text(&mut self) -> String {
        let n = self.rng.below(24) as usize;
        let base = self.rng.below(26) as u8;
        (0..n)
            .map(|i| (b'a' + (base + i as u8) % 26) as char)
            .collect()
    }

    /// Writes one call (with the lines that prepare it); false if it wrote a `put` or `show`
    /// instead.
    fn call(&mut self) -> bool {
        match self.rng.below(26) {
            0..=1 => self.msgget(),
            2..=4 => self.msgsnd(),
            5..=7 => self.msgrcv(),
            8..=9 => self.msgctl(),
            10..=11 => self.semget(),
            12..=13 => self.semop(false),
            14 => self.semop(true),
            15..=17 => self.semctl(),
            18..=19 => self.shmget(),
            20..=21 => self.shmat(),
            22 => self.shmdt(),
            23..=24 => self.shmctl(),
            _ if self.rng.chance(8) => {
                self.sysctl();
                return false;
            }
            _ => return self.touch(),
        }
        true
    }

    /// Starts a call that may sleep (no IPC_NOWAIT) on a thread of its own, with a buffer of
    /// its own outside every attachment.
    fn spawn(&mut self) -> bool {
        let k = self.spawned;
        self.spawned += 1;
        let w = (0..self.spawn_buffers)
            .find(|w| self.pending.iter().all(|p| p.1 != *w))
            .unwrap_or(self.spawn_buffers);
        if w == self.spawn_buffers {
            self.spawn_buffers += 1;
            self.line(format!("buffer w{w} 64"));
        }
        self.pending.push((k, w));
        let who = self.who();
        match self.rng.below(3) {
            0 => {
                let q = self.id(Q);
                let size = self.rng.below(24);
                let mtype = self.rng.below(9) as i64 - 4;
                let flags = *self.rng.pick(&["0", "0", "MSG_NOERROR", "MSG_EXCEPT"]);
                self.line(format!(
                    "spawn t{k} {who}msgrcv({q}, w{w}, {size}, {mtype}, {flags})"
                ));
            }
            1 => {
                let mtype = *self.rng.pick(&[1, 2, 3]);
                let text = self.text();
                self.line(format!("put w{w} 0 i64:{mtype} bytes:\"{text}\""));
                let q = self.id(Q);
                self.line(format!(
                    "spawn t{k} {who}msgsnd({q}, w{w}, {}, 0)",
                    text.len()
                ));
            }
            _ => {
                let n = 1 + self.rng.below(3);
                let mut put = format!("put w{w} 0");
                for _ in 0..n {
                    let num = self.rng.below(3);
                    let op = self.rng.below(5) as i64 - 2;
                    let flg = *self.rng.pick(&["0", "0", "SEM_UNDO"]);
                    let _ = write!(put, " sembuf:{num},{op},{flg}");
                }
                self.line(put);
                let s = self.id(S);
                self.line(format!("spawn t{k} {who}semop({s}, w{w}, {n})"));
            }
        }
        false
    }

    /// Takes the result of a spawned call (interrupted first if still asleep).
    fn join(&mut self) -> bool {
        let i = self.rng.below(self.pending.len() as u64) as usize;
        let (k, _) = self
            .pending
            .swap_remove(i.min(self.pending.len().saturating_sub(1)));
        self.line(format!("join t{k}"));
        true
    }

    /// Changes a limit or knob of the namespace (values in and out of range).
    fn sysctl(&mut self) {
        let (name, values): (&str, &[&str]) = *self.rng.pick(&[
            ("msgmax", &["10", "8192", "-1"][..]),
            ("msgmnb", &["20", "16384", "0"][..]),
            ("msgmni", &["4", "32000", "32769"][..]),
            ("msg_next_id", &["3", "40000", "-1"][..]),
            ("sem_next_id", &["2", "-1"][..]),
            ("shm_next_id", &["5", "-1"][..]),
            (
                "sem",
                &["3 10 2 4", "32000 1024000000 500 32000", "0 0 0 0"][..],
            ),
            ("shmmni", &["3", "4096", "32769"][..]),
            ("shm_rmid_forced", &["0", "1", "2"][..]),
        ]);
        let value = *self.rng.pick(values);
        self.line(format!("sysctl {name} {value}"));
    }

    fn msgget(&mut self) {
        let (who, name, key, flags) = (
            self.who_anywhere(),
            self.new_name(Q),
            self.key(),
            self.get_flags(),
        );
        self.line(format!("{who}{name} = msgget({key}, {flags})"));
    }

    fn msgsnd(&mut self) {
        let mtype = *self.rng.pick(&[1i64, 1, 2, 3, 5, 0, -1]);
        let text = self.text();
        self.line(format!("put b 0 i64:{mtype} bytes:\"{text}\""));
        let size = match self.rng.below(12) {
            0 => "8193".into(),
            1 => "-1".into(),
            2 => (text.len() + 300).to_string(),
            _ => text.len().to_string(),
        };
        let (who, q, buf) = (self.who_anywhere(), self.id(Q), self.buf("b"));
        let extra = *self.rng.pick(&["", "", "|MSG_NOERROR", "|0100"]);
        self.line(format!(
            "{who}msgsnd({q}, {buf}, {size}, IPC_NOWAIT{extra})"
        ));
    }

    fn msgrcv(&mut self) {
        let (who, q, buf) = (self.who_anywhere(), self.id(Q), self.buf("b"));
        let size = match self.rng.below(10) {
            0 => "-1".into(),
            1 => "0".into(),
            _ => self.rng.below(32).to_string(),
        };
        let mtype = self.rng.below(11) as i64 - 5;
        let mut flags = String::from("IPC_NOWAIT");
        for (p, f) in [(25, "MSG_NOERROR"), (20, "MSG_EXCEPT"), (15, "MSG_COPY")] {
            if self.rng.chance(p) {
                let _ = write!(flags, "|{f}");
            }
        }
        if self.rng.chance(3) {
            flags = "MSG_COPY".into();
        }
        self.line(format!("{who}msgrcv({q}, {buf}, {size}, {mtype}, {flags})"));
    }

    /// Before an IPC_SET: change a field of what `st` holds.
    fn set_fields(&mut self, msg: bool) {
        match self.rng.below(if msg { 5 } else { 4 }) {
            0 => {
                let m = self.rng.pick(MODES).to_string();
                self.line(format!("put st perm.mode u32:{m}"));
            }
            1 => {
                let uid = *self.rng.pick(&["0", "1000", "2000", "0xffffffff"]);
                self.line(format!("put st perm.uid u32:{uid}"));
            }
            2 => {
                let gid = *self.rng.pick(&["0", "1000", "3000", "0xffffffff"]);
                self.line(format!("put st perm.gid u32:{gid}"));
            }
            3 => {}
            _ => {
                let q = *self
                    .rng
                    .pick(&["0", "10", "100", "16384", "16385", "0x100000000"]);
                self.line(format!("put st msg_qbytes u64:{q}"));
            }
        }
    }

    fn msgctl(&mut self) {
        let cmd = *self.rng.pick(&[
            "IPC_STAT",
            "IPC_STAT",
            "IPC_SET",
            "IPC_RMID",
            "IPC_INFO",
            "MSG_INFO",
            "MSG_STAT",
            "MSG_STAT_ANY",
            "99",
            "-1",
            "IPC_STAT|IPC_64",
        ]);
        if cmd == "IPC_SET" {
            self.set_fields(true);
        }
        let who = self.who_anywhere();
        let id = if cmd.starts_with("MSG_STAT") {
            self.rng.below(4).to_string()
        } else {
            self.id(Q)
        };
        let buf = self.buf("st");
        self.line(format!("{who}msgctl({id}, {cmd}, {buf})"));
    }

    fn semget(&mut self) {
        let nsems = *self.rng.pick(&["1", "2", "3", "4", "0", "-1", "32001"]);
        let (who, name, key, flags) = (
            self.who_anywhere(),
            self.new_name(S),
            self.key(),
            self.get_flags(),
        );
        self.line(format!("{who}{name} = semget({key}, {nsems}, {flags})"));
    }

    fn semop(&mut self, timed: bool) {
        let n = match self.rng.below(12) {
            0 => 0,
            1 => 501,
            _ => 1 + self.rng.below(3),
        };
        let mut put = String::from("put ops 0");
        for _ in 0..10 {
            let num = *self.rng.pick(&[0, 0, 1, 1, 2, 3, 4]);
            let op = self.rng.below(7) as i64 - 3;
            let undo = if self.rng.chance(20) { "|SEM_UNDO" } else { "" };
            let _ = write!(put, " sembuf:{num},{op},IPC_NOWAIT{undo}");
        }
        self.line(put);
        let (who, s) = (self.who_anywhere(), self.id(S));
        let ops = *self.rng.pick(&["ops", "ops", "ops", "ops", "ops", "BAD"]);
        if timed {
            let (sec, nsec) =
                *self
                    .rng
                    .pick(&[(0, 0), (0, 1), (1, 0), (0, 1_000_000_000), (-1, 0)]);
            self.line(format!("put ts 0 i64:{sec} i64:{nsec}"));
            let ts = *self.rng.pick(&["ts", "ts", "ts", "0", "BAD"]);
            self.line(format!("{who}semtimedop({s}, {ops}, {n}, {ts})"));
        } else {
            self.line(format!("{who}semop({s}, {ops}, {n})"));
        }
    }

    fn semctl(&mut self) {
        let cmd = *self.rng.pick(&[
            "GETVAL",
            "GETVAL",
            "GETPID",
            "GETNCNT",
            "GETZCNT",
            "SETVAL",
            "SETVAL",
            "GETALL",
            "SETALL",
            "IPC_STAT",
            "IPC_SET",
            "IPC_RMID",
            "IPC_INFO",
            "SEM_INFO",
            "SEM_STAT",
            "SEM_STAT_ANY",
            "99",
            "GETVAL|IPC_64",
        ]);
        let num = *self.rng.pick(&["0", "0", "1", "2", "3", "-1"]);
        let arg = match cmd {
            "SETVAL" => self
                .rng
                .pick(&["0", "1", "2", "7", "32767", "32768", "-1"])
                .to_string(),
            "GETALL" => self.buf("vals"),
            "SETALL" => {
                let mut put = String::from("put vals 0");
                for _ in 0..4 {
                    let v = *self.rng.pick(&[0, 1, 2, 5, 32767, 32768]);
                    let _ = write!(put, " u16:{v}");
                }
                self.line(put);
                self.buf("vals")
            }
            "IPC_SET" => {
                self.set_fields(false);
                self.buf("st")
            }
            "IPC_STAT" | "IPC_INFO" | "SEM_INFO" | "SEM_STAT" | "SEM_STAT_ANY" => self.buf("st"),
            _ => "0".into(),
        };
        let who = self.who_anywhere();
        let id = if cmd.starts_with("SEM_STAT") {
            self.rng.below(4).to_string()
        } else {
            self.id(S)
        };
        self.line(format!("{who}semctl({id}, {num}, {cmd}, {arg})"));
    }

    fn shmget(&mut self) {
        if self.rng.chance(10) {
            let size = *self.rng.pick(&["1", "0x200000", "0x400000", "0"]);
            let noreserve = if self.rng.chance(80) {
                "SHM_NORESERVE|"
            } else {
                ""
            };
            let (who, name, flags) = (self.who_anywhere(), self.new_name(H), self.get_flags());
            self.line(format!(
                "{who}{name} = shmget(IPC_PRIVATE, {size}, SHM_HUGETLB|{noreserve}{flags})"
            ));
            return;
        }
        if self.rng.chance(5) {
            let noreserve = if self.rng.chance(50) {
                "SHM_NORESERVE|"
            } else {
                ""
            };
            let (who, name, flags) = (self.who_anywhere(), self.new_name(G), self.get_flags());
            self.line(format!(
                "{who}{name} = shmget(IPC_PRIVATE, 0x100000000000, {noreserve}{flags})"
            ));
            return;
        }
        let size = *self
            .rng
            .pick(&["1", "100", "4096", "4097", "8192", "0", "-1", "0x40000000"]);
        let extra = if self.rng.chance(10) {
            "SHM_NORESERVE|"
        } else {
            ""
        };
        let (who, name, key, flags) = (
            self.who_anywhere(),
            self.new_name(M),
            self.key(),
            self.get_flags(),
        );
        self.line(format!(
            "{who}{name} = shmget({key}, {size}, {extra}{flags})"
        ));
    }

    fn shmat(&mut self) {
        let huge = self.made[H] > 0 && self.rng.chance(15);
        let who = self.who();
        // Only names and ids that cannot exist: a neighbouring or guessed id could name a
        // segment backed by huge pages, whose attachment must not be touched.
        let plain = |g: &mut Gen, kind: usize| {
            if g.made[kind] == 0 || g.rng.chance(8) {
                g.rng.pick(&["-1", "0x7fffffff"]).to_string()
            } else {
                format!("{}{}", PREFIX[kind], g.rng.below(g.made[kind]))
            }
        };
        let m = if huge { plain(self, H) } else { plain(self, M) };
        let addr = *self.rng.pick(&["0", "0", "0", "0", "1", "4095"]);
        let mut flags = Vec::new();
        for (p, f) in [(25, "SHM_RDONLY"), (10, "SHM_EXEC"), (15, "SHM_RND")] {
            // SHM_RND rounds 1 and 4095 down to a fixed address 0, which only CAP_SYS_RAWIO
            // may map (and the host backend never maps): left to the corpus
            // (`shm_page_zero.scn`).
            if self.rng.chance(p) && (f != "SHM_RND" || addr == "0") {
                flags.push(f);
            }
        }
        if addr == "0" && self.rng.chance(5) {
            flags.push("SHM_REMAP");
        }
        let flags = if flags.is_empty() {
            "0".into()
        } else {
            flags.join("|")
        };
        let name = self.new_name(if huge { HA } else { A });
        self.line(format!("{who}{name} = shmat({m}, {addr}, {flags})"));
    }

    fn attachment(&mut self) -> String {
        if self.made[A] == 0 {
            return "BAD".into();
        }
        format!("a{}", self.rng.below(self.made[A]))
    }

    fn shmdt(&mut self) {
        // Not in a forked process: a name stands for an address of the scenario's process,
        // and where the two sides place attachments differs, so in a child the address may
        // start one of its own mappings on one side only.
        let who = self.who();
        // Not `a+4096`: what lies next to an attachment differs between the two address
        // spaces (on the host, often another attachment).
        let addr = match self.rng.below(10) {
            0 => "0".into(),
            1 => "BAD".into(),
            2 => format!("{}+1", self.attachment()),
            3 if self.made[HA] > 0 => format!("ha{}", self.rng.below(self.made[HA])),
            _ => self.attachment(),
        };
        self.line(format!("{who}shmdt({addr})"));
    }

    fn shmctl(&mut self) {
        let cmd = *self.rng.pick(&[
            "IPC_STAT",
            "IPC_STAT",
            "IPC_SET",
            "IPC_RMID",
            "IPC_RMID",
            "IPC_INFO",
            "SHM_INFO",
            "SHM_STAT",
            "SHM_STAT_ANY",
            "SHM_LOCK",
            "SHM_UNLOCK",
            "99",
            "IPC_STAT|IPC_64",
        ]);
        if cmd == "IPC_SET" {
            self.set_fields(false);
        }
        // SHM_LOCK only by callers with CAP_IPC_LOCK: Linux charges a lock to the caller's
        // *real* uid, which is 0 for every host caller (only effective ids are switched),
        // and that charge is shared with every root process of the machine.
        let who = if cmd == "SHM_LOCK" {
            self.rng.pick(&["", "locker: "]).to_string()
        } else {
            self.who_anywhere()
        };
        let id = if cmd.starts_with("SHM_STAT") {
            self.rng.below(4).to_string()
        } else if self.made[H] > 0 && self.rng.chance(10) {
            self.id(H)
        } else if self.made[G] > 0 && self.rng.chance(10) {
            self.id(G)
        } else {
            self.id(M)
        };
        let buf = match cmd {
            "IPC_RMID" | "SHM_LOCK" | "SHM_UNLOCK" => "0".into(),
            _ => self.buf("st"),
        };
        self.line(format!("{who}shmctl({id}, {cmd}, {buf})"));
    }

    /// Reads or writes an attachment, or receives a message into one (true: a call).
    fn touch(&mut self) -> bool {
        let a = self.attachment();
        match self.rng.below(3) {
            0 => {
                let text = self.text();
                let off = self.rng.below(64);
                self.line(format!("put {a} {off} bytes:\"{text}\""));
                false
            }
            1 => {
                let off = self.rng.below(64);
                self.line(format!("show {a}+{off} 16"));
                false
            }
            _ => {
                let (who, q) = (self.who(), self.id(Q));
                let size = self.rng.below(16);
                self.line(format!("{who}msgrcv({q}, {a}, {size}, 0, IPC_NOWAIT)"));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_writes_the_same_scenario_and_it_parses() {
        let a = generate(7, 300);
        assert_eq!(a, generate(7, 300));
        assert_ne!(a, generate(8, 300));
        let s = crate::parse("random", &a).expect("generated scenarios parse");
        let calls = s
            .lines
            .iter()
            .filter(|l| matches!(l.stmt, crate::Stmt::Call(_) | crate::Stmt::Join { .. }))
            .count();
        // The calls asked for, then a join for each spawned call still pending (at most 4).
        assert!((300..=304).contains(&calls), "{calls} calls");
    }

    #[test]
    fn every_call_appears() {
        let s = crate::parse("random", &generate(1, 2000)).expect("parses");
        for sys in crate::Sys::ALL {
            let seen = s
                .lines
                .iter()
                .any(|l| matches!(&l.stmt, crate::Stmt::Call(c) if c.sys == sys));
            assert!(seen, "{sys} never generated");
        }
    }
}
