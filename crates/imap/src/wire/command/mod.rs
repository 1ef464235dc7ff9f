//! IMAP commands (RFC 9051 §6 and §9, with the extensions listed in
//! `mod.rs`): [`parse_command`] turns one framed command into a
//! [`Command`], or a [`ParseError`] carrying the tag when it was readable.

mod params;

pub use params::{Password, QResync, SaslResponse, SelectParams, parse_sasl_line};
use params::{append, id_pair, replace, sasl_response, select_params};

use super::chars::Tag;
use super::cursor::Cursor;
use super::datetime::DateTime;
use super::error::{PResult, ParseError, ParseErrorKind};
use super::fetch::{FetchAttr, FetchModifiers, fetch_items, fetch_modifiers};
use super::list::{
    ListCommand, SpecialUse, StatusAttr, list, list_mailbox, status_atts, use_attrs,
};
use super::mailbox::MailboxName;
use super::search::{
    SearchLimits, SearchProgram, SearchReturn, SortCriterion, ThreadAlgorithm, charset_and_keys,
    search_program, search_return, sort_criteria, thread_algorithm,
};
use super::sequence::{SequenceSet, sequence_set};
use super::store::{Flag, StoreFlags, store_att_flags};

/// What the parser needs to know about the session, and its limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// UTF8=ACCEPT (RFC 6855) or IMAP4rev2 is enabled: mailbox names are
    /// UTF-8 on the wire, not modified UTF-7.
    pub utf8_accept: bool,
    /// Most ranges in one sequence set (`max_ranges_for_line` of the
    /// line limit); past it the command gets `NO [LIMIT]`.
    pub max_ranges: usize,
    /// Deepest nesting of search keys (NOT, OR, parentheses).
    pub max_search_depth: usize,
    /// Most messages in one APPEND (MULTIAPPEND, RFC 3502); past it the
    /// command gets `NO [LIMIT]`.
    pub max_append_messages: usize,
    /// Most parts in one CATENATE (RFC 4469).
    pub max_catenate_parts: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            utf8_accept: false,
            max_ranges: super::sequence::max_ranges_for_line(super::framing::DEFAULT_MAX_LINE),
            max_search_depth: 32,
            max_append_messages: 1000,
            max_catenate_parts: 100,
        }
    }
}

/// One message of an APPEND.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendMessage {
    pub flags: Vec<Flag>,
    pub date: Option<DateTime>,
    pub message: Vec<u8>,
    /// Sent as `~{n}` (RFC 3516): may hold NUL and unencoded 8-bit.
    pub binary: bool,
    /// Sent as `UTF8 (~{n})` (RFC 6855 §4).
    pub utf8: bool,
    /// `CATENATE (...)` (RFC 4469): the message is built from these
    /// parts (and `message` is empty).
    pub catenate: Option<Vec<super::catenate::CatPart>>,
}

/// One command: its tag and what it asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub tag: Tag,
    pub body: CommandBody,
}

/// What a command asks. `uid: true` is the `UID` prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandBody {
    Capability,
    Noop,
    Logout,
    StartTls,
    Authenticate {
        mechanism: String,
        initial: Option<SaslResponse>,
    },
    Login {
        user: Vec<u8>,
        password: Password,
    },
    Enable(Vec<String>),
    Select {
        mailbox: MailboxName,
        params: SelectParams,
    },
    Examine {
        mailbox: MailboxName,
        params: SelectParams,
    },
    Create {
        mailbox: MailboxName,
        special_use: Vec<SpecialUse>,
    },
    Delete(MailboxName),
    Rename {
        from: MailboxName,
        to: MailboxName,
    },
    Subscribe(MailboxName),
    Unsubscribe(MailboxName),
    List(ListCommand),
    Lsub {
        reference: String,
        pattern: String,
    },
    Namespace,
    Status {
        mailbox: MailboxName,
        items: Vec<StatusAttr>,
    },
    /// APPEND, with MULTIAPPEND's further messages (RFC 3502): one or more.
    Append {
        mailbox: MailboxName,
        messages: Vec<AppendMessage>,
    },
    /// REPLACE / UID REPLACE (RFC 8508): `id` is a sequence number or a
    /// UID; the message goes to `mailbox`, the old one is expunged.
    Replace {
        uid: bool,
        id: std::num::NonZeroU32,
        mailbox: MailboxName,
        message: AppendMessage,
    },
    Idle,
    Check,
    Close,
    Unselect,
    Expunge,
    /// UID EXPUNGE (RFC 4315).
    UidExpunge(SequenceSet),
    Search {
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
        program: SearchProgram,
    },
    Fetch {
        uid: bool,
        set: SequenceSet,
        items: Vec<FetchAttr>,
        modifiers: FetchModifiers,
    },
    Store {
        uid: bool,
        set: SequenceSet,
        unchanged_since: Option<u64>,
        flags: StoreFlags,
    },
    Copy {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
    Move {
        uid: bool,
        set: SequenceSet,
        mailbox: MailboxName,
    },
    Sort {
        uid: bool,
        ret: Option<Vec<SearchReturn>>,
        criteria: Vec<SortCriterion>,
        program: SearchProgram,
    },
    Thread {
        uid: bool,
        algorithm: ThreadAlgorithm,
        program: SearchProgram,
    },
    /// RFC 2971: `None` for `ID NIL`.
    Id(Option<Vec<(String, Option<String>)>>),
    Compress(String),
    GetQuota(Vec<u8>),
    /// RFC 5267 §4.2: stop updating these search contexts (their tags).
    CancelUpdate(Vec<String>),
    /// RFC 5465 §3.
    Notify(super::notify::NotifyCommand),
    /// RFC 5464 §4.2; `mailbox` `None` is the server.
    GetMetadata {
        mailbox: Option<MailboxName>,
        entries: Vec<String>,
        options: super::metadata::MetaOptions,
    },
    /// RFC 5464 §4.3; a `None` value removes the entry.
    SetMetadata {
        mailbox: Option<MailboxName>,
        entries: Vec<(String, Option<Vec<u8>>)>,
    },
    GetQuotaRoot(MailboxName),
    SetQuota {
        root: Vec<u8>,
        limits: Vec<(String, u64)>,
    },
    Unauthenticate,
}

