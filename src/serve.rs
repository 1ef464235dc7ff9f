//! `postern serve`: makes the data directory private, binds every
//! configured listener and loads certificates (as root, when started so),
//! switches to `[server] user`, opens the store, starts the queue runner,
//! the spam trainer, the abuse upkeep (blocks reloaded, abuse tables
//! swept) and (with `[acme]`) the certificate keeper, and runs until
//! SIGINT/SIGTERM; SIGHUP reloads the certificate files. Every listener
//! refuses the clients the abuse tracker has blocked.
//!
//! SMTP (MX and submission) is served by `postern-smtp`, IMAP by
//! `postern-imap`, POP3 (110 with STLS, 995) by `postern-pop3`, ManageSieve
//! (4190) by `postern-managesieve`, client discovery over HTTP and HTTPS by
//! `postern-web`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use postern_auth::{Abuse, Directory};
use postern_net::{BoundListener, CertSource, Gate, Handler, ListenerSpec, TlsManager};
use postern_store::{OpenMode, Store, StoreOptions};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::backend::StoreBackend;
use crate::config::{Config, EMBEDDED};
use crate::out::outln;
use crate::privileges;

/// How long sessions get to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

pub async fn run(cfg: Config, listen_report: Option<PathBuf>) -> Result<()> {
    // Shared with the web console, which runs the admin commands.
    let cfg = Arc::new(cfg);
    // As root: decide who to run as, make the data directory private,
    // bind the ports and read the certificate; then give everything up.
    let plan = privileges::plan(&cfg)?;
    // Before anything counts: a metric handle taken earlier counts nowhere.
    let metrics = (!cfg.metrics.is_empty())
        .then(crate::ops::install_metrics)
        .transpose()?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating the data directory {}", cfg.data_dir.display()))?;
    let tightened = privileges::tighten(&cfg.data_dir)?;
    if tightened > 0 {
        tracing::info!(
            entries = tightened,
            dir = %cfg.data_dir.display(),
            "data directory made private (0700 directories, 0600 files)"
        );
    }
    let source = match (&cfg.tls_files, &cfg.acme) {
        (Some((cert, key)), _) => CertSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        (None, Some(acme)) => CertSource::Acme {
            dir: acme.dir.clone(),
            hostname: cfg.hostname.clone(),
            fallback_dir: cfg.data_dir.join("tls"),
        },
        (None, None) => CertSource::SelfSigned {
            hostname: cfg.hostname.clone(),
            dir: cfg.data_dir.join("tls"),
        },
    };
    let tls = TlsManager::load_with(source, cfg.tls_options.clone())
        .context("loading the TLS certificate")?;

    let mut bound: Vec<BoundListener> = Vec::new();
    for svc in &cfg.services {
        for addr in &svc.addrs {
            let l = postern_net::bind(ListenerSpec {
                name: svc.name,
                proto: svc.proto,
                addr: *addr,
                implicit_tls: svc.implicit_tls,
                limits: cfg.limits.clone(),
            })
            .await
            .with_context(|| format!("listening for {} on {addr}", svc.name))?;
            bound.push(l);
        }
    }

    let metrics_listeners = crate::ops::http::bind(&cfg.metrics).await?;
    let report: Vec<(String, String)> = bound
        .iter()
        .map(|l| (l.spec().name.to_string(), l.local_addr().to_string()))
        .chain(crate::ops::http::report(&metrics_listeners))
        .collect();
    // Written by the user who asked for it, before the switch.
    if let Some(path) = &listen_report {
        write_report(path, &report)?;
    }
    privileges::enter(&plan, &cfg.data_dir)?;
    let store = Store::open(
        &cfg.data_dir,
        StoreOptions {
            mode: OpenMode::Server,
            ..cfg.store.clone()
        },
    )
    .with_context(|| format!("opening the data directory {}", cfg.data_dir.display()))?;
    let backend = Arc::new(StoreBackend(store.clone()));
    let abuse = Abuse::new(cfg.abuse.cfg.clone(), backend.clone());
    if let Err(e) = abuse.refresh().await {
        tracing::warn!(error = %e, "could not read the blocks; starting with none");
    }
    let directory =
        Directory::with_accounts(backend.clone(), cfg.auth.clone(), abuse.clone(), backend);
    if let Some(oauth) = &cfg.oauth {
        let checker = postern_auth::OAuth::new(oauth.clone())
            .map_err(|(key, reason)| anyhow::anyhow!("{}: oauth.{key}: {reason}", cfg.source))?;
        directory.set_oauth(checker);
        tracing::info!(issuer = %oauth.issuer, "OAuth bearer tokens accepted (OAUTHBEARER, XOAUTH2)");
    }
    let queue_wake = postern_smtp::outbound::Wake::default();
    // Forwarded mail's SRS senders, made and decoded with one key.
    let srs = postern_delivery::sieve::srs::Srs::load_or_create(
        &cfg.data_dir,
        cfg.sieve.srs_max_age_days,
    )
    .context("reading or creating the SRS key")?;
    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    // DMARC evaluations and TLS outcomes, counted for the daily reports.
    let reports = postern_delivery::reports::Recorder::spawn(
        store.clone(),
        cfg.reports.flush,
        shutdown.clone(),
        &tracker,
    );
    let smtp = postern_smtp::Context {
        cfg: Arc::new(cfg.smtp.clone()),
        store: store.clone(),
        directory: directory.clone(),
        starttls: true,
        queue_wake: queue_wake.clone(),
        delivery: Some(Arc::new(
            postern_delivery::Delivery::new(
                postern_delivery::DeliveryConfig {
                    spam: cfg.spam.clone(),
                    sieve: cfg.sieve.clone(),
                },
                Some(
                    postern_delivery::MailAuth::new(
                        cfg.mailauth.clone(),
                        cfg.data_dir.clone(),
                        cfg.hostname.clone(),
                        &cfg.outbound.nameservers,
                    )
                    .map_err(anyhow::Error::msg)
                    .context("setting up mail authentication")?,
                ),
                Some(Arc::new(postern_spam::training::Classifiers::new(
                    store.clone(),
                    cfg.spam_training.clone(),
                ))),
                cfg.hostname.clone(),
                &cfg.outbound.nameservers,
            )
            .map_err(anyhow::Error::msg)
            .context("setting up the inbound pipeline")?
            .with_srs(srs.clone())
            .with_reports(reports.clone(), cfg.reports.clone()),
        )),
    };
    let imap = postern_imap::Context {
        cfg: Arc::new(cfg.imap.clone()),
        store: store.clone(),
        directory: directory.clone(),
        starttls: true,
        per_user: postern_imap::PerUser::default(),
        render: Arc::new(postern_imap::RenderCache::new(cfg.imap.render_cache_bytes)),
    };
    let pop3 = postern_pop3::Context {
        cfg: Arc::new(cfg.pop3.clone()),
        store: store.clone(),
        directory: directory.clone(),
        starttls: true,
        maildrops: postern_pop3::Maildrops::default(),
    };
    let managesieve = postern_managesieve::Context {
        cfg: Arc::new(cfg.managesieve.clone()),
        store: store.clone(),
        directory: directory.clone(),
        starttls: true,
        limits: Arc::new(cfg.sieve.clone()),
    };
    let acme_tokens = postern_web::acme::Http01Tokens::default();
    let ops = crate::ops::Ops::new(&cfg, store.clone(), report.clone(), metrics);
    let mut web_cfg = cfg.web.clone();
    // Plain HTTP redirects to the https listener clients reach.
    let https = report_addrs(&bound, "https").first().map(|a| a.port());
    web_cfg.https_port = web_cfg.https_port.or(https);
    let console = Arc::new(postern_web::console::Console {
        directory: directory.clone(),
        admin: Arc::new(crate::console::ConsoleAdmin {
            cfg: cfg.clone(),
            store: store.clone(),
            ops: ops.clone(),
            tls: tls.clone(),
        }),
        second_factor: Arc::new(postern_web::console::backend::Totp(directory.clone())),
        enrolments: Default::default(),
        account: Arc::new(crate::console_account::ConsoleAccount {
            limits: cfg.sieve.clone(),
        }),
        flashes: postern_web::console::Flashes::default(),
    });
    let web = postern_web::Context {
        cfg: Arc::new(web_cfg),
        store: store.clone(),
        acme_tokens: acme_tokens.clone(),
        console: Some(console),
    };

    // The banner is for a person watching; a closed stdout (`serve | head`)
    // must not stop the server.
    if let Err(e) = print_banner(&cfg, &report, &tls, &store).await {
        tracing::warn!(error = %e, "could not print the banner");
    }

    crate::ops::start(ops, metrics_listeners, shutdown.clone(), &tracker);
    crate::ops::trim::merge_freed_chunks_at_once();
    crate::ops::trim::spawn(cfg.memory_trim, shutdown.clone(), &tracker);
    let mut outbound = cfg.outbound.clone();
    // RFC 5321 §5.1: the queue must recognise an MX that is this server.
    outbound.local_listeners = report_addrs(&bound, "smtp");
    // Bounces to forwarded mail go back to the sender the SRS address hides.
    outbound.srs = Some(srs);
    outbound.tls_reports = Some(reports);
    postern_smtp::outbound::spawn(
        store.clone(),
        directory.clone(),
        outbound,
        queue_wake,
        shutdown.clone(),
        &tracker,
    )
    .map_err(anyhow::Error::msg)
    .context("starting the queue runner")?;
    // The classifier learns in the background from the store's journal of
    // \Junk moves and $Junk/$NotJunk flags; IMAP's MOVE has answered long
    // before. Its read limits are the scorer's, so a message is seen the
    // same way when trained and when scored.
    postern_spam::training::trainer::spawn(
        store.clone(),
        cfg.spam_training.clone(),
        cfg.spam.config.limits,
        shutdown.clone(),
        &tracker,
    );
    postern_delivery::reports::send::spawn_daily(
        store.clone(),
        cfg.reports.clone(),
        cfg.hostname.clone(),
        postern_net::dns::resolver(&cfg.outbound.nameservers).map_err(anyhow::Error::msg)?,
        postern_delivery::MailAuth::new(
            cfg.mailauth.clone(),
            cfg.data_dir.clone(),
            cfg.hostname.clone(),
            &cfg.outbound.nameservers,
        )
        .ok(),
        shutdown.clone(),
        &tracker,
    );
    // The full-text index follows the commits that file messages, in
    // batches, long after their 250 (issue 19).
    {
        let (store, shutdown) = (store.clone(), shutdown.clone());
        tracker.spawn(async move {
            tokio::select! {
                () = store.run_indexer() => {}
                () = shutdown.cancelled() => {}
            }
        });
    }
    spawn_session_sweep(store.clone(), cfg.web.session, shutdown.clone(), &tracker);
    spawn_abuse_upkeep(
        abuse.clone(),
        store.clone(),
        &cfg,
        shutdown.clone(),
        &tracker,
    );
    let gate: Arc<dyn Gate> = Arc::new(AbuseGate(abuse));
    for l in bound {
        let l = l.with_gate(gate.clone());
        let handler: Arc<dyn Handler> = match l.spec().name {
            "smtp" => postern_smtp::SmtpHandler::new(smtp.clone(), postern_smtp::Mode::Mx),
            "submission" | "submissions" => {
                postern_smtp::SmtpHandler::new(smtp.clone(), postern_smtp::Mode::Submission)
            }
            "imap" | "imaps" => postern_imap::ImapHandler::new(imap.clone()),
            "http" | "https" => postern_web::WebHandler::new(web.clone()),
            "managesieve" => postern_managesieve::ManageSieveHandler::new(managesieve.clone()),
            _ => postern_pop3::Pop3Handler::new(pop3.clone()),
        };
        let tls = Some(tls.clone());
        let (shutdown, tracker2) = (shutdown.clone(), tracker.clone());
        tracker.spawn(async move {
            let name = l.spec().name;
            if let Err(e) = l.serve(handler, tls, shutdown, tracker2).await {
                tracing::error!(listener = name, error = %e, "listener stopped");
            }
        });
    }
    if let Some(acme) = &cfg.acme {
        postern_web::acme::spawn(
            acme.clone(),
            tls.clone(),
            acme_tokens,
            shutdown.clone(),
            &tracker,
        );
    }
    if let Some(every) = cfg.tls_watch
        && cfg.tls_files.is_some()
    {
        tls.watch_files(every, shutdown.clone());
    }

    wait_for_shutdown(&tls).await?;
    tracing::info!("shutting down");
    shutdown.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN, tracker.wait()).await.is_err() {
        tracing::warn!("sessions still open after {DRAIN:?}; closing them");
    }
    store.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

