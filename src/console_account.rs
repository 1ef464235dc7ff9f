//! The binary's side of the web console's account pages
//! (`postern-web`'s `backend::Account`): scripts are judged by the quota
//! and the compiler ManageSieve uses (`postern_delivery::sieve`), and a
//! mailbox is written by `postern mailbox export`'s mbox writer.

use postern_delivery::SieveLimits;
use postern_store::SieveScript;
use postern_web::console::backend::{Account, BoxFuture, ScriptProblem};

use crate::mailbox_io;

pub struct ConsoleAccount {
    pub limits: SieveLimits,
}

impl Account for ConsoleAccount {
    fn check_script(
        &self,
        existing: Vec<SieveScript>,
        name: String,
        script: String,
    ) -> BoxFuture<'_, Result<(), ScriptProblem>> {
        Box::pin(async move {
            let whole = |message: String| ScriptProblem {
                line: 0,
                column: 0,
                message,
            };
            let size = script.len() as u64;
            if let Some(q) = postern_delivery::sieve::quota(&self.limits, &existing, &name, size) {
                return Err(whole(q.describe(&self.limits)));
            }
            // Off the async threads: a large script takes a while.
            let limits = self.limits.clone();
            let checked = tokio::task::spawn_blocking(move || {
                postern_delivery::sieve::check(&script, &limits)
            })
            .await;
            match checked {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(ScriptProblem {
                    line: e.line,
                    column: e.column,
                    message: e.message,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "the script checker failed");
                    Err(whole("the script could not be checked".into()))
                }
            }
        })
    }

    fn forwarding(&self) -> bool {
        self.limits.max_redirects > 0
    }

    fn script_limits(&self) -> (usize, usize) {
        (self.limits.max_script_bytes, self.limits.max_scripts)
    }

    fn mbox_message(&self, out: &mut Vec<u8>, raw: &[u8], internal_date: i64, flags: &[String]) {
        // Writing into a Vec cannot fail.
        let _ = mailbox_io::write_mbox_message(out, raw, "MAILER-DAEMON", internal_date, flags);
    }
}
