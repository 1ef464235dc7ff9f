//! Standard output for the commands. A reader that stops early
//! (`postern mailbox list you@example.org | head -2`) closes the pipe; the
//! next write fails with EPIPE, which `println!` turns into a panic with a
//! backtrace. Here it becomes `StdoutClosed`, which ends an admin command
//! quietly (exit status 0, as the reader got what it asked for) and which
//! `serve` ignores.
//!
//! Why not restore SIGPIPE's default action instead (the C tools' way):
//! the whole process would die on a write to any closed pipe or socket.
//! For `serve` that means a client that hangs up kills the server; for an
//! admin command it means dying without the store's orderly close and
//! with status 141, which fails `set -o pipefail` scripts. Rust ignores
//! SIGPIPE, so every write reports EPIPE as an error instead, and only
//! standard output's is meant to end a command.

use std::fmt;
use std::io::{self, Write};

/// A write to standard output found the reader gone.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// `println!` for the commands: a closed stdout returns `StdoutClosed`
/// from the enclosing function (it must return `anyhow::Result`).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))?
    };
}
pub(crate) use outln;

tokio::task_local! {
    /// Set while the web console runs a command: its lines are collected
    /// for the page instead of written to the server's standard output.
    static CAPTURE: std::cell::RefCell<Vec<String>>;
}

/// Runs a command and returns the lines it printed with its result.
pub async fn capture<F>(command: F) -> (Vec<String>, anyhow::Result<()>)
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    CAPTURE
        .scope(std::cell::RefCell::new(Vec::new()), async {
            let r = command.await;
            (CAPTURE.with(|c| c.take()), r)
        })
        .await
}

/// Writes one line to standard output (or to the capture, inside one).
pub fn line(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    if CAPTURE
        .try_with(|c| c.borrow_mut().push(args.to_string()))
        .is_ok()
    {
        return Ok(());
    }
    writeln!(io::stdout().lock(), "{args}").map_err(|e| {
        if e.kind() == io::ErrorKind::BrokenPipe {
            anyhow::Error::new(StdoutClosed)
        } else {
            anyhow::Error::new(e).context("writing to standard output")
        }
    })
}

/// Standard output as a `Write` for bulk output (an mbox export), whose
/// EPIPE carries `StdoutClosed` through the caller's error context.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf).map_err(closed)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush().map_err(closed)
    }
}

fn closed(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, StdoutClosed)
    } else {
        e
    }
}

/// Whether `e` is (or was caused by) standard output being closed.
pub fn is_closed(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.is::<StdoutClosed>()
            || c.downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<StdoutClosed>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn a_closed_stdout_is_recognised_through_context_and_io_errors() {
        let direct = anyhow::Error::new(StdoutClosed);
        assert!(is_closed(&direct));
        let wrapped = Err::<(), _>(closed(io::Error::from(io::ErrorKind::BrokenPipe)))
            .context("writing the mbox")
            .expect_err("an error");
        assert!(is_closed(&wrapped));
        // EPIPE from anything but standard output is a real error.
        let other = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("sending")
            .expect_err("an error");
        assert!(!is_closed(&other));
    }
}
