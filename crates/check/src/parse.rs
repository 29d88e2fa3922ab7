//! The scenario parser: text in, a [`Scenario`] or a [`ParseError`] naming the file, line,
//! column and what was expected. It never panics, whatever the input (see the proptest in
//! `tests/parse.rs`).

use std::collections::HashMap;

use sysvipc_abi::Errno;
use thiserror::Error;

use crate::scenario::{
    Arg, Base, CallLine, CallerSpec, Expect, Item, Line, NameKind, RESERVED, SYSCTLS, Scenario,
    Stmt, Sys,
};
use crate::symbols;

/// A malformed line.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ParseError {
    /// The scenario's file (or label).
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) where the problem starts.
    pub column: usize,
    /// What was wrong or expected.
    pub message: String,
}

/// Parses a whole scenario.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ParseError> {
    let mut parser = Parser::new(file);
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(line) = parser.line(i + 1, raw)? {
            lines.push(line);
        }
    }
    Ok(Scenario {
        file: file.to_owned(),
        lines,
    })
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Num(u64),
    Str(Vec<u8>),
    Punct(char),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Num(n) => format!("number {n}"),
            Tok::Str(_) => "a string".into(),
            Tok::Punct(c) => format!("`{c}`"),
        }
    }
}

/// Parses line after line, remembering the names declared so far (the interactive shell
/// feeds it one line at a time).
#[derive(Debug)]
pub struct Parser {
    file: String,
    names: HashMap<String, NameKind>,
    /// Processes that have exited (their names stay declared).
    exited: Vec<String>,
}

struct Cursor<'a> {
    toks: &'a [(usize, Tok)],
    pos: usize,
    /// Column just past the end of the line, for "expected … at end of line".
    end: usize,
    file: &'a str,
    line: usize,
    /// The line's characters, for quoting arguments as written.
    src: &'a [char],
}

impl Cursor<'_> {
    /// The source text of tokens `from..to`, trimmed.
    fn text(&self, from: usize, to: usize) -> String {
        let start = self.toks.get(from).map_or(self.end, |t| t.0) - 1;
        let stop = self.toks.get(to).map_or(self.end, |t| t.0) - 1;
        let slice = self.src.get(start..stop.max(start)).unwrap_or(&[]);
        slice.iter().collect::<String>().trim().to_owned()
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }

    fn peek2(&self) -> Option<&Tok> {
        self.toks.get(self.pos + 1).map(|t| &t.1)
    }

    fn column(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            file: self.file.to_owned(),
            line: self.line,
            column: self.column(),
            message: message.into(),
        }
    }

    fn expected(&self, what: &str) -> ParseError {
        let found = self
            .peek()
            .map_or_else(|| "end of line".to_owned(), Tok::describe);
        self.error(format!("expected {what}, found {found}"))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.1.clone());
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn number(&mut self, what: &str) -> Result<u64, ParseError> {
        match self.peek() {
            Some(Tok::Num(n)) => {
                let n = *n;
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn punct(&mut self, c: char) -> Result<(), ParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("`{c}`")))
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.expected("end of line")),
        }
    }

    /// `-`? NUMBER | CONSTANT: a signed number.
    fn signed_term(&mut self, what: &str) -> Result<i64, ParseError> {
        let negative = self.eat('-');
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.pos += 1;
                let v = n as i64;
                Ok(if negative { v.wrapping_neg() } else { v })
            }
            Some(Tok::Ident(s)) => match symbols::constant(&s) {
                Some(v) => {
                    self.pos += 1;
                    Ok(if negative { v.wrapping_neg() } else { v })
                }
                None => Err(self.error(format!("unknown constant `{s}`"))),
            },
            _ => Err(self.expected(what)),
        }
    }

    /// Numbers and constants joined by `|`, `+` and `-`, evaluated left to right.
    fn int_expr(&mut self, what: &str) -> Result<i64, ParseError> {
        let mut v = self.signed_term(what)?;
        loop {
            if self.eat('|') {
                v |= self.signed_term("a number or constant after `|`")?;
            } else if self.eat('+') {
                v = v.wrapping_add(self.signed_term("a number or constant after `+`")?);
            } else if self.peek() == Some(&Tok::Punct('-')) {
                self.pos += 1;
                v = v.wrapping_sub(self.signed_term("a number or constant after `-`")?);
            } else {
                return Ok(v);
            }
        }
    }
}

