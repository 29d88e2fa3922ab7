//! The parser never panics: random lines, and random edits of valid ones, give a statement
//! or a `ParseError` that points inside the line.

use proptest::prelude::*;
use sysvipc_check::Parser;

const VALID: &[&str] = &[
    "caller alice uid=1000 gid=1000 groups=1000,2000 caps=IPC_OWNER",
    "caller bob uid=2000 gid=2000",
    "buffer b 64",
    "put b 0 i64:7 bytes:\"hello\\x00\" sembuf:0,-1,IPC_NOWAIT zero:3",
    "q = msgget(IPC_PRIVATE, IPC_CREAT|0600) = 0",
    "alice: msgrcv(q, b+8, 64, -3, IPC_NOWAIT|MSG_NOERROR) = ENOMSG",
    "semctl(q, 0, SETVAL, 5) = ok",
    "a = shmat(q, 0, SHM_RDONLY)",
    "show a+4 16",
    "sysctl sem 250 32000 32 128",
    "spawn t bob: msgrcv(q, b, 8, 0, 0)",
    "join t = EINTR",
];

fn parser() -> Parser {
    let mut p = Parser::new("fuzz");
    for (i, l) in VALID.iter().enumerate() {
        p.line(i + 1, l).expect("the seed lines are valid");
    }
    p
}

fn check(line: &str) {
    let mut p = parser();
    if let Err(e) = p.line(100, line) {
        assert_eq!(e.line, 100);
        assert!(
            e.column >= 1 && e.column <= line.chars().count() + 1,
            "{e} for {line:?}"
        );
        assert!(!e.message.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_lines_never_panic(line in "\\PC{0,60}") {
        check(&line);
    }

    #[test]
    fn random_lines_of_scenario_characters_never_panic(
        line in "[a-zA-Z_0-9 (),=|+:\"#\\\\.-]{0,60}"
    ) {
        check(&line);
    }

    #[test]
    fn edited_valid_lines_never_panic(
        which in 0..VALID.len(), at in 0usize..80, cut in 0usize..10, insert in "[ -~]{0,4}"
    ) {
        let chars: Vec<char> = VALID[which].chars().collect();
        let at = at.min(chars.len());
        let end = (at + cut).min(chars.len());
        let edited: String = chars[..at].iter().chain(insert.chars().collect::<Vec<_>>().iter())
            .chain(chars[end..].iter()).collect();
        check(&edited);
    }
}
