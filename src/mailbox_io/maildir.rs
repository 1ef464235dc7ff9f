//! Maildir reading: listing the message files and turning one file into an
//! [`ImportedMessage`], flags and INTERNALDATE taken from its name.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use anyhow::{Context, bail};

use super::{Flags, ImportedMessage, is_keyword, push_crlf};

/// The message files of a Maildir (cur/ and new/), sorted by delivery time,
/// then name. Skips tmp/, dotfiles and anything that is not a file.
pub fn read_maildir(path: &Path) -> anyhow::Result<MaildirFiles> {
    fs::metadata(path).with_context(|| format!("reading Maildir {}", path.display()))?;
    let missing: Vec<&str> = ["cur/", "new/"]
        .into_iter()
        .filter(|d| !path.join(d).is_dir())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} is not a Maildir: it has no {} directory",
            path.display(),
            missing.join(" or ")
        );
    }
    let mut files = MaildirFiles {
        root: path.to_path_buf(),
        names: Vec::new(),
        entries: Vec::new(),
    };
    for (in_new, sub) in [(false, "cur"), (true, "new")] {
        let dir = path.join(sub);
        let listing = || format!("listing {}", dir.display());
        for entry in fs::read_dir(&dir).with_context(listing)? {
            let entry = entry.with_context(listing)?;
            let name = entry.file_name();
            let name = name.as_encoded_bytes();
            if name.starts_with(b".") {
                continue;
            }
            let file = entry.path();
            let meta = match fs::metadata(&file) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
            };
            if meta.is_file() {
                files.entries.push(Listed {
                    time: name_timestamp(name).or_else(|| mtime(&meta)),
                    start: files.names.len(),
                    len: name.len(),
                    in_new,
                });
                files.names.extend_from_slice(name);
            }
        }
    }
    let names = &files.names;
    files
        .entries
        .sort_by(|a, b| (a.time, a.name(names), a.in_new).cmp(&(b.time, b.name(names), b.in_new)));
    Ok(files)
}

/// A Maildir's message files in delivery order. The names are kept in one
/// buffer and each path is made when asked for: a listing of 100,000
/// files is then ~10 MB instead of ~30 (a `PathBuf` and a name each), and
/// it lives for the whole import.
#[derive(Debug)]
pub struct MaildirFiles {
    root: PathBuf,
    names: Vec<u8>,
    entries: Vec<Listed>,
}

#[derive(Debug)]
struct Listed {
    time: Option<i64>,
    start: usize,
    len: usize,
    in_new: bool,
}

impl Listed {
    fn name<'a>(&self, names: &'a [u8]) -> &'a [u8] {
        &names[self.start..self.start + self.len]
    }
}

impl MaildirFiles {
    /// How many files there are.
    pub fn count(&self) -> usize {
        self.entries.len()
    }

    /// The path of the `i`-th file in delivery order.
    pub fn path(&self, i: usize) -> PathBuf {
        let e = &self.entries[i];
        let name = std::ffi::OsStr::from_bytes(e.name(&self.names));
        self.root
            .join(if e.in_new { "new" } else { "cur" })
            .join(name)
    }

    /// Every file's path, in delivery order.
    pub fn iter(&self) -> impl Iterator<Item = PathBuf> + '_ {
        (0..self.count()).map(|i| self.path(i))
    }
}

/// Reads one Maildir message file; flags come from its name, with lowercase
/// letters looked up in the Maildir's `dovecot-keywords`.
pub fn read_maildir_message(path: &Path) -> anyhow::Result<ImportedMessage> {
    let context = || format!("reading Maildir message {}", path.display());
    let mut file = File::open(path).with_context(context)?;
    let meta = file.metadata().with_context(context)?;
    let mut content = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut content).with_context(context)?;
    let name = path
        .file_name()
        .map(|n| n.as_encoded_bytes())
        .unwrap_or_default();
    let mut flags = Flags::default();
    if let Some(info) = maildir_info(name) {
        for letter in info {
            match letter {
                b'D' => flags.draft = true,
                b'F' => flags.flagged = true,
                b'R' => flags.answered = true,
                b'S' => flags.seen = true,
                b'T' => flags.deleted = true,
                _ => {}
            }
        }
        if info.iter().any(u8::is_ascii_lowercase) {
            let keywords = dovecot_keywords(path)?;
            for letter in info.iter().filter(|b| b.is_ascii_lowercase()) {
                if let Some(keyword) = &keywords[usize::from(letter - b'a')] {
                    flags.add_keyword(keyword);
                }
            }
        }
    }
    let mut raw = Vec::with_capacity(content.len() + content.len() / 32);
    for line in content.split_inclusive(|&b| b == b'\n') {
        push_crlf(&mut raw, line);
    }
    let internal_date = name_timestamp(name).or_else(|| mtime(&meta));
    Ok(ImportedMessage {
        raw,
        internal_date,
        flags: flags.into_vec(),
    })
}