/// Splits a line into tokens with their 1-based columns; stops at `#` outside strings.
fn lex(file: &str, number: usize, text: &str) -> Result<(Vec<(usize, Tok)>, usize), ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let err = |column: usize, message: String| ParseError {
        file: file.to_owned(),
        line: number,
        column,
        message,
    };
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let col = i + 1;
        if c == '#' {
            break;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            {
                i += 1;
            }
            toks.push((col, Tok::Ident(chars[start..i].iter().collect())));
        } else if c.is_ascii_digit() {
            let start = i;
            while chars
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().filter(|c| **c != '_').collect();
            let parsed = if let Some(h) = word.strip_prefix("0x").or(word.strip_prefix("0X")) {
                u64::from_str_radix(h, 16)
            } else if let Some(o) = word.strip_prefix("0o") {
                u64::from_str_radix(o, 8)
            } else if let Some(b) = word.strip_prefix("0b") {
                u64::from_str_radix(b, 2)
            } else if word.len() > 1 && word.starts_with('0') {
                u64::from_str_radix(&word[1..], 8)
            } else {
                word.parse::<u64>()
            };
            match parsed {
                Ok(n) => toks.push((col, Tok::Num(n))),
                Err(_) => {
                    return Err(err(
                        col,
                        format!("bad number `{word}` (decimal, 0x hex, 0o or leading-0 octal, 0b)"),
                    ));
                }
            }
        } else if c == '"' {
            i += 1;
            let mut bytes = Vec::new();
            loop {
                match chars.get(i) {
                    None => return Err(err(col, "unterminated string".into())),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let esc = chars.get(i + 1).copied();
                        i += 2;
                        match esc {
                            Some('n') => bytes.push(b'\n'),
                            Some('t') => bytes.push(b'\t'),
                            Some('0') => bytes.push(0),
                            Some('\\') => bytes.push(b'\\'),
                            Some('"') => bytes.push(b'"'),
                            Some('x') => {
                                let hex: String =
                                    chars.get(i..i + 2).unwrap_or(&[]).iter().collect();
                                match u8::from_str_radix(&hex, 16) {
                                    Ok(b) if hex.len() == 2 => bytes.push(b),
                                    _ => {
                                        return Err(err(
                                            i - 1,
                                            "expected two hex digits after \\x".into(),
                                        ));
                                    }
                                }
                                i += 2;
                            }
                            _ => {
                                return Err(err(
                                    i - 1,
                                    "unknown escape (\\n \\t \\0 \\\\ \\\" \\xHH)".into(),
                                ));
                            }
                        }
                    }
                    Some(ch) => {
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += 1;
                    }
                }
            }
            toks.push((col, Tok::Str(bytes)));
        } else if "(),=|+-:@".contains(c) {
            toks.push((col, Tok::Punct(c)));
            i += 1;
        } else {
            return Err(err(col, format!("unexpected character `{c}`")));
        }
    }
    Ok((toks, chars.len() + 1))
}

/// The text of a line without its comment and surrounding blanks.
fn strip_comment(text: &str) -> &str {
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_str => escaped = true,
            '"' => in_str = !in_str,
            '#' if !in_str => return text[..i].trim(),
            _ => {}
        }
    }
    text.trim()
}

impl Parser {
    /// A parser for `file` that knows only the predefined caller `root`.
    pub fn new(file: &str) -> Parser {
        let mut names = HashMap::new();
        names.insert("root".to_owned(), NameKind::Caller);
        Parser {
            file: file.to_owned(),
            names,
            exited: Vec::new(),
        }
    }

    /// What `name` was declared as, if it was.
    pub fn kind(&self, name: &str) -> Option<NameKind> {
        self.names.get(name).copied()
    }

