//! `store-fill DIR COUNT [WRITERS]`: fills data directory DIR with COUNT
//! unique messages for bench@example.test's INBOX, delivered by WRITERS
//! (64) concurrent tasks so they share commits: a 100,000-message store in
//! minutes, where `postern mailbox import` (one commit per message) takes
//! hours on a slow disk. Sizes follow a mail-like mix (most 2-8 KB, some
//! to 60 KB, 3% of 80-200 KB, which the default inline limit makes blob
//! files). For `bench/backup/run.sh`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use postern_bench::message;
use postern_store::{DeliveryTarget, NewMessage, NewUser, Store, StoreOptions};

const USER: &str = "bench@example.test";

/// A size for message `id`, deterministic.
fn size_of(id: u64) -> usize {
    let r = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    match r % 100 {
        0..=2 => 80_000 + (r as usize % 120_000),
        3..=12 => 8_000 + (r as usize % 52_000),
        _ => 2_000 + (r as usize % 6_000),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(count)) = (args.first(), args.get(1)) else {
        eprintln!("usage: store-fill DIR COUNT [WRITERS]");
        std::process::exit(2);
    };
    let count: u64 = count.parse()?;
    let writers: u64 = args.get(2).map(|w| w.parse()).transpose()?.unwrap_or(64);
    let store = Store::open(
        &PathBuf::from(dir),
        StoreOptions {
            min_free: 0,
            ..StoreOptions::default()
        },
    )?;
    let user = match store.user_get(USER).await? {
        Some(u) => u.id,
        None => {
            store.domain_add("example.test").await?;
            store
                .user_add(NewUser {
                    address: USER.into(),
                    display_name: "Bench".into(),
                    password_hash: "$argon2id$bench".into(),
                    quota_bytes: None,
                    quota_messages: None,
                })
                .await?
        }
    };
    // A second run into the same store brings new messages, not copies.
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs()
        << 24;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (store, next) = (store.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let id = next.fetch_add(1, Ordering::Relaxed);
                if id >= count {
                    return Ok::<(), postern_store::StoreError>(());
                }
                let raw = message(size_of(id), base + id, USER);
                let msg = NewMessage {
                    raw,
                    ..NewMessage::default()
                };
                for r in store
                    .deliver(msg, vec![DeliveryTarget::inbox(user)])
                    .await?
                {
                    r?;
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    store.shutdown().await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "store-fill: {count} messages in {secs:.1} s ({:.0}/s, {writers} writers)",
        count as f64 / secs
    );
    Ok(())
}