/// The flag letters after `:2,` (or `!2,`) in a Maildir file name.
fn maildir_info(name: &[u8]) -> Option<&[u8]> {
    let at = name
        .windows(3)
        .rposition(|w| matches!(w, [b':' | b'!', b'2', b',']))?;
    Some(&name[at + 3..])
}

/// Dovecot's keyword table, in the Maildir that holds `message` (its
/// grandparent): lines `0 $Junk` map index 0 to the letter `a`.
fn dovecot_keywords(message: &Path) -> anyhow::Result<[Option<String>; 26]> {
    let mut table: [Option<String>; 26] = Default::default();
    let Some(root) = message.parent().and_then(Path::parent) else {
        return Ok(table);
    };
    let file = root.join("dovecot-keywords");
    let text = match fs::read(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(table),
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    for line in String::from_utf8_lossy(&text).lines() {
        if let Some((index, keyword)) = line.trim().split_once(' ')
            && let Ok(index) = index.parse::<usize>()
            && index < table.len()
            && is_keyword(keyword.trim())
        {
            table[index] = Some(keyword.trim().to_owned());
        }
    }
    Ok(table)
}

/// Dovecot and Courier name files `<seconds>.<unique>`: the delivery time.
fn name_timestamp(name: &[u8]) -> Option<i64> {
    let digits = name.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || name.get(digits) != Some(&b'.') {
        return None;
    }
    std::str::from_utf8(&name[..digits]).ok()?.parse().ok()
}

fn mtime(meta: &Metadata) -> Option<i64> {
    let time = meta.modified().ok()?;
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        Err(before) => i64::try_from(before.duration().as_secs()).ok().map(|s| -s),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn strings(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|f| f.to_string()).collect()
    }

    fn maildir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir(dir.path().join(sub)).expect("create Maildir subdirectory");
        }
        dir
    }

    fn put(root: &Path, name: &str, content: &[u8], mtime: Option<i64>) -> PathBuf {
        let path = root.join(name);
        fs::write(&path, content).expect("write message file");
        if let Some(secs) = mtime {
            let time = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs());
            let file = File::options()
                .write(true)
                .open(&path)
                .expect("open for mtime");
            file.set_modified(time).expect("set mtime");
        }
        path
    }

    #[test]
    fn listing_takes_cur_and_new_sorted_by_delivery_time_then_name() {
        let dir = maildir();
        let root = dir.path();
        let new = put(root, "new/1700000002.M1P1.host", b"S: 3\n", None);
        let cur_b = put(root, "cur/1700000001.M9P9.host:2,S", b"S: 2\n", None);
        let cur_a = put(root, "cur/1700000001.M1P1.host:2,", b"S: 2\n", None);
        let old = put(
            root,
            "cur/no-timestamp-here",
            b"S: 1\n",
            Some(1_600_000_000),
        );
        put(root, "cur/.hidden", b"x", None);
        put(root, "new/.nfs0001", b"x", None);
        put(root, "tmp/1600000000.M1.host", b"x", None);
        fs::create_dir(root.join("cur/subdir")).expect("create subdir");
        fs::create_dir(root.join(".Sent")).expect("create Maildir++ folder");
        let listed = read_maildir(root).expect("a valid Maildir lists");
        assert_eq!(listed.iter().collect::<Vec<_>>(), [old, cur_a, cur_b, new]);
        assert_eq!(listed.count(), 4);
    }

    #[test]
    fn listing_an_empty_maildir_gives_nothing() {
        let dir = maildir();
        assert_eq!(read_maildir(dir.path()).expect("lists").count(), 0);
    }

    #[test]
    fn listing_without_cur_or_new_names_what_is_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let shown = dir.path().display().to_string();
        let error = |path: &Path| format!("{:#}", read_maildir(path).expect_err("not a Maildir"));
        assert_eq!(
            error(dir.path()),
            format!("{shown} is not a Maildir: it has no cur/ or new/ directory")
        );
        fs::create_dir(dir.path().join("cur")).expect("create cur");
        assert_eq!(
            error(dir.path()),
            format!("{shown} is not a Maildir: it has no new/ directory")
        );
        fs::write(dir.path().join("new"), b"").expect("a file named new");
        assert_eq!(
            error(dir.path()),
            format!("{shown} is not a Maildir: it has no new/ directory")
        );
        let gone = dir.path().join("nowhere");
        assert!(error(&gone).starts_with(&format!("reading Maildir {}: ", gone.display())));
    }

    #[test]
    fn message_flags_come_from_the_info_letters() {
        let dir = maildir();
        let table: &[(&str, &[&str])] = &[
            ("cur/1.a:2,S", &["\\Seen"]),
            (
                "cur/1.b:2,DFPRST",
                &["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"],
            ),
            ("cur/1.c:2,", &[]),
            ("cur/1.d,S=12,W=14:2,RS", &["\\Seen", "\\Answered"]),
            ("cur/1.e!2,F", &["\\Flagged"]),
            ("cur/1.f:1,S", &[]),
            ("cur/1.g:2,ab", &[]),
            ("new/1.h", &[]),
        ];
        for (name, want) in table {
            let path = put(dir.path(), name, b"S: x\n", None);
            let read = read_maildir_message(&path).expect("message reads");
            assert_eq!(read.flags, strings(want), "{name}");
        }
    }

    #[test]
    fn message_keywords_come_from_dovecot_keywords() {
        let dir = maildir();
        let keywords = "0 $Junk\n1 NonJunk\nbad line\n2 two words\n30 $TooFar\n25 $Last\n";
        fs::write(dir.path().join("dovecot-keywords"), keywords).expect("write keywords");
        let path = put(
            dir.path(),
            "cur/1700000000.M1P2.host:2,Sabcz",
            b"S: x\n",
            None,
        );
        let read = read_maildir_message(&path).expect("message reads");
        assert_eq!(
            read.flags,
            strings(&["\\Seen", "$Junk", "NonJunk", "$Last"])
        );
    }

    #[test]
    fn message_date_comes_from_the_name_else_the_mtime() {
        let dir = maildir();
        let named = put(dir.path(), "cur/1700000000.M1P2.host:2,S", b"", Some(5));
        let read = read_maildir_message(&named).expect("message reads");
        assert_eq!(read.internal_date, Some(1_700_000_000));
        for name in [
            "new/courier-style",
            "new/1700000000",
            "new/99999999999999999999.x",
        ] {
            let path = put(dir.path(), name, b"", Some(1_600_000_000));
            let read = read_maildir_message(&path).expect("message reads");
            assert_eq!(read.internal_date, Some(1_600_000_000), "{name}");
        }
    }

    #[test]
    fn message_is_converted_to_crlf_bytes_untouched() {
        let dir = maildir();
        let content = b"Subject: x\nStatus: RO\r\n\n\0\xff\rraw\nlast";
        let path = put(dir.path(), "new/1.M1.host", content, None);
        let read = read_maildir_message(&path).expect("message reads");
        assert_eq!(
            read.raw,
            b"Subject: x\r\nStatus: RO\r\n\r\n\0\xff\rraw\r\nlast"
        );
        assert!(read.flags.is_empty());
    }

    #[test]
    fn message_read_error_names_the_file() {
        let dir = maildir();
        let path = dir.path().join("cur/1.gone:2,S");
        let error = format!(
            "{:#}",
            read_maildir_message(&path).expect_err("no such file")
        );
        assert!(
            error.starts_with(&format!("reading Maildir message {}: ", path.display())),
            "{error}"
        );
    }
}
