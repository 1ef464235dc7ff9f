//! Abuse defence's rows (migration 11): blocked client networks, the last
//! successful login per client, and greylisting's triplets and allowed
//! networks.
//!
//! The store does not judge addresses: networks arrive as the auth crate's
//! canonical text (`192.0.2.1`, `2001:db8::/64`), times as Unix seconds
//! chosen by the caller (so tests need no clock). Expired rows stop
//! counting in every query at once; `abuse_sweep` removes them later.

use rusqlite::{OptionalExtension, Row};

use crate::Store;
use crate::error::{Result, StoreError};

/// Who made a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockSource {
    /// The server, from counted abuse events.
    Auto,
    /// An administrator (`postern block add`).
    Manual,
}

impl BlockSource {
    /// The word stored and shown: `auto` or `manual`.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockSource::Auto => "auto",
            BlockSource::Manual => "manual",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(BlockSource::Auto),
            "manual" => Ok(BlockSource::Manual),
            other => Err(StoreError::Corrupt(format!("block source {other:?}"))),
        }
    }
}

/// One blocked network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    /// Canonical network text (an address alone for a single host).
    pub net: String,
    /// Why, for the admin (`postern block list`); never sent to clients.
    pub reason: String,
    pub source: BlockSource,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; `None`: until removed.
    pub expires: Option<i64>,
}

fn block_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String, i64, Option<i64>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

/// A greylisting triplet: client network, envelope sender, recipient (all
/// normalised by the caller; the null sender is the empty string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreylistTriplet {
    pub net: String,
    pub sender: String,
    pub recipient: String,
}

/// Greylisting's timing, in seconds, with the time of the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GreylistPolicy {
    pub now: i64,
    /// How long a new triplet is deferred.
    pub delay: i64,
    /// A triplet not retried within this starts again.
    pub retry_window: i64,
    /// How long a network that retried successfully skips greylisting.
    pub allow_for: i64,
}

/// What greylisting says about one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GreylistVerdict {
    /// The network is allowed (it retried successfully before).
    Allowed,
    /// This is the successful retry: accepted, and the network is allowed
    /// from now on.
    Passed,
    /// Try again later: at least this many seconds from now.
    Deferred { retry_in: i64 },
}

/// What `abuse_sweep` removes: expired blocks and allowances always, and
/// the rows older than these cut-offs (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbuseSweep {
    pub now: i64,
    /// Successful logins before this no longer protect a client.
    pub success_before: i64,
    /// Triplets first seen before this have left their retry window.
    pub greylist_before: i64,
}