/// RFC 2971 §3.3: at most 30 pairs, fields of 30 bytes, values of 1024.
const ID_MAX_PAIRS: usize = 30;
const ID_MAX_FIELD: usize = 30;
const ID_MAX_VALUE: usize = 1024;

/// Parses one framed command (as [`super::CommandFramer`] gives it, the
/// line ending included or not).
pub fn parse_command(bytes: &[u8], opts: &ParseOptions) -> Result<Command, ParseError> {
    let Some(tag) = Tag::at_start(bytes) else {
        return Err(ParseError {
            tag: None,
            kind: ParseErrorKind::Syntax {
                expected: "tag",
                at: 0,
            },
        });
    };
    let mut c = Cursor::new(bytes);
    let body = (|| {
        c.take_while(|b| b != b' ');
        c.sp()?;
        let body = body(&mut c, opts)?;
        c.end()?;
        Ok(body)
    })();
    match body {
        Ok(body) => Ok(Command { tag, body }),
        Err(kind) => Err(ParseError {
            tag: Some(tag),
            kind,
        }),
    }
}

/// True when a line sent during IDLE is `DONE` (RFC 2177), any case.
pub fn is_idle_done(line: &[u8]) -> bool {
    let mut c = Cursor::new(line);
    c.keyword("DONE") && c.at_end()
}