    /// Parses line `number`; `None` for a blank or comment line.
    pub fn line(&mut self, number: usize, text: &str) -> Result<Option<Line>, ParseError> {
        let (toks, end) = lex(&self.file, number, text)?;
        if toks.is_empty() {
            return Ok(None);
        }
        let src: Vec<char> = text.chars().collect();
        let file = self.file.clone();
        let mut c = Cursor {
            toks: &toks,
            pos: 0,
            end,
            file: &file,
            line: number,
            src: &src,
        };
        let stmt = match c.peek() {
            Some(Tok::Ident(k)) if k == "caller" && c.peek2() != Some(&Tok::Punct(':')) => {
                c.pos += 1;
                self.caller(&mut c)?
            }
            Some(Tok::Ident(k)) if k == "buffer" => {
                c.pos += 1;
                let name = self.declare(&mut c, NameKind::Buffer)?;
                let len = c.number("the buffer's length in bytes")?;
                let len = usize::try_from(len)
                    .ok()
                    .filter(|l| *l <= 1 << 24)
                    .ok_or_else(|| c.error("a buffer is at most 16 MiB"))?;
                c.done()?;
                Stmt::Buffer { name, len }
            }
            Some(Tok::Ident(k)) if k == "put" => {
                c.pos += 1;
                self.put(&mut c)?
            }
            Some(Tok::Ident(k)) if k == "show" => {
                c.pos += 1;
                let target = self.target(&mut c)?;
                let len = c.number("how many bytes to show")?;
                let len = usize::try_from(len)
                    .ok()
                    .filter(|l| *l <= 1 << 16)
                    .ok_or_else(|| c.error("show reads at most 65536 bytes"))?;
                c.done()?;
                Stmt::Show { target, len }
            }
            Some(Tok::Ident(k)) if k == "sysctl" => {
                c.pos += 1;
                let col = c.column();
                let name = c.ident("a sysctl name")?;
                if !SYSCTLS.contains(&name.as_str()) {
                    return Err(ParseError {
                        file: self.file.clone(),
                        line: number,
                        column: col,
                        message: format!("unknown sysctl `{name}` (one of {})", SYSCTLS.join(", ")),
                    });
                }
                let mut words = Vec::new();
                while c.peek().is_some() {
                    // A number above i64::MAX (shmmax, shmall are unsigned longs) as written.
                    if let Some(Tok::Num(n)) = c.peek() {
                        words.push(n.to_string());
                        c.pos += 1;
                        continue;
                    }
                    words.push(c.signed_term("a number")?.to_string());
                }
                if words.is_empty() {
                    return Err(c.expected("a value"));
                }
                Stmt::Sysctl {
                    name,
                    value: words.join(" "),
                }
            }
            Some(Tok::Ident(k)) if k == "spawn" && c.peek2() != Some(&Tok::Punct(':')) => {
                c.pos += 1;
                let col = c.column();
                let name = c.ident("a name for the spawned call")?;
                self.check_new(&name, NameKind::Task, col, &c)?;
                let call = self.call(&mut c)?;
                self.names.insert(name.clone(), NameKind::Task);
                if call.bind.is_some() || call.expect.is_some() {
                    return Err(c.error(
                        "a spawned call binds no name and expects nothing: `join NAME = …` does",
                    ));
                }
                if call.process.is_some() {
                    return Err(c.error(
                        "spawned calls run in the scenario's own process, not a forked one",
                    ));
                }
                if !matches!(
                    call.sys,
                    Sys::MsgSnd | Sys::MsgRcv | Sys::SemOp | Sys::SemTimedOp
                ) {
                    return Err(c.error("only msgsnd, msgrcv, semop and semtimedop can be spawned"));
                }
                Stmt::Spawn { name, call }
            }
            Some(Tok::Ident(k)) if k == "fork" && c.peek2() != Some(&Tok::Punct(':')) => {
                c.pos += 1;
                let col = c.column();
                let name = c.ident("a name for the new process")?;
                self.check_new(&name, NameKind::Process, col, &c)?;
                let from = match c.peek() {
                    Some(Tok::Ident(w)) if w == "from" => {
                        c.pos += 1;
                        Some(self.live_process(&mut c)?)
                    }
                    _ => None,
                };
                c.done()?;
                self.names.insert(name.clone(), NameKind::Process);
                Stmt::Fork { name, from }
            }
            Some(Tok::Ident(k)) if k == "exit" && c.peek2() != Some(&Tok::Punct(':')) => {
                c.pos += 1;
                let name = self.live_process(&mut c)?;
                c.done()?;
                self.exited.push(name.clone());
                Stmt::Exit { name }
            }
            Some(Tok::Ident(k)) if k == "expire" && c.peek2() != Some(&Tok::Punct(':')) => {
                c.pos += 1;
                let name = self.spawned_call(&mut c, "the name of a spawned semtimedop")?;
                c.done()?;
                Stmt::Expire { name }
            }
            Some(Tok::Ident(k)) if k == "join" && c.peek2() != Some(&Tok::Punct(':')) => {
                c.pos += 1;
                let name = self.spawned_call(&mut c, "the name of a spawned call")?;
                let expect = if c.eat('=') {
                    Some(self.expect(&mut c)?)
                } else {
                    None
                };
                c.done()?;
                Stmt::Join { name, expect }
            }
            _ => {
                let call = self.call(&mut c)?;
                if call.sys == Sys::Unshare && call.process.is_none() {
                    return Err(
                        c.error("unshare runs in a forked process (`p2: unshare(CLONE_SYSVSEM)`)")
                    );
                }
                Stmt::Call(call)
            }
        };
        Ok(Some(Line {
            number,
            text: strip_comment(text).to_owned(),
            stmt,
        }))
    }