/// How often expired blocks, old logins and stale greylisting rows are
/// removed (they stop counting at once; this only keeps the tables small).
const ABUSE_SWEEP: Duration = Duration::from_secs(3600);

/// The listeners' view of the abuse tracker: its in-memory block set.
struct AbuseGate(Abuse);

impl Gate for AbuseGate {
    fn is_blocked(&self, ip: std::net::IpAddr) -> bool {
        self.0.is_blocked(ip)
    }
}

/// Reloads the blocks every `[abuse] refresh_secs` (so `postern block`
/// takes effect without a restart) and sweeps the abuse tables hourly,
/// starting now.
fn spawn_abuse_upkeep(
    abuse: Abuse,
    store: Store,
    cfg: &Config,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    let refresh = cfg.abuse.refresh;
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let trusted = secs(cfg.abuse.cfg.trusted_for);
    let greylist_window = secs(cfg.smtp.greylist.retry_window);
    tracker.spawn(async move {
        let mut last_sweep: Option<tokio::time::Instant> = None;
        loop {
            if last_sweep.is_none_or(|t| t.elapsed() >= ABUSE_SWEEP) {
                last_sweep = Some(tokio::time::Instant::now());
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(secs)
                    .unwrap_or(0);
                let sweep = postern_store::AbuseSweep {
                    now,
                    success_before: now.saturating_sub(trusted),
                    greylist_before: now.saturating_sub(greylist_window),
                };
                match store.abuse_sweep(sweep).await {
                    Ok(n) if n > 0 => tracing::info!(rows = n, "abuse tables swept"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "abuse sweep failed"),
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(refresh) => {}
            }
            if let Err(e) = abuse.refresh().await {
                tracing::warn!(error = %e, "could not reload the blocks; keeping the last ones");
            }
        }
    });
}

/// Waits for SIGINT or SIGTERM; reloads certificates on SIGHUP meanwhile.
async fn wait_for_shutdown(tls: &TlsManager) -> Result<()> {
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            _ = hup.recv() => match tls.reload() {
                Ok(()) => tracing::info!("SIGHUP: certificate reloaded"),
                Err(e) => tracing::warn!(error = %e, "SIGHUP: certificate reload failed; keeping the old one"),
            },
        }
    }
}