fn mailbox(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<MailboxName> {
    let bytes = c.astring()?;
    MailboxName::from_wire(&bytes, opts.utf8_accept).map_err(ParseErrorKind::BadMailboxName)
}

/// A mailbox, or `""` for the server (RFC 5464 §4).
fn meta_mailbox(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<Option<MailboxName>> {
    if c.rest().starts_with(b"\"\"") {
        c.astring()?;
        return Ok(None);
    }
    mailbox(c, opts).map(Some)
}

fn set(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<SequenceSet> {
    sequence_set(c, opts.max_ranges)
}

fn limits(opts: &ParseOptions) -> SearchLimits {
    SearchLimits {
        max_ranges: opts.max_ranges,
        max_depth: opts.max_search_depth,
    }
}

fn body(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<CommandBody> {
    use CommandBody::*;
    let at = c.pos();
    let name = c.atom()?.to_ascii_uppercase();
    Ok(match name.as_str() {
        "CAPABILITY" => Capability,
        "NOOP" => Noop,
        "LOGOUT" => Logout,
        "STARTTLS" => StartTls,
        "NAMESPACE" => Namespace,
        "IDLE" => Idle,
        "CHECK" => Check,
        "CLOSE" => Close,
        "UNSELECT" => Unselect,
        "EXPUNGE" => Expunge,
        "UNAUTHENTICATE" => Unauthenticate,
        "AUTHENTICATE" => {
            c.sp()?;
            let mechanism = c.atom()?.to_ascii_uppercase();
            let initial = if c.at_end() {
                None
            } else {
                c.sp()?;
                Some(sasl_response(c, false)?)
            };
            Authenticate { mechanism, initial }
        }
        "LOGIN" => {
            c.sp()?;
            let user = c.astring()?;
            c.sp()?;
            Login {
                user,
                password: Password(c.astring()?),
            }
        }
        "NOTIFY" => {
            c.sp()?;
            Notify(super::notify::notify(c, &mut |c| mailbox(c, opts))?)
        }
        "GETMETADATA" => {
            c.sp()?;
            let options = super::metadata::options(c)?;
            let mailbox = meta_mailbox(c, opts)?;
            c.sp()?;
            GetMetadata {
                mailbox,
                entries: super::metadata::entries(c)?,
                options,
            }
        }
        "SETMETADATA" => {
            c.sp()?;
            let mailbox = meta_mailbox(c, opts)?;
            c.sp()?;
            SetMetadata {
                mailbox,
                entries: super::metadata::entry_values(c)?,
            }
        }
        "CANCELUPDATE" => {
            let mut tags = Vec::new();
            while !c.at_end() && tags.len() < 64 {
                c.sp()?;
                tags.push(String::from_utf8_lossy(&c.string()?).into_owned());
            }
            if tags.is_empty() {
                return Err(c.fail("tag string"));
            }
            CancelUpdate(tags)
        }
        "ENABLE" => {
            let mut caps = Vec::new();
            while !c.at_end() && caps.len() < 64 {
                c.sp()?;
                caps.push(c.atom()?.to_ascii_uppercase());
            }
            if caps.is_empty() {
                return Err(c.fail("capability"));
            }
            Enable(caps)
        }
        "SELECT" | "EXAMINE" => {
            c.sp()?;
            let mailbox = mailbox(c, opts)?;
            let params = if c.at_end() {
                SelectParams::default()
            } else {
                c.sp()?;
                select_params(c, opts)?
            };
            if name == "SELECT" {
                Select { mailbox, params }
            } else {
                Examine { mailbox, params }
            }
        }
        "CREATE" => {
            c.sp()?;
            let mailbox = mailbox(c, opts)?;
            let mut special_use = Vec::new();
            if !c.at_end() {
                c.sp()?;
                c.expect(b'(', "(")?;
                if !c.keyword("USE") {
                    return Err(c.fail("USE"));
                }
                c.sp()?;
                special_use = use_attrs(c)?;
                c.expect(b')', ")")?;
            }
            Create {
                mailbox,
                special_use,
            }
        }
        "DELETE" => Delete(one_mailbox(c, opts)?),
        "SUBSCRIBE" => Subscribe(one_mailbox(c, opts)?),
        "UNSUBSCRIBE" => Unsubscribe(one_mailbox(c, opts)?),
        "GETQUOTAROOT" => GetQuotaRoot(one_mailbox(c, opts)?),
        "RENAME" => {
            let from = one_mailbox(c, opts)?;
            Rename {
                from,
                to: one_mailbox(c, opts)?,
            }
        }
        "LIST" => {
            c.sp()?;
            List(list(c, opts.utf8_accept)?)
        }
        "LSUB" => {
            c.sp()?;
            let r = c.astring()?;
            let reference = super::mailbox::decode_name(&r, opts.utf8_accept)
                .map_err(ParseErrorKind::BadMailboxName)?;
            c.sp()?;
            Lsub {
                reference,
                pattern: list_mailbox(c, opts.utf8_accept)?,
            }
        }
        "STATUS" => {
            let mailbox = one_mailbox(c, opts)?;
            c.sp()?;
            Status {
                mailbox,
                items: status_atts(c)?,
            }
        }
        "APPEND" => append(c, opts)?,
        "REPLACE" => replace(c, opts, false)?,
        "SEARCH" => search(c, opts, false)?,
        "FETCH" => fetch(c, opts, false)?,
        "STORE" => store(c, opts, false)?,
        "COPY" => {
            let (set, mailbox) = set_and_mailbox(c, opts)?;
            Copy {
                uid: false,
                set,
                mailbox,
            }
        }
        "MOVE" => {
            let (set, mailbox) = set_and_mailbox(c, opts)?;
            Move {
                uid: false,
                set,
                mailbox,
            }
        }
        "SORT" => sort(c, opts, false)?,
        "THREAD" => thread(c, opts, false)?,
        "UID" => {
            c.sp()?;
            let at = c.pos();
            let sub = c.atom()?.to_ascii_uppercase();
            match sub.as_str() {
                "SEARCH" => search(c, opts, true)?,
                "FETCH" => fetch(c, opts, true)?,
                "STORE" => store(c, opts, true)?,
                "COPY" => {
                    let (set, mailbox) = set_and_mailbox(c, opts)?;
                    Copy {
                        uid: true,
                        set,
                        mailbox,
                    }
                }
                "MOVE" => {
                    let (set, mailbox) = set_and_mailbox(c, opts)?;
                    Move {
                        uid: true,
                        set,
                        mailbox,
                    }
                }
                "SORT" => sort(c, opts, true)?,
                "THREAD" => thread(c, opts, true)?,
                "REPLACE" => replace(c, opts, true)?,
                "EXPUNGE" => {
                    c.sp()?;
                    UidExpunge(set(c, opts)?)
                }
                _ => {
                    return Err(ParseErrorKind::Syntax {
                        expected: "UID command",
                        at,
                    });
                }
            }
        }
        "ID" => {
            c.sp()?;
            if c.keyword("NIL") {
                Id(None)
            } else {
                Id(Some(c.paren_list0(ID_MAX_PAIRS, id_pair)?))
            }
        }
        "COMPRESS" => {
            c.sp()?;
            Compress(c.atom()?.to_ascii_uppercase())
        }
        "GETQUOTA" => {
            c.sp()?;
            GetQuota(c.astring()?)
        }
        "SETQUOTA" => {
            c.sp()?;
            let root = c.astring()?;
            c.sp()?;
            let limits = c.paren_list0(16, |c| {
                let name = c.atom()?.to_ascii_uppercase();
                c.sp()?;
                Ok((name, c.number64()?))
            })?;
            SetQuota { root, limits }
        }
        _ if name.is_ascii() => {
            let mut shown = name;
            shown.truncate(32);
            return Err(ParseErrorKind::Unknown(shown));
        }
        _ => {
            return Err(ParseErrorKind::Syntax {
                expected: "command name",
                at,
            });
        }
    })
}

fn one_mailbox(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<MailboxName> {
    c.sp()?;
    mailbox(c, opts)
}

fn set_and_mailbox(c: &mut Cursor<'_>, opts: &ParseOptions) -> PResult<(SequenceSet, MailboxName)> {
    c.sp()?;
    let s = set(c, opts)?;
    Ok((s, one_mailbox(c, opts)?))
}

fn search(c: &mut Cursor<'_>, opts: &ParseOptions, uid: bool) -> PResult<CommandBody> {
    let ret = search_return(c)?;
    c.sp()?;
    let program = search_program(c, limits(opts))?;
    Ok(CommandBody::Search { uid, ret, program })
}

fn fetch(c: &mut Cursor<'_>, opts: &ParseOptions, uid: bool) -> PResult<CommandBody> {
    c.sp()?;
    let set = set(c, opts)?;
    c.sp()?;
    let items = fetch_items(c)?;
    let modifiers = if c.eat(b' ') {
        fetch_modifiers(c)?
    } else {
        FetchModifiers::default()
    };
    Ok(CommandBody::Fetch {
        uid,
        set,
        items,
        modifiers,
    })
}

/// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
/// UNCHANGEDSINCE takes 0 (RFC 7162 `mod-sequence-valzer`).
fn store(c: &mut Cursor<'_>, opts: &ParseOptions, uid: bool) -> PResult<CommandBody> {
    c.sp()?;
    let set = set(c, opts)?;
    c.sp()?;
    let mut unchanged_since = None;
    if c.peek() == Some(b'(') {
        c.paren_list(4, |c| {
            if !c.keyword("UNCHANGEDSINCE") {
                return Err(c.fail("UNCHANGEDSINCE"));
            }
            c.sp()?;
            unchanged_since = Some(c.number64()?);
            Ok(())
        })?;
        c.sp()?;
    }
    let flags = store_att_flags(c)?;
    Ok(CommandBody::Store {
        uid,
        set,
        unchanged_since,
        flags,
    })
}

/// `sort = ["UID" SP] "SORT" [SP "RETURN" ...] SP sort-criteria SP
/// search-charset 1*(SP search-key)` (RFC 5256, RFC 5267 ESORT).
fn sort(c: &mut Cursor<'_>, opts: &ParseOptions, uid: bool) -> PResult<CommandBody> {
    let ret = search_return(c)?;
    c.sp()?;
    let criteria = sort_criteria(c)?;
    c.sp()?;
    let program = charset_and_keys(c, limits(opts))?;
    Ok(CommandBody::Sort {
        uid,
        ret,
        criteria,
        program,
    })
}

fn thread(c: &mut Cursor<'_>, opts: &ParseOptions, uid: bool) -> PResult<CommandBody> {
    c.sp()?;
    let algorithm = thread_algorithm(c)?;
    c.sp()?;
    let program = charset_and_keys(c, limits(opts))?;
    Ok(CommandBody::Thread {
        uid,
        algorithm,
        program,
    })
}

#[cfg(test)]
mod tests;
