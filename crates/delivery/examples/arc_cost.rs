//! What the ARC step costs a message without ARC fields, the usual case:
//! `mailauth::arc::verify` on a parsed message, next to mail-auth's parse
//! (which every message on port 25 gets anyway) and DKIM verification of
//! an unsigned message, per message (the best of five rounds); and the DNS
//! queries sent to the resolver, a socket that never answers (none).
//!
//! `cargo run -p postern-delivery --example arc_cost [N]` (N messages,
//! default 20000). Figures from the dev profile are relative: compare the
//! lines with each other, not with a release build.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use mail_auth::{AuthenticatedMessage, MessageAuthenticator};
use postern_delivery::mailauth::arc::{self, ArcChain};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("a loopback UDP socket");
    sock.set_nonblocking(true).expect("non-blocking socket");
    let addr = sock.local_addr().expect("its address");
    let auth = MessageAuthenticator(postern_net::dns::resolver(&[addr]).expect("resolver"));

    let mut raw = String::from(
        "Received: from a.test by mx.example.org; Mon, 7 Dec 2026 10:00:00 +0000\r\n\
         From: Ann <ann@origin.test>\r\nTo: bob@example.org\r\nSubject: hello there\r\n\
         Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@origin.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n",
    );
    for i in 0..80 {
        raw.push_str(&format!("line {i} of the body of an ordinary message\r\n"));
    }

    // The best of five rounds of each: the machine is shared, and the
    // least disturbed round is the closest to the step's own cost.
    let msg = AuthenticatedMessage::parse(raw.as_bytes()).expect("parses");
    let (mut parse, mut arc_step, mut dkim) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let (mut fields, mut none) = (0, 0);
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..n {
            let m = AuthenticatedMessage::parse(raw.as_bytes()).expect("parses");
            fields += m.headers.len();
        }
        parse = parse.min(t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            none += usize::from(arc::verify(&auth, &msg).await == ArcChain::None);
        }
        arc_step = arc_step.min(t.elapsed() / n);
        let t = Instant::now();
        for _ in 0..n {
            fields += auth.verify_dkim(&msg).await.len();
        }
        dkim = dkim.min(t.elapsed() / n);
    }
    let mut buf = [0u8; 512];
    let queries = std::iter::from_fn(|| sock.recv_from(&mut buf).ok()).count();
    println!(
        "message {} bytes, {n} runs ({fields} fields seen, {none} chains none)\n\
         parse (every message)         {parse:?}\n\
         arc::verify (no ARC fields)   {arc_step:?}\n\
         verify_dkim (unsigned)        {dkim:?}\n\
         DNS queries sent, all steps   {queries}",
        raw.len()
    );
}
