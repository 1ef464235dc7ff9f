//! Real client programs from Debian's packages against the real binary,
//! each with the config its users write (issue 21). `.ci/run` installs
//! them; a missing one fails its test with the package to install.

mod mbsync;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Fails the test, naming the Debian package, when `program` is missing.
pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()));
    assert!(
        found,
        "{program} is not installed: install Debian's {package} package (.ci/run does)"
    );
}

/// Runs `cmd` with no input and its output captured, killing it after
/// `secs` seconds (a hung client fails the test instead of hanging it).
pub fn run_bounded(mut cmd: Command, secs: u64) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn client");
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "{cmd:?} still running after {secs} s:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}
