//! The `postern` binary: `serve` runs the mail server; every other command
//! administers the same data directory (safely while the server runs).

mod admin;
mod backend;
mod config;
mod console;
mod console_account;
mod mailbox_io;
mod ops;
mod out;
mod privileges;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "postern",
    version,
    about = "A complete mail server for your own domain: SMTP, submission, IMAP and POP3 in one binary",
    long_about = "A complete mail server for your own domain: SMTP, submission, IMAP and POP3 in one binary.\n\n\
        Start with `postern serve` (no configuration needed: it listens on loopback with\n\
        unprivileged ports), then add a domain and a user:\n\n  \
        postern domain add example.org\n  \
        postern user add you@example.org\n\n\
        Every command works on the data directory named by the configuration, and the\n\
        administration commands are safe to run while the server is running."
)]
struct Cli {
    /// Configuration file (TOML); without it the embedded default is used
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "POSTERN_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    /// Data directory, overriding `data_dir` of the configuration
    #[arg(long, global = true, env = "POSTERN_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the mail server until SIGINT or SIGTERM (SIGHUP reloads certificates)
    Serve(ServeArgs),
    /// Domains this server receives mail for
    #[command(subcommand)]
    Domain(admin::DomainCmd),
    /// Users: addresses that log in and own mailboxes
    #[command(subcommand)]
    User(admin::UserCmd),
    /// Aliases: addresses that forward to users or to other addresses
    #[command(subcommand)]
    Alias(admin::AliasCmd),
    /// A user's mailboxes: list, create, rename, delete, import, export
    #[command(subcommand)]
    Mailbox(admin::MailboxCmd),
    /// The outbound queue: list, show, retry, delete, hold, release
    #[command(subcommand)]
    Queue(admin::QueueCmd),
    /// DKIM keys: rotate, list
    #[command(subcommand)]
    Dkim(admin::DkimCmd),
    /// The spam filter: train a user's classifier from mail on disk, show what it
    /// learned, a user's own thresholds and allowed/blocked senders
    #[command(subcommand)]
    Spam(admin::SpamCmd),
    /// The full-text search index: rebuild, stats
    #[command(subcommand)]
    Index(admin::IndexCmd),
    /// Blocked client addresses and networks: list, add, del
    #[command(subcommand)]
    Block(admin::BlockCmd),
    /// Check the live setup (DNS records, reverse DNS, blocklists, port 25,
    /// certificate): OK, WARN or FAIL with the fix; non-zero exit on a FAIL
    Doctor(admin::DoctorArgs),
    /// DMARC and TLS reports: what others said about our mail; `send` ours
    Reports(admin::ReportsArgs),
    /// The configuration file
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Move in from another server: copy a user's mail over IMAP
    #[command(subcommand)]
    Import(admin::ImportCmd),
    /// Back up the data directory into DIR while the server runs (database
    /// snapshot, blob files linked or copied, a manifest)
    Backup(admin::BackupArgs),
    /// Restore a backup into the (empty) data directory
    Restore(admin::RestoreArgs),
    /// Check the data directory (database, blobs, counts, cached parses,
    /// queue); non-zero exit naming each problem; --repair fixes what it can
    Verify(admin::VerifyArgs),
    /// Apply schema migrations (after a snapshot), or --check them on a copy
    Upgrade(admin::UpgradeArgs),
    /// What the running server says: listeners, version, uptime, queue,
    /// disk, recent warnings and errors (fails when no server is running)
    Status(StatusArgs),
}

#[derive(Args)]
struct StatusArgs {
    /// Print the server's answer as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ServeArgs {
    /// After binding, write one `name address:port` line per listener to FILE
    /// (useful with port 0, which lets the system pick free ports)
    #[arg(long, value_name = "FILE")]
    listen_report: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Check the configuration and print what it resolves to; exit 1 if it is refused
    Check,
}