impl Store {
    /// Blocks `block.net`, replacing an earlier block of the same network,
    /// except that an automatic block never replaces a manual one (the
    /// admin's decision stands). Returns whether the row was written.
    pub async fn block_add(&self, block: BlockRow) -> Result<bool> {
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx
                    .conn
                    .prepare_cached(
                        "INSERT INTO blocks (net, reason, source, created, expires)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT(net) DO UPDATE SET reason = excluded.reason,
                             source = excluded.source, created = excluded.created,
                             expires = excluded.expires
                         WHERE blocks.source = 'auto' OR excluded.source = 'manual'",
                    )?
                    .execute((
                        &block.net,
                        &block.reason,
                        block.source.as_str(),
                        block.created,
                        block.expires,
                    ))?;
                Ok(n > 0)
            })
            .await
    }

    /// Removes the block of exactly `net`; false if there was none.
    pub async fn block_delete(&self, net: &str) -> Result<bool> {
        let net = net.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                let n = ctx
                    .conn
                    .prepare_cached("DELETE FROM blocks WHERE net = ?1")?
                    .execute([&net])?;
                Ok(n > 0)
            })
            .await
    }

    /// The blocks in force at `now` (expired ones are left out, swept or
    /// not), oldest first.
    pub async fn blocks_active(&self, now: i64) -> Result<Vec<BlockRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT net, reason, source, created, expires FROM blocks
                 WHERE expires IS NULL OR expires > ?1 ORDER BY created, net",
            )?;
            let rows: Vec<_> = st
                .query_map([now], block_row)?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(net, reason, source, created, expires)| {
                    Ok(BlockRow {
                        net,
                        reason,
                        source: BlockSource::parse(&source)?,
                        created,
                        expires,
                    })
                })
                .collect()
        })
        .await
    }

    /// Records a successful login from `net` at `at` (the latest is kept).
    pub async fn auth_success_record(&self, net: &str, at: i64) -> Result<()> {
        let net = net.to_string();
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO auth_success (net, at) VALUES (?1, ?2)
                         ON CONFLICT(net) DO UPDATE SET at = max(at, excluded.at)",
                    )?
                    .execute((&net, at))?;
                Ok(())
            })
            .await
    }

    /// When `net` last logged in successfully, if it ever did (and the row
    /// was not swept).
    pub async fn auth_success_last(&self, net: &str) -> Result<Option<i64>> {
        let net = net.to_string();
        self.read(move |c| {
            Ok(
                c.prepare_cached("SELECT at FROM auth_success WHERE net = ?1")?
                    .query_row([&net], |r| r.get(0))
                    .optional()?,
            )
        })
        .await
    }

    /// Greylisting's decision for one triplet (postgrey's scheme):
    /// an allowed network passes (its allowance is renewed at most once a
    /// day, so a busy sender costs no write per message); a new triplet, or
    /// one whose retry window ran out, is recorded and deferred; a retry
    /// before the delay is deferred again (its first sight unchanged); a
    /// retry after it passes and allows its network for `allow_for`, whose
    /// other triplets are then no longer needed.
    pub async fn greylist_check(
        &self,
        t: GreylistTriplet,
        p: GreylistPolicy,
    ) -> Result<GreylistVerdict> {
        let net = t.net.clone();
        let until: Option<i64> = self
            .read(move |c| {
                Ok(
                    c.prepare_cached("SELECT until FROM greylist_allowed WHERE net = ?1")?
                        .query_row([&net], |r| r.get(0))
                        .optional()?,
                )
            })
            .await?;
        if let Some(until) = until
            && until > p.now
        {
            if until < p.now + p.allow_for - 86_400 {
                self.greylist_allow(t.net, p.now + p.allow_for).await?;
            }
            return Ok(GreylistVerdict::Allowed);
        }
        self.inner
            .writer
            .write(move |ctx| {
                let first: Option<i64> = ctx
                    .conn
                    .prepare_cached(
                        "SELECT first_seen FROM greylist
                         WHERE net = ?1 AND sender = ?2 AND recipient = ?3",
                    )?
                    .query_row((&t.net, &t.sender, &t.recipient), |r| r.get(0))
                    .optional()?;
                match first {
                    Some(first) if p.now - first > p.retry_window => {}
                    Some(first) if p.now - first < p.delay => {
                        return Ok(GreylistVerdict::Deferred {
                            retry_in: p.delay - (p.now - first),
                        });
                    }
                    Some(_) => {
                        ctx.conn
                            .prepare_cached(
                                "INSERT INTO greylist_allowed (net, until) VALUES (?1, ?2)
                                 ON CONFLICT(net) DO UPDATE SET until = excluded.until",
                            )?
                            .execute((&t.net, p.now + p.allow_for))?;
                        ctx.conn
                            .prepare_cached("DELETE FROM greylist WHERE net = ?1")?
                            .execute([&t.net])?;
                        return Ok(GreylistVerdict::Passed);
                    }
                    None => {}
                }
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO greylist (net, sender, recipient, first_seen)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(net, sender, recipient) DO UPDATE
                             SET first_seen = excluded.first_seen",
                    )?
                    .execute((&t.net, &t.sender, &t.recipient, p.now))?;
                Ok(GreylistVerdict::Deferred { retry_in: p.delay })
            })
            .await
    }

    async fn greylist_allow(&self, net: String, until: i64) -> Result<()> {
        self.inner
            .writer
            .write(move |ctx| {
                ctx.conn
                    .prepare_cached("UPDATE greylist_allowed SET until = ?2 WHERE net = ?1")?
                    .execute((&net, until))?;
                Ok(())
            })
            .await
    }

    /// Removes expired blocks and allowances, and logins and triplets older
    /// than their cut-offs, in one commit; returns how many rows went.
    pub async fn abuse_sweep(&self, s: AbuseSweep) -> Result<usize> {
        self.inner
            .writer
            .write(move |ctx| {
                let c = &ctx.conn;
                let mut n = c.execute(
                    "DELETE FROM blocks WHERE expires IS NOT NULL AND expires <= ?1",
                    [s.now],
                )?;
                n += c.execute("DELETE FROM greylist_allowed WHERE until <= ?1", [s.now])?;
                n += c.execute("DELETE FROM auth_success WHERE at < ?1", [s.success_before])?;
                n += c.execute(
                    "DELETE FROM greylist WHERE first_seen < ?1",
                    [s.greylist_before],
                )?;
                Ok(n)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OpenMode, StoreOptions};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            dir.path(),
            StoreOptions {
                mode: OpenMode::Admin,
                ..StoreOptions::default()
            },
        )
        .expect("open");
        (dir, store)
    }

    fn block(net: &str, source: BlockSource, expires: Option<i64>) -> BlockRow {
        BlockRow {
            net: net.into(),
            reason: format!("{} test", source.as_str()),
            source,
            created: 100,
            expires,
        }
    }

    #[tokio::test]
    async fn expired_blocks_stop_counting_before_the_sweep_removes_them() -> Result<()> {
        let (_d, s) = store();
        s.block_add(block("192.0.2.1", BlockSource::Auto, Some(200)))
            .await?;
        s.block_add(block("2001:db8::/64", BlockSource::Manual, None))
            .await?;
        assert_eq!(s.blocks_active(150).await?.len(), 2);
        let later = s.blocks_active(200).await?;
        assert_eq!(
            later,
            vec![block("2001:db8::/64", BlockSource::Manual, None)]
        );
        let swept = s
            .abuse_sweep(AbuseSweep {
                now: 200,
                success_before: 0,
                greylist_before: 0,
            })
            .await?;
        assert_eq!(swept, 1);
        assert!(!s.block_delete("192.0.2.1").await?, "already swept");
        assert!(s.block_delete("2001:db8::/64").await?);
        assert!(s.blocks_active(0).await?.is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn an_automatic_block_never_replaces_a_manual_one() -> Result<()> {
        let (_d, s) = store();
        assert!(
            s.block_add(block("192.0.2.1", BlockSource::Manual, None))
                .await?
        );
        assert!(
            !s.block_add(block("192.0.2.1", BlockSource::Auto, Some(500)))
                .await?
        );
        assert_eq!(s.blocks_active(0).await?[0].source, BlockSource::Manual);
        // The other way round the admin's block wins too.
        s.block_add(block("192.0.2.2", BlockSource::Auto, Some(500)))
            .await?;
        assert!(
            s.block_add(block("192.0.2.2", BlockSource::Manual, None))
                .await?
        );
        assert_eq!(s.blocks_active(600).await?.len(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn the_latest_login_is_kept() -> Result<()> {
        let (_d, s) = store();
        assert_eq!(s.auth_success_last("192.0.2.1").await?, None);
        s.auth_success_record("192.0.2.1", 50).await?;
        s.auth_success_record("192.0.2.1", 40).await?;
        assert_eq!(s.auth_success_last("192.0.2.1").await?, Some(50));
        Ok(())
    }

    #[tokio::test]
    async fn greylisting_defers_then_passes_then_allows_the_network() -> Result<()> {
        let (_d, s) = store();
        let t = |sender: &str| GreylistTriplet {
            net: "192.0.2.0/24".into(),
            sender: sender.into(),
            recipient: "ann@example.org".into(),
        };
        let at = |now| GreylistPolicy {
            now,
            delay: 300,
            retry_window: 86_400,
            allow_for: 35 * 86_400,
        };
        use GreylistVerdict::*;
        assert_eq!(
            s.greylist_check(t("a@x.net"), at(1000)).await?,
            Deferred { retry_in: 300 }
        );
        assert_eq!(
            s.greylist_check(t("a@x.net"), at(1100)).await?,
            Deferred { retry_in: 200 },
            "a retry too early keeps its first sight"
        );
        assert_eq!(s.greylist_check(t("a@x.net"), at(1300)).await?, Passed);
        assert_eq!(s.greylist_check(t("b@y.net"), at(1301)).await?, Allowed);
        let expired = 1300 + 35 * 86_400;
        assert_eq!(
            s.greylist_check(t("b@y.net"), at(expired)).await?,
            Deferred { retry_in: 300 },
            "the allowance ends"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_triplet_not_retried_within_the_window_starts_again() -> Result<()> {
        let (_d, s) = store();
        let t = GreylistTriplet {
            net: "2001:db8::/64".into(),
            sender: String::new(),
            recipient: "ann@example.org".into(),
        };
        let at = |now| GreylistPolicy {
            now,
            delay: 300,
            retry_window: 3600,
            allow_for: 86_400,
        };
        s.greylist_check(t.clone(), at(0)).await?;
        assert_eq!(
            s.greylist_check(t.clone(), at(4000)).await?,
            GreylistVerdict::Deferred { retry_in: 300 }
        );
        assert_eq!(
            s.greylist_check(t, at(4300)).await?,
            GreylistVerdict::Passed
        );
        Ok(())
    }
}
