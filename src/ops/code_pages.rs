//! Unmapping the executable's code pages the server is not using. The
//! binary's code and read-only data are ~28 MiB; the kernel maps them in
//! 64 KiB pieces around each page first executed (fault-around), so
//! starting up (config, migrations, TLS setup, the CLI's code that shares
//! pages with it) leaves ~22 MiB of the file mapped in an idle server that
//! will not run most of it again: most of its memory, as RSS and PSS count
//! it.
//!
//! `MADV_DONTNEED` on those mappings drops them from our page tables; the
//! pages stay in the page cache, so code that runs again is mapped back by
//! a minor fault (no disk read). Only mappings whose every page still is
//! the file's are released: a page copied on write (the dynamic loader's
//! relocations in RELRO, a debugger's breakpoint) shows as `Anonymous` in
//! `smaps`, and dropping it would lose the change, so such a mapping is
//! left alone.

use std::os::unix::fs::MetadataExt;

/// One mapping of the executable that holds only the file's own pages.
#[derive(Debug, PartialEq)]
struct Clean {
    start: usize,
    len: usize,
    rss_kib: u64,
}

/// The mappings of the file `(dev, inode)` in `smaps` text that are
/// read-only, private and hold no page of their own.
fn clean_mappings(smaps: &str, dev: (u64, u64), inode: u64) -> Vec<Clean> {
    let mut found = Vec::new();
    let mut current: Option<Clean> = None;
    let mut anonymous = false;
    let mut finish = |current: &mut Option<Clean>, anonymous: bool| {
        if let Some(m) = current.take()
            && !anonymous
            && m.rss_kib > 0
        {
            found.push(m);
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_ascii_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            // A mapping's header: range, perms, offset, dev, inode, path.
            finish(&mut current, anonymous);
            anonymous = false;
            let perms = fields.next().unwrap_or("");
            let _offset = fields.next();
            let map_dev = fields.next().and_then(parse_dev);
            let map_inode = fields.next().and_then(|i| i.parse::<u64>().ok());
            let read_only = perms.starts_with('r') && perms.as_bytes().get(1) == Some(&b'-');
            let private = perms.as_bytes().get(3) == Some(&b'p');
            if read_only && private && map_dev == Some(dev) && map_inode == Some(inode) && b > a {
                current = Some(Clean {
                    start: a,
                    len: b - a,
                    rss_kib: 0,
                });
            }
            continue;
        }
        let Some(m) = current.as_mut() else { continue };
        let kib = fields
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        match first {
            "Rss:" => m.rss_kib = kib,
            "Anonymous:" if kib > 0 => anonymous = true,
            _ => {}
        }
    }
    finish(&mut current, anonymous);
    found
}

/// `major:minor` in hex, as /proc prints a device.
fn parse_dev(s: &str) -> Option<(u64, u64)> {
    let (major, minor) = s.split_once(':')?;
    Some((
        u64::from_str_radix(major, 16).ok()?,
        u64::from_str_radix(minor, 16).ok()?,
    ))
}

/// This process's executable's clean mappings, read from `smaps`; `None`
/// when /proc cannot tell.
#[cfg(target_os = "linux")]
fn own_clean_mappings() -> Option<Vec<Clean>> {
    let meta = std::fs::metadata("/proc/self/exe").ok()?;
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let dev = (
        libc::major(meta.dev()) as u64,
        libc::minor(meta.dev()) as u64,
    );
    Some(clean_mappings(&smaps, dev, meta.ino()))
}

/// Drops the executable's clean mappings from this process's page tables;
/// how many KiB were mapped in them. Any error leaves everything mapped.
pub fn release() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut released = 0;
        for m in own_clean_mappings().unwrap_or_default() {
            // SAFETY: the range is a whole read-only private file mapping
            // of our executable whose pages are all the file's own (no
            // anonymous copy), so MADV_DONTNEED only unmaps them: the next
            // access maps the same bytes again from the page cache.
            let r =
                unsafe { libc::madvise(m.start as *mut libc::c_void, m.len, libc::MADV_DONTNEED) };
            if r == 0 {
                released += m.rss_kib;
            }
        }
        released
    }
    #[cfg(not(target_os = "linux"))]
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d000000000-55d000400000 r--p 00000000 fd:01 4242 /usr/bin/postern
Size:               4096 kB
Rss:                1200 kB
Anonymous:             0 kB
55d000400000-55d001800000 r-xp 00400000 fd:01 4242 /usr/bin/postern
Size:              20480 kB
Rss:               17000 kB
Anonymous:             0 kB
55d001800000-55d001900000 r--p 01800000 fd:01 4242 /usr/bin/postern
Size:               1024 kB
Rss:                1024 kB
Anonymous:           900 kB
55d001900000-55d001a00000 rw-p 01900000 fd:01 4242 /usr/bin/postern
Rss:                 100 kB
Anonymous:           100 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 777 /usr/lib/libc.so.6
Rss:                 900 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 r--p 00000000 fd:01 4242 /usr/bin/postern
Rss:                   0 kB
Anonymous:             0 kB
";

    #[test]
    fn only_the_executables_unmodified_read_only_mappings_are_released() {
        let found = clean_mappings(SMAPS, (0xfd, 1), 4242);
        assert_eq!(
            found,
            vec![
                Clean {
                    start: 0x55d000000000,
                    len: 0x400000,
                    rss_kib: 1200
                },
                Clean {
                    start: 0x55d000400000,
                    len: 0x1400000,
                    rss_kib: 17000
                },
            ],
            "RELRO (copied pages), rw data, another file and an unmapped range stay"
        );
        assert!(clean_mappings(SMAPS, (0xfd, 2), 4242).is_empty());
    }

    fn exe_rss_kib() -> u64 {
        own_clean_mappings()
            .expect("/proc readable")
            .iter()
            .map(|m| m.rss_kib)
            .sum()
    }

    #[test]
    fn releasing_code_pages_keeps_the_process_running_and_shrinks_it() {
        let before = exe_rss_kib();
        assert!(before > 0, "the test binary's code is mapped");
        let released = release();
        assert!(released > 0);
        // Code runs again (mapped back from the page cache) ...
        let after = exe_rss_kib();
        let v: Vec<u64> = (0..1000).map(|i| i * 3).collect();
        assert_eq!(v.iter().sum::<u64>(), 1_498_500);
        // ... and only what ran since is mapped.
        assert!(after < before, "{after} KiB mapped after, {before} before");
    }
}