fn main() -> ExitCode {
    tune_allocator();
    // Every message this process stores keeps its ENVELOPE and
    // BODYSTRUCTURE as IMAP sends them (delivery, APPEND, import).
    postern_store::set_structure_renderer(postern_imap::render::stored_structure);
    privileges::private_umask();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output stopped early (`| head`): it has what it
        // wanted, and a command-line tool ends quietly then (out.rs says why
        // this is not SIGPIPE's default action).
        Err(e) if out::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("postern: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data_dir {
        cfg.data_dir = d;
    }
    let serving = matches!(cli.command, Command::Serve(_));
    init_tracing(&cfg, serving);
    postern_net::dns::set_cache_size(cfg.outbound.dns_cache_size);
    postern_net::install_default_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("postern")
        .max_blocking_threads(cfg.blocking_threads)
        // A blocking thread left idle ends after a second, giving its stack
        // back: a burst of logins otherwise leaves ~150 KiB per thread
        // resident for tokio's default 10 s (bench/README.md, idle memory).
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()?;
    // The admin commands run as the server's account too (when started as
    // root), so they never leave files it cannot open; `serve` switches
    // after binding its ports.
    if !serving && !matches!(cli.command, Command::Config(_)) {
        switch_now(&cfg)?;
    }
    rt.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::run(cfg, a.listen_report).await,
            Command::Domain(c) => admin::domain(&cfg, c).await,
            Command::User(c) => admin::user(&cfg, c).await,
            Command::Alias(c) => admin::alias(&cfg, c).await,
            Command::Mailbox(c) => admin::mailbox(&cfg, c).await,
            Command::Queue(c) => admin::queue(&cfg, c).await,
            Command::Dkim(c) => admin::dkim(&cfg, c).await,
            Command::Spam(c) => admin::spam(&cfg, c).await,
            Command::Block(c) => admin::block(&cfg, c).await,
            Command::Index(c) => admin::index(&cfg, c).await,
            Command::Doctor(a) => admin::doctor(&cfg, a).await,
            Command::Reports(a) => admin::reports(&cfg, a).await,
            Command::Config(ConfigCmd::Check) => admin::config_check(&cfg),
            Command::Import(c) => admin::import_cmd(&cfg, c).await,
            Command::Backup(a) => admin::backup(&cfg, a).await,
            Command::Restore(a) => admin::restore(&cfg, a).await,
            Command::Verify(a) => admin::verify(&cfg, a).await,
            Command::Upgrade(a) => admin::upgrade(&cfg, a).await,
            Command::Status(a) => ops::status::run(&cfg.data_dir, a.json).await,
        }
    })
}

/// Takes on `[server] user` at once (see `privileges`).
fn switch_now(cfg: &Config) -> anyhow::Result<()> {
    privileges::enter(&privileges::plan(cfg)?, &cfg.data_dir)
}

/// glibc raises its mmap threshold after the first large `free`, so the
/// 19 MiB argon2 buffer of every login afterwards comes from heap arenas
/// that never shrink: measured 6.6 MiB RSS per idle IMAP connection after
/// 200 concurrent logins. A fixed threshold keeps large transient buffers
/// (argon2, big messages) in mmap, returned to the kernel when freed:
/// 65 KiB per connection on the same test. `MALLOC_MMAP_THRESHOLD_` in the
/// environment still takes precedence.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
        // SAFETY: mallopt only changes allocator tuning; it is called once,
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        }
    }
}

/// Logs go to stderr, as text or JSON lines (`[log] format`). The admin
/// commands log warnings only unless RUST_LOG says more. The server keeps
/// its last warnings and errors for `postern status`.
fn init_tracing(cfg: &Config, serving: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if serving {
        cfg.log_level.as_str()
    } else {
        "warn"
    };
    let spec = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| tracing_subscriber::EnvFilter::try_new(s).is_ok())
        .unwrap_or_else(|| default.to_string());
    let mut filter = tracing_subscriber::EnvFilter::try_new(&spec)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // rustls warns about each client that sends an IP address as its SNI
    // name (mbsync and others do when configured with an IP), one line per
    // connection for anyone whose clients use a LAN address; the client's
    // quirk is nothing an operator can act on. Shown only when the filter
    // is at debug or names rustls.
    if !spec.contains("rustls") && !spec.contains("debug") && !spec.contains("trace") {
        filter = filter.add_directive(
            "rustls::msgs::handshake=error"
                .parse()
                .expect("a valid directive"),
        );
    }
    let json = cfg.log_format == config::LogFormat::Json;
    let text = (!json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
    });
    let json = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(false)
            .with_writer(std::io::stderr)
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(serving.then(|| ops::recent::RecentLayer::new(cfg.recent_errors)))
        .init();
}
