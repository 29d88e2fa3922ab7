//! `Errno`: formatting, names, aliases, and glibc's texts and names for each number.

mod common;

use sysvipc_abi::Errno;

#[test]
fn display_is_name_then_strerror_text() {
    assert_eq!(Errno::EINVAL.to_string(), "EINVAL (Invalid argument)");
    assert_eq!(Errno::EIDRM.to_string(), "EIDRM (Identifier removed)");
    assert_eq!(
        Errno::ENOMSG.to_string(),
        "ENOMSG (No message of desired type)"
    );
    assert_eq!(
        Errno::ERESTARTSYS.to_string(),
        "ERESTARTSYS (Interrupted system call should be restarted)"
    );
    assert_eq!(Errno::from_raw(41).to_string(), "Unknown error 41");
    assert_eq!(Errno::from_raw(-22).to_string(), "Unknown error -22");
}

#[test]
fn debug_is_the_name_or_the_raw_number() {
    assert_eq!(format!("{:?}", Errno::EAGAIN), "EAGAIN");
    assert_eq!(format!("{:?}", Errno::ERESTARTNOHAND), "ERESTARTNOHAND");
    assert_eq!(format!("{:?}", Errno::from_raw(58)), "Errno(58)");
    assert_eq!(format!("{:?}", Errno::from_raw(600)), "Errno(600)");
    assert_eq!(format!("{:?}", Err::<(), _>(Errno::E2BIG)), "Err(E2BIG)");
}

#[test]
fn raw_round_trips_and_from_raw_keeps_any_number() {
    for raw in [-1, 0, 1, 22, 41, 133, 512, 516, 517, i32::MAX, i32::MIN] {
        assert_eq!(Errno::from_raw(raw).raw(), raw);
    }
    assert_eq!(i32::from(Errno::EFBIG), 27);
}

#[test]
fn names_round_trip_through_from_name() {
    for &e in Errno::ALL {
        let name = e.name().expect("every listed errno has a name");
        assert_eq!(Errno::from_name(name), Some(e), "{name}");
        assert!(e.description().is_some(), "{name} has no description");
    }
    assert_eq!(Errno::from_name("einval"), None);
    assert_eq!(Errno::from_name("EFOO"), None);
    assert_eq!(Errno::from_name(""), None);
}

#[test]
fn aliases_resolve_to_the_primary_numbers_and_names() {
    assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
    assert_eq!(Errno::EDEADLOCK, Errno::EDEADLK);
    assert_eq!(Errno::ENOTSUP, Errno::EOPNOTSUPP);
    assert_eq!(Errno::EOPNOTSUPP.raw(), 95);
    assert_eq!(Errno::EWOULDBLOCK.name(), Some("EAGAIN"));
    assert_eq!(Errno::EDEADLOCK.name(), Some("EDEADLK"));
    assert_eq!(Errno::ENOTSUP.name(), Some("EOPNOTSUPP"));
    assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
    assert_eq!(Errno::from_name("EDEADLOCK"), Some(Errno::EDEADLK));
    assert_eq!(Errno::from_name("ENOTSUP"), Some(Errno::EOPNOTSUPP));
}

#[test]
fn all_lists_every_defined_number_once_in_order() {
    let expected: Vec<i32> = (1..=133)
        .filter(|n| *n != 41 && *n != 58)
        .chain(512..=516)
        .collect();
    let all: Vec<i32> = Errno::ALL.iter().map(|e| e.raw()).collect();
    assert_eq!(all, expected);
}

#[test]
fn undefined_numbers_have_no_name_or_description() {
    for raw in [0, -1, 41, 58, 134, 511, 517, 524, i32::MAX] {
        assert_eq!(Errno::from_raw(raw).name(), None, "{raw}");
        assert_eq!(Errno::from_raw(raw).description(), None, "{raw}");
    }
}

#[test]
fn restart_codes_have_the_kernels_internal_numbers() {
    assert_eq!(Errno::ERESTARTSYS.raw(), 512);
    assert_eq!(Errno::ERESTARTNOINTR.raw(), 513);
    assert_eq!(Errno::ERESTARTNOHAND.raw(), 514);
    assert_eq!(Errno::ENOIOCTLCMD.raw(), 515);
    assert_eq!(Errno::ERESTART_RESTARTBLOCK.raw(), 516);
    for e in [
        Errno::ERESTARTSYS,
        Errno::ERESTARTNOINTR,
        Errno::ERESTARTNOHAND,
        Errno::ERESTART_RESTARTBLOCK,
    ] {
        assert!(
            e.description()
                .unwrap()
                .starts_with("Interrupted system call should be restarted"),
            "{e:?}"
        );
    }
}

#[test]
fn errno_is_a_core_error() {
    fn takes_error(e: &dyn core::error::Error) -> String {
        e.to_string()
    }
    assert_eq!(takes_error(&Errno::EACCES), "EACCES (Permission denied)");
}

#[test]
fn ordering_and_hashing_follow_the_number() {
    assert!(Errno::EPERM < Errno::EINVAL);
    let mut set = std::collections::HashSet::new();
    set.insert(Errno::EAGAIN);
    assert!(set.contains(&Errno::EWOULDBLOCK));
}

/// glibc's `strerror` (through `std::io::Error`, which calls `strerror_r`) for every
/// user-visible number.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn descriptions_match_glibc_strerror() {
    for e in Errno::ALL.iter().filter(|e| e.raw() < 512) {
        let text = std::io::Error::from_raw_os_error(e.raw()).to_string();
        let glibc = text
            .strip_suffix(&format!(" (os error {})", e.raw()))
            .unwrap_or(&text);
        assert_eq!(e.description(), Some(glibc), "{e:?}");
    }
}

/// glibc's `strerrorname_np(3)` (glibc 2.32+) for every user-visible number, and `NULL` for
/// the gaps.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn names_match_glibc_strerrorname_np() {
    let mut p = common::CProbe::new(
        "errno_glibc_names",
        "#define _GNU_SOURCE\n#include <string.h>\n",
    );
    for raw in 1..=133 {
        let name = Errno::from_raw(raw).name().unwrap_or("(null)");
        p.string(
            format!("Errno({raw}).name()"),
            format!("strerrorname_np({raw})"),
            name,
        );
    }
    p.run();
}