/// Writes `name address` lines atomically, so a reader never sees half.
fn write_report(path: &Path, report: &[(String, String)]) -> Result<()> {
    let text: String = report.iter().map(|(n, a)| format!("{n} {a}\n")).collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

async fn print_banner(
    cfg: &Config,
    report: &[(String, String)],
    tls: &TlsManager,
    store: &Store,
) -> Result<()> {
    outln!(
        "postern {} serving {} (config: {}, data: {})",
        env!("CARGO_PKG_VERSION"),
        cfg.hostname,
        cfg.source,
        cfg.data_dir.display()
    );
    for (name, addr) in report {
        outln!("  {name:<12} {addr}");
    }
    if let Some((_, addr)) = report.iter().find(|(n, _)| n == "https")
        && cfg.web.console
    {
        outln!("  web console  https://{addr}/admin (admins: `postern user admin USER --on`)");
    }
    if let Some(acme) = &cfg.acme {
        let state = if tls.serving_fallback() {
            "ordering; self-signed until then"
        } else {
            "renewed automatically"
        };
        outln!(
            "  TLS: ACME certificate for {} from {} ({state})",
            acme.names.join(", "),
            acme.directory
        );
    } else if cfg.tls_files.is_none() {
        outln!(
            "  TLS: self-signed certificate {} (turn on [acme], or set [tls] cert/key, for a real one)",
            tls.cert_path().display()
        );
    }
    match store.user_list(None).await {
        Ok(users) if users.is_empty() => {
            let c = if cfg.source == EMBEDDED {
                String::new()
            } else {
                format!(" --config {}", cfg.source)
            };
            outln!("No users yet. Add a domain and a user (the password is asked for):");
            outln!("  postern{c} domain add example.org");
            outln!("  postern{c} user add you@example.org");
        }
        Ok(users) => outln!("  {} users", users.len()),
        Err(e) => tracing::warn!(error = %e, "could not count users"),
    }
    Ok(())
}

/// Removes expired web console sessions every ten minutes (a lookup
/// already refuses them; this keeps the table small).
fn spawn_session_sweep(
    store: Store,
    limits: postern_store::SessionLimits,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
) {
    tracker.spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = shutdown.cancelled() => return,
            }
            let now = crate::ops::now();
            if let Err(e) = store.web_sessions_sweep(now, limits).await {
                tracing::warn!(error = %e, "could not sweep expired web sessions");
            }
        }
    });
}

/// The addresses the listeners named `name` are bound to.
fn report_addrs(bound: &[BoundListener], name: &str) -> Vec<std::net::SocketAddr> {
    bound
        .iter()
        .filter(|l| l.spec().name == name)
        .map(|l| l.local_addr())
        .collect()
}