    /// Declares the next identifier as a new name of `kind`.
    fn declare(&mut self, c: &mut Cursor<'_>, kind: NameKind) -> Result<String, ParseError> {
        let col = c.column();
        let name = c.ident("a name")?;
        self.check_new(&name, kind, col, c)?;
        self.names.insert(name.clone(), kind);
        Ok(name)
    }

    fn check_new(
        &self,
        name: &str,
        kind: NameKind,
        column: usize,
        c: &Cursor<'_>,
    ) -> Result<(), ParseError> {
        let err = |message: String| ParseError {
            file: self.file.clone(),
            line: c.line,
            column,
            message,
        };
        if RESERVED.contains(&name)
            || symbols::constant(name).is_some()
            || Sys::from_name(name).is_some()
        {
            return Err(err(format!("`{name}` is reserved and cannot be declared")));
        }
        match self.names.get(name) {
            // A call result may be bound again (a new queue under the same name).
            Some(NameKind::Value | NameKind::Attachment)
                if matches!(kind, NameKind::Value | NameKind::Attachment) =>
            {
                Ok(())
            }
            Some(old) => Err(err(format!("`{name}` is already declared ({old:?})"))),
            None => Ok(()),
        }
    }

    fn caller(&mut self, c: &mut Cursor<'_>) -> Result<Stmt, ParseError> {
        let name = self.declare(c, NameKind::Caller)?;
        let mut spec = CallerSpec {
            uid: 0,
            gid: 0,
            fsgid: 0,
            groups: Vec::new(),
            caps: 0,
        };
        let mut fsgid = None;
        while c.peek().is_some() {
            let col = c.column();
            let key = c.ident("`uid=`, `gid=`, `fsgid=`, `groups=` or `caps=`")?;
            c.punct('=')?;
            // A list of items up to the next `key=` or the end; may be empty.
            let mut items = Vec::new();
            let ends = |c: &Cursor<'_>| {
                c.peek().is_none()
                    || matches!(
                        (c.peek(), c.peek2()),
                        (Some(Tok::Ident(_)), Some(Tok::Punct('=')))
                    )
            };
            if !ends(c) {
                loop {
                    let item_col = c.column();
                    match c.next() {
                        Some(Tok::Num(n)) => items.push((item_col, None, n)),
                        Some(Tok::Ident(s)) => items.push((item_col, Some(s), 0)),
                        _ => {
                            c.pos = c.pos.saturating_sub(1);
                            return Err(c.expected("a number or a capability name"));
                        }
                    }
                    if !c.eat(',') {
                        break;
                    }
                }
            }
            let id = |c: &Cursor<'_>,
                      items: &[(usize, Option<String>, u64)]|
             -> Result<u32, ParseError> {
                match items {
                    [(_, None, n)] => u32::try_from(*n).map_err(|_| c.error("ids are 32-bit")),
                    _ => Err(c.error(format!("`{key}=` takes one number"))),
                }
            };
            match key.as_str() {
                "uid" => spec.uid = id(c, &items)?,
                "gid" => spec.gid = id(c, &items)?,
                "fsgid" => fsgid = Some(id(c, &items)?),
                "groups" => {
                    spec.groups = Vec::new();
                    for (col, name, n) in &items {
                        match (name, u32::try_from(*n)) {
                            (None, Ok(g)) => spec.groups.push(g),
                            _ => {
                                return Err(ParseError {
                                    file: self.file.clone(),
                                    line: c.line,
                                    column: *col,
                                    message: "groups are 32-bit numbers".into(),
                                });
                            }
                        }
                    }
                }
                "caps" => {
                    spec.caps = 0;
                    for (col, name, _) in &items {
                        match name.as_deref().and_then(symbols::capability) {
                            Some(cap) => spec.caps |= 1 << cap,
                            None => {
                                let known: Vec<&str> =
                                    symbols::CAPABILITIES.iter().map(|c| c.0).collect();
                                return Err(ParseError {
                                    file: self.file.clone(),
                                    line: c.line,
                                    column: *col,
                                    message: format!(
                                        "expected a capability ({})",
                                        known.join(", ")
                                    ),
                                });
                            }
                        }
                    }
                }
                _ => {
                    return Err(ParseError {
                        file: self.file.clone(),
                        line: c.line,
                        column: col,
                        message: format!("unknown caller attribute `{key}`"),
                    });
                }
            }
        }
        spec.fsgid = fsgid.unwrap_or(spec.gid);
        Ok(Stmt::Caller { name, spec })
    }

    /// A buffer or attachment name, optionally `+ OFFSET`.
    fn target(&self, c: &mut Cursor<'_>) -> Result<Arg, ParseError> {
        let col = c.column();
        let name = c.ident("a buffer or attachment name")?;
        let base = if name == "BAD" {
            Base::Bad
        } else {
            Base::Name(name.clone())
        };
        match self.names.get(&name) {
            Some(NameKind::Buffer | NameKind::Attachment) => {}
            _ if base == Base::Bad => {}
            _ => {
                return Err(ParseError {
                    file: self.file.clone(),
                    line: c.line,
                    column: col,
                    message: format!("`{name}` is not a declared buffer or attachment"),
                });
            }
        }
        let mut offset = 0i64;
        while c.peek() == Some(&Tok::Punct('+')) {
            c.pos += 1;
            offset = offset.wrapping_add(c.number("an offset")? as i64);
        }
        Ok(Arg::Ref { base, offset })
    }

    fn put(&self, c: &mut Cursor<'_>) -> Result<Stmt, ParseError> {
        let target = self.target(c)?;
        // The starting offset: a number or a field name.
        let col = c.column();
        let start = match c.next() {
            Some(Tok::Num(n)) => n as i64,
            Some(Tok::Ident(f)) => match symbols::field(&f) {
                Some(off) => off as i64,
                None => {
                    let known: Vec<&str> = symbols::FIELDS.iter().map(|f| f.0).collect();
                    return Err(ParseError {
                        file: self.file.clone(),
                        line: c.line,
                        column: col,
                        message: format!("expected an offset or a field ({})", known.join(", ")),
                    });
                }
            },
            _ => {
                c.pos = c
                    .pos
                    .saturating_sub(usize::from(c.pos > 0 && c.toks.len() >= c.pos));
                return Err(c.expected("an offset or a field name"));
            }
        };
        let target = match target {
            Arg::Ref { base, offset } => Arg::Ref {
                base,
                offset: offset.wrapping_add(start),
            },
            other => other,
        };
        let mut items = Vec::new();
        while c.peek().is_some() {
            let col = c.column();
            let ty = c.ident("an item (`i32:7`, `bytes:\"…\"`, `zero:N`, `sembuf:N,OP,FLG`)")?;
            c.punct(':')?;
            if let Some(size) = symbols::int_width(&ty) {
                let value = c.int_expr("a number")?;
                items.push(Item::Int { size, value });
                continue;
            }
            match ty.as_str() {
                "bytes" => match c.next() {
                    Some(Tok::Str(b)) => items.push(Item::Bytes(b)),
                    _ => {
                        c.pos = c.pos.saturating_sub(1);
                        return Err(c.expected("a string"));
                    }
                },
                "zero" => {
                    let n = c.number("a byte count")?;
                    let n = usize::try_from(n)
                        .ok()
                        .filter(|n| *n <= 1 << 24)
                        .ok_or_else(|| c.error("at most 16 MiB of zeros"))?;
                    items.push(Item::Bytes(vec![0; n]));
                }
                "sembuf" => {
                    let num = c.int_expr("sem_num")?;
                    c.punct(',')?;
                    let op = c.int_expr("sem_op")?;
                    c.punct(',')?;
                    let flg = c.int_expr("sem_flg")?;
                    items.push(Item::Int {
                        size: 2,
                        value: num,
                    });
                    items.push(Item::Int { size: 2, value: op });
                    items.push(Item::Int {
                        size: 2,
                        value: flg,
                    });
                }
                _ => {
                    return Err(ParseError {
                        file: self.file.clone(),
                        line: c.line,
                        column: col,
                        message: format!(
                            "unknown item type `{ty}` (i8 u8 i16 u16 i32 u32 i64 u64 bytes zero sembuf)"
                        ),
                    });
                }
            }
        }
        if items.is_empty() {
            return Err(c.expected("at least one item"));
        }
        Ok(Stmt::Put { target, items })
    }

    /// A forked process that has not exited.
    /// The name of a call a `spawn` line started (`expected` says what was wanted).
    fn spawned_call(&self, c: &mut Cursor<'_>, expected: &str) -> Result<String, ParseError> {
        let col = c.column();
        let name = c.ident(expected)?;
        if self.names.get(&name) == Some(&NameKind::Task) {
            return Ok(name);
        }
        Err(ParseError {
            file: self.file.clone(),
            line: c.line,
            column: col,
            message: format!("`{name}` is not a spawned call"),
        })
    }

    fn live_process(&self, c: &mut Cursor<'_>) -> Result<String, ParseError> {
        let col = c.column();
        let name = c.ident("the name of a forked process")?;
        let why = if self.names.get(&name) != Some(&NameKind::Process) {
            format!("`{name}` is not a forked process (`fork {name}` declares one)")
        } else if self.exited.contains(&name) {
            format!("process `{name}` has exited")
        } else {
            return Ok(name);
        };
        Err(ParseError {
            file: self.file.clone(),
            line: c.line,
            column: col,
            message: why,
        })
    }

    fn call(&mut self, c: &mut Cursor<'_>) -> Result<CallLine, ParseError> {
        let mut caller = "root".to_owned();
        let mut process = None;
        // `CALLER:`, `CALLER@PROCESS:` or `PROCESS:` (root in that process).
        let prefix = matches!(
            (c.peek(), c.peek2()),
            (Some(Tok::Ident(_)), Some(Tok::Punct(':' | '@')))
        );
        if prefix {
            let who = c.ident("a caller")?;
            match self.names.get(&who) {
                Some(NameKind::Caller) => {
                    caller = who;
                    if c.eat('@') {
                        process = Some(self.live_process(c)?);
                    }
                }
                Some(NameKind::Process) => {
                    c.pos -= 1;
                    process = Some(self.live_process(c)?);
                }
                _ => {
                    c.pos -= 1;
                    return Err(c.error(format!("`{who}` is not a declared caller or process")));
                }
            }
            c.punct(':')?;
        }
        let mut bind = None;
        if let (Some(Tok::Ident(name)), Some(Tok::Punct('='))) = (c.peek(), c.peek2()) {
            bind = Some((c.column(), name.clone()));
            c.pos += 2;
        }
        let col = c.column();
        let name = c.ident("a call (msgget, msgsnd, …, shmctl) or a statement")?;
        let sys = Sys::from_name(&name).ok_or_else(|| ParseError {
            file: self.file.clone(),
            line: c.line,
            column: col,
            message: format!(
                "unknown call or statement `{name}` (expected caller, buffer, put, show, sysctl, \
                 or one of the twelve calls)"
            ),
        })?;
        c.punct('(')?;
        let mut args = Vec::new();
        let mut arg_text = Vec::new();
        if !c.eat(')') {
            loop {
                let start = c.pos;
                args.push(self.arg(c)?);
                arg_text.push(c.text(start, c.pos));
                if c.eat(')') {
                    break;
                }
                if !c.eat(',') {
                    return Err(c.expected("`,` or `)`"));
                }
            }
        }
        let (least, most) = sys.arity();
        if args.len() < least || args.len() > most {
            let want = if least == most {
                format!("{least}")
            } else {
                format!("{least} or {most}")
            };
            return Err(ParseError {
                file: self.file.clone(),
                line: c.line,
                column: col,
                message: format!("{name} takes {want} arguments, found {}", args.len()),
            });
        }
        let expect = if c.eat('=') {
            Some(self.expect(c)?)
        } else {
            None
        };
        c.done()?;
        let bind = match bind {
            Some((col, name)) => {
                let kind = if sys == Sys::ShmAt {
                    NameKind::Attachment
                } else {
                    NameKind::Value
                };
                self.check_new(&name, kind, col, c)?;
                self.names.insert(name.clone(), kind);
                Some(name)
            }
            None => None,
        };
        Ok(CallLine {
            caller,
            process,
            bind,
            sys,
            args,
            arg_text,
            expect,
        })
    }

    /// An expected result: a value, an errno name or `ok`.
    fn expect(&self, c: &mut Cursor<'_>) -> Result<Expect, ParseError> {
        Ok(match c.peek().cloned() {
            Some(Tok::Ident(s)) if s == "ok" => {
                c.pos += 1;
                Expect::Ok
            }
            Some(Tok::Ident(s)) if s.starts_with('E') && symbols::constant(&s).is_none() => {
                let e =
                    Errno::from_name(&s).ok_or_else(|| c.error(format!("unknown errno `{s}`")))?;
                c.pos += 1;
                Expect::Errno(e)
            }
            _ => Expect::Value(c.int_expr("the expected value, an errno name or `ok`")?),
        })
    }

    /// One argument: numbers and constants joined by `|`, `+`, `-`; or a name (or `BAD`)
    /// followed by `+ N` / `- N`.
    fn arg(&self, c: &mut Cursor<'_>) -> Result<Arg, ParseError> {
        let base = match c.peek() {
            Some(Tok::Ident(s)) if s == "BAD" => Some(Base::Bad),
            Some(Tok::Ident(s)) if symbols::constant(s).is_none() => match self.names.get(s) {
                Some(NameKind::Caller | NameKind::Task | NameKind::Process) => {
                    return Err(c.error(format!(
                        "`{s}` is a caller, a process or a spawned call, not a value"
                    )));
                }
                Some(_) => Some(Base::Name(s.clone())),
                None => {
                    return Err(c.error(format!("unknown name or constant `{s}`")));
                }
            },
            _ => None,
        };
        let Some(base) = base else {
            return Ok(Arg::Int(c.int_expr("a number, constant, name or BAD")?));
        };
        c.pos += 1;
        let mut offset = 0i64;
        loop {
            if c.eat('+') {
                offset = offset.wrapping_add(c.signed_term("an offset")?);
            } else if c.peek() == Some(&Tok::Punct('-')) {
                c.pos += 1;
                offset = offset.wrapping_sub(c.signed_term("an offset")?);
            } else if c.peek() == Some(&Tok::Punct('|')) {
                return Err(c.error("a name can only be offset with `+` or `-`"));
            } else {
                return Ok(Arg::Ref { base, offset });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Stmt, ParseError> {
        let mut p = Parser::new("t");
        p.line(1, "buffer b 64")?;
        p.line(2, "caller alice uid=1000 gid=1000")?;
        Ok(p.line(3, text)?.expect("a statement").stmt)
    }

    #[test]
    fn call_with_binding_caller_and_expectation() {
        let mut p = Parser::new("t");
        p.line(1, "caller alice uid=1000 gid=100 groups=1,2 caps=IPC_OWNER")
            .unwrap();
        let line = p
            .line(
                2,
                "alice: q = msgget(IPC_PRIVATE, IPC_CREAT|0600) = 0 # new",
            )
            .unwrap()
            .unwrap();
        let Stmt::Call(call) = line.stmt else {
            panic!()
        };
        assert_eq!(call.caller, "alice");
        assert_eq!(call.bind.as_deref(), Some("q"));
        assert_eq!(call.args, vec![Arg::Int(0), Arg::Int(0o1600)]);
        assert_eq!(call.expect, Some(Expect::Value(0)));
        assert_eq!(
            line.text,
            "alice: q = msgget(IPC_PRIVATE, IPC_CREAT|0600) = 0"
        );
        let line = p
            .line(3, "msgsnd(q, BAD+8, 5, -1) = EFAULT")
            .unwrap()
            .unwrap();
        let Stmt::Call(call) = line.stmt else {
            panic!()
        };
        assert_eq!(
            call.args[1],
            Arg::Ref {
                base: Base::Bad,
                offset: 8
            }
        );
        assert_eq!(call.args[3], Arg::Int(-1));
        assert_eq!(call.expect, Some(Expect::Errno(Errno::EFAULT)));
    }

    #[test]
    fn put_items_and_fields() {
        let s = one("put b perm.mode u32:0644 bytes:\"a\\x00\" sembuf:1,-1,IPC_NOWAIT").unwrap();
        let Stmt::Put { target, items } = s else {
            panic!()
        };
        assert_eq!(
            target,
            Arg::Ref {
                base: Base::Name("b".into()),
                offset: 20
            }
        );
        assert_eq!(items.len(), 5);
        assert_eq!(items[0].bytes(), 0o644u32.to_ne_bytes());
        assert_eq!(items[1].bytes(), b"a\0");
    }

    #[test]
    fn errors_name_line_column_and_what_was_expected() {
        let e = one("msgget(IPC_PRIVATE IPC_CREAT)").unwrap_err();
        assert_eq!((e.line, e.column), (3, 20));
        assert!(e.message.contains("expected `,` or `)`"), "{e}");
        let e = one("msgrcv(q, b, 1, 0, 0)").unwrap_err();
        assert!(e.message.contains("unknown name or constant `q`"), "{e}");
        let e = one("msgget(1)").unwrap_err();
        assert!(e.message.contains("takes 2 arguments"), "{e}");
        let e = one("bob: msgget(1, 2)").unwrap_err();
        assert!(
            e.message.contains("not a declared caller or process"),
            "{e}"
        );
        let e = one("put b 0 i32:").unwrap_err();
        assert!(
            e.message.contains("expected a number, found end of line"),
            "{e}"
        );
        let e = one("buffer IPC_CREAT 4").unwrap_err();
        assert!(e.message.contains("reserved"), "{e}");
        let e = one("msgget(0, 0) = EWHAT").unwrap_err();
        assert!(e.message.contains("unknown errno"), "{e}");
    }

    #[test]
    fn calls_name_a_forked_process_after_the_caller_until_it_exits() {
        let mut p = Parser::new("t");
        p.line(1, "caller alice uid=1000 gid=1000").unwrap();
        p.line(2, "fork p2").unwrap();
        let call = |p: &mut Parser, n, text| match p.line(n, text).unwrap().unwrap().stmt {
            Stmt::Call(c) => (c.caller, c.process),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            call(&mut p, 3, "alice@p2: msgget(0, 0)"),
            ("alice".into(), Some("p2".into()))
        );
        assert_eq!(
            call(&mut p, 4, "p2: msgget(0, 0)"),
            ("root".into(), Some("p2".into()))
        );
        let e = p.line(5, "spawn r p2: semop(0, 0, 1)").unwrap_err();
        assert!(e.message.contains("scenario's own process"), "{e}");
        assert_eq!(
            p.line(6, "exit p2").unwrap().unwrap().stmt,
            Stmt::Exit { name: "p2".into() }
        );
        let e = p.line(7, "alice@p2: msgget(0, 0)").unwrap_err();
        assert!(e.message.contains("process `p2` has exited"), "{e}");
        let e = p.line(8, "exit p2").unwrap_err();
        assert!(e.message.contains("has exited"), "{e}");
        let e = p.line(9, "alice@alice: msgget(0, 0)").unwrap_err();
        assert!(e.message.contains("not a forked process"), "{e}");
        assert_eq!(
            p.line(12, "fork p3 from p2").unwrap_err().message,
            "process `p2` has exited"
        );
        p.line(13, "fork p4").unwrap();
        assert_eq!(
            p.line(14, "fork p5 from p4").unwrap().unwrap().stmt,
            Stmt::Fork {
                name: "p5".into(),
                from: Some("p4".into())
            }
        );
        let e = p.line(10, "fork p2").unwrap_err();
        assert!(e.message.contains("already declared"), "{e}");
        let e = p.line(11, "unshare(CLONE_SYSVSEM)").unwrap_err();
        assert!(e.message.contains("in a forked process"), "{e}");
        let e = p.line(11, "expire p2").unwrap_err();
        assert!(e.message.contains("not a spawned call"), "{e}");
    }

    #[test]
    fn sysctl_values_above_i64_max_are_kept_as_written() {
        let s = one("sysctl shmmax 18446744073709551615").unwrap();
        assert_eq!(
            s,
            Stmt::Sysctl {
                name: "shmmax".into(),
                value: "18446744073709551615".into()
            }
        );
    }
}
