//! SMTP bad input against the real binary over raw sockets: smuggling,
//! limits, order, pipelining, STARTTLS injection, slow clients, throttling,
//! BDAT, and random bytes. Each case checks the reply and that the server
//! (and, where the protocol allows, the connection) carries on.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::smtp::inbox;
use crate::support::{Env, Server};

const T: Duration = Duration::from_secs(10);

/// A raw SMTP client: send bytes, read whole replies.
struct Raw<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Raw<S> {
    async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(T, self.io.get_mut().write_all(bytes))
            .await
            .expect("write in time")
            .expect("write");
    }

    /// One whole reply (all its lines); "" when the server closed.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(T, self.io.read_line(&mut line))
                .await
                .expect("reply in time")
                .expect("read");
            if n == 0 {
                return all;
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    async fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }
}

async fn connect(addr: &str) -> Raw<TcpStream> {
    let tcp = tokio::time::timeout(T, TcpStream::connect(addr))
        .await
        .expect("connect in time")
        .expect("connect");
    let mut raw = Raw {
        io: BufReader::new(tcp),
    };
    let greeting = raw.reply().await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    raw
}

/// An MX session up to the point where DATA is accepted.
async fn at_data(server: &Server) -> Raw<TcpStream> {
    let mut c = connect(&server.addr("smtp")).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test>")
            .await
            .starts_with("250 2.1.0")
    );
    assert!(
        c.cmd("RCPT TO:<ann@example.org>")
            .await
            .starts_with("250 2.1.5")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    c
}

fn env_with(extra: &str) -> (Env, Server) {
    let env = Env::with_config(extra);
    env.ok(&["domain", "add", "example.org"]);
    env.ok_with(&["user", "add", "ann@example.org"], "ann password\n");
    let server = env.serve();
    (env, server)
}

#[tokio::test]
async fn bare_lf_and_cr_never_end_data_and_the_message_is_refused() {
    let (env, server) = env_with("");
    for ending in ["\n.\n", "\n.\r\n", "\r.\r", "\r\n.\n", "\r.\r\n"] {
        let mut c = at_data(&server).await;
        // The smuggled "second message" must never be seen as commands.
        let body = format!(
            "From: x@elsewhere.test\r\nSubject: smuggle\r\n\r\nfirst{ending}MAIL FROM:<evil@elsewhere.test>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n"
        );
        c.send(body.as_bytes()).await;
        let r = c.reply().await;
        assert!(r.starts_with("550 5.6.11 "), "{ending:?}: {r}");
        assert!(
            c.cmd("NOOP").await.starts_with("250"),
            "connection stays usable"
        );
        assert!(c.cmd("QUIT").await.starts_with("221"));
    }
    assert!(
        inbox(&env.data(), "ann@example.org").await.is_empty(),
        "nothing delivered, nothing smuggled"
    );
}

#[tokio::test]
async fn with_normalize_bare_line_ends_become_crlf_and_still_do_not_end_data() {
    let (env, server) = env_with("[smtp]\nbare_line_endings = \"normalize\"\n");
    let mut c = at_data(&server).await;
    c.send(b"From: x@elsewhere.test\r\nSubject: n\r\n\r\none\ntwo\n.\nthree\r\n.\r\n")
        .await;
    assert!(c.reply().await.starts_with("250 2.0.0"));
    let got = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(got.len(), 1, "one message, nothing smuggled");
    assert!(
        got[0].ends_with(b"\r\n\r\none\r\ntwo\r\n.\r\nthree\r\n"),
        "{}",
        String::from_utf8_lossy(&got[0])
    );
}

#[tokio::test]
async fn dot_stuffing_is_undone_and_a_lone_dot_ends_an_empty_body() {
    let (env, server) = env_with("");
    let mut c = at_data(&server).await;
    c.send(b"From: x@elsewhere.test\r\nSubject: dots\r\n\r\n..leading dot\r\n...two\r\n.\r\n")
        .await;
    assert!(c.reply().await.starts_with("250"));
    assert!(c.cmd("MAIL FROM:<>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<ann@example.org>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send(b".\r\n").await;
    // The lone dot ended the (empty) message: it is answered, and refused
    // since it has no From (RFC 5322 §3.6).
    assert!(c.reply().await.starts_with("550 5.7.1"));
    let got = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(got.len(), 1);
    assert!(got[0].ends_with(b"\r\n\r\n.leading dot\r\n..two\r\n"));
}

#[tokio::test]
async fn long_lines_big_messages_and_many_recipients_get_their_codes_and_the_connection_lives() {
    let (env, server) = env_with("[limits]\nmax_message_size = 20000\n");
    let mut c = connect(&server.addr("smtp")).await;
    c.cmd("EHLO client.test").await;
    let long = format!("NOOP {}", "x".repeat(600));
    assert!(
        c.cmd(&long).await.starts_with("500 5.5.2"),
        "command line over 512"
    );
    assert!(c.cmd("NOOP").await.starts_with("250"));
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test> SIZE=999999")
            .await
            .starts_with("552 5.3.4")
    );
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test> SIZE=1000")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("RCPT TO:<ann@example.org>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    let big = format!(
        "From: x@elsewhere.test\r\nSubject: big\r\n\r\n{}.\r\n",
        "0123456789012345678901234567890123456789\r\n".repeat(1000)
    );
    c.send(big.as_bytes()).await;
    assert!(
        c.reply().await.starts_with("552 5.3.4"),
        "over the size limit, after reading to the end"
    );
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test>")
            .await
            .starts_with("250"),
        "the connection is usable"
    );
    assert!(c.cmd("RCPT TO:<ann@example.org>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send(
        format!(
            "From: x@elsewhere.test\r\nSubject: wide\r\n\r\n{}\r\n.\r\n",
            "y".repeat(1200)
        )
        .as_bytes(),
    )
    .await;
    assert!(
        c.reply().await.starts_with("500 5.5.2"),
        "text line over 1000"
    );
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test>")
            .await
            .starts_with("250")
    );
    for i in 0..100 {
        assert!(
            c.cmd(&format!("RCPT TO:<ann+{i}@example.org>"))
                .await
                .starts_with("250"),
            "rcpt {i}"
        );
    }
    assert!(
        c.cmd("RCPT TO:<ann+100@example.org>")
            .await
            .starts_with("452 4.5.3")
    );
    assert!(c.cmd("RSET").await.starts_with("250"));
    assert!(inbox(&env.data(), "ann@example.org").await.is_empty());
}

#[tokio::test]
async fn commands_out_of_order_bad_addresses_and_garbage_are_refused_then_too_many_errors_close() {
    let (_env, server) = env_with("");
    let mut c = connect(&server.addr("smtp")).await;
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test>")
            .await
            .starts_with("503 5.5.1"),
        "MAIL before EHLO"
    );
    c.cmd("EHLO client.test").await;
    assert!(
        c.cmd("RCPT TO:<ann@example.org>")
            .await
            .starts_with("503 5.5.1"),
        "RCPT before MAIL"
    );
    assert!(
        c.cmd("DATA").await.starts_with("503 5.5.1"),
        "DATA before MAIL"
    );
    assert!(
        c.cmd("MAIL FROM:<a b@c>").await.starts_with("501 5.1.3"),
        "bad address"
    );
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test> FOO=BAR")
            .await
            .starts_with("555 5.5.4"),
        "unknown parameter"
    );
    assert!(
        c.cmd("FROB").await.starts_with("500 5.5.1"),
        "unknown command"
    );
    c.send(b"NO\0OP\r\n").await;
    assert!(c.reply().await.starts_with("50"), "NUL byte");
    c.send(b"MAIL FROM:<\xff\xfe@elsewhere.test>\r\n").await;
    assert!(c.reply().await.starts_with("50"), "invalid UTF-8");
    assert!(
        c.cmd("VRFY ann@example.org").await.starts_with("252"),
        "VRFY discloses nothing"
    );
    let mut last = String::new();
    for _ in 0..5 {
        last = c.cmd("FROB").await;
        if last.starts_with("421") {
            break;
        }
    }
    assert!(last.starts_with("421 4.7.0"), "too many errors: {last}");
    assert_eq!(c.reply().await, "", "and the server closed the connection");
    let mut again = connect(&server.addr("smtp")).await;
    assert!(
        again.cmd("NOOP").await.starts_with("250"),
        "the server lives on"
    );
}

#[tokio::test]
async fn pipelined_commands_get_their_replies_in_order() {
    let (env, server) = env_with("");
    let mut c = connect(&server.addr("smtp")).await;
    c.send(b"EHLO client.test\r\nMAIL FROM:<x@elsewhere.test>\r\nRCPT TO:<ann@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\nFrom: x@elsewhere.test\r\nSubject: p\r\n\r\npipelined\r\n.\r\nQUIT\r\n").await;
    let replies: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..7 {
            v.push(c.reply().await);
        }
        v
    };
    let codes: Vec<&str> = replies
        .iter()
        .map(|r| r.lines().last().unwrap_or("").get(..3).unwrap_or(""))
        .collect();
    assert_eq!(
        codes,
        ["250", "250", "250", "550", "354", "250", "221"],
        "{replies:?}"
    );
    assert_eq!(inbox(&env.data(), "ann@example.org").await.len(), 1);
}

#[tokio::test]
async fn plaintext_pipelined_after_starttls_is_discarded() {
    let (env, server) = env_with("");
    postern_net::install_default_crypto_provider();
    let tcp = TcpStream::connect(server.addr("submission"))
        .await
        .expect("connect");
    let mut c = Raw {
        io: BufReader::new(tcp),
    };
    c.reply().await;
    c.cmd("EHLO client.test").await;
    // The injected MAIL arrives in the same packet as STARTTLS (CVE-2011-0411).
    c.send(b"STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
        .await;
    assert!(c.reply().await.starts_with("220 2.0.0"));
    let tcp = c.io.into_inner();
    let cert = env.cert();
    let config = postern_net::client_config_trusting(&cert).expect("config");
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(Arc::clone(&config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let mut c = Raw {
        io: BufReader::new(tls),
    };
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(
        ehlo.starts_with("250-"),
        "the first reply after TLS answers our EHLO: {ehlo}"
    );
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(
        c.cmd("RCPT TO:<ann@example.org>")
            .await
            .starts_with("503 5.5.1"),
        "the injected MAIL was never run"
    );
}

#[tokio::test]
async fn a_slow_client_cannot_hold_a_connection_past_the_command_timeout() {
    let (_env, server) = env_with("[smtp]\ncommand_timeout_secs = 2\n");
    let mut c = connect(&server.addr("smtp")).await;
    let started = std::time::Instant::now();
    let mut closed = String::new();
    for b in b"EHLO slowly-but-surely.example.test"
        .iter()
        .cycle()
        .take(40)
    {
        c.io.get_mut().write_all(&[*b]).await.ok();
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut line = String::new();
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), c.io.read_line(&mut line)).await
            && n > 0
        {
            closed = line;
            break;
        }
    }
    assert!(closed.starts_with("421 4.4.2"), "timed out: {closed:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "closed near the 2 s timeout"
    );
}

#[tokio::test]
async fn auth_failures_lock_the_address_out_with_454() {
    let (env, server) = env_with("[auth]\nlockout_after = 2\nfailures_before_delay = 10\n");
    postern_net::install_default_crypto_provider();
    let tcp = TcpStream::connect(server.addr("submissions"))
        .await
        .expect("connect");
    let config = postern_net::client_config_trusting(env.cert()).expect("config");
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .expect("handshake");
    let mut c = Raw {
        io: BufReader::new(tls),
    };
    c.reply().await;
    c.cmd("EHLO client.test").await;
    // "ann@example.org\0ann@example.org\0wrong", base64.
    let wrong = "AGFubkBleGFtcGxlLm9yZwB3cm9uZw==";
    assert!(
        c.cmd(&format!("AUTH PLAIN {wrong}"))
            .await
            .starts_with("535 5.7.8")
    );
    assert!(
        c.cmd(&format!("AUTH PLAIN {wrong}"))
            .await
            .starts_with("535 5.7.8")
    );
    // Locked out now, even with the right password.
    let right = "AGFubkBleGFtcGxlLm9yZwBhbm4gcGFzc3dvcmQ=";
    assert!(
        c.cmd(&format!("AUTH PLAIN {right}"))
            .await
            .starts_with("454 4.7.0")
    );
    assert!(c.cmd("AUTH PLAIN").await.starts_with("334"));
    assert!(c.cmd("*").await.starts_with("501 5.7.0"), "* cancels");
}

#[tokio::test]
async fn bdat_chunks_are_counted_and_refused_without_a_transaction() {
    let (env, server) = env_with("");
    let mut c = connect(&server.addr("smtp")).await;
    c.cmd("EHLO client.test").await;
    c.send(b"BDAT 5\r\nhello").await;
    assert!(
        c.reply().await.starts_with("503 5.5.1"),
        "no transaction: chunk read, then refused"
    );
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test> BODY=BINARYMIME")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("RCPT TO:<ann@example.org>").await.starts_with("250"));
    assert!(
        c.cmd("DATA").await.starts_with("503 5.5.1"),
        "BINARYMIME needs BDAT"
    );
    let part1 = b"From: x@elsewhere.test\r\nSubject: chunks\r\n\r\nbinary \0 and bare \n lines ";
    c.send(format!("BDAT {}\r\n", part1.len()).as_bytes()).await;
    c.send(part1).await;
    assert!(c.reply().await.starts_with("250"));
    c.send(b"BDAT 7 LAST\r\nend\r\n\r\n").await;
    assert!(c.reply().await.starts_with("250 2.0.0"));
    let got = inbox(&env.data(), "ann@example.org").await;
    assert!(
        got[0].ends_with(b"binary \0 and bare \n lines end\r\n\r\n"),
        "BDAT content is taken as is: {:?}",
        String::from_utf8_lossy(&got[0])
    );
}

#[tokio::test]
async fn random_bytes_never_bring_the_server_down() {
    let (_env, server) = env_with("");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..20 {
        let tcp = TcpStream::connect(server.addr("smtp"))
            .await
            .expect("connect");
        let mut raw = Raw {
            io: BufReader::new(tcp),
        };
        raw.reply().await;
        let mut junk = vec![0u8; 4096];
        for b in junk.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = (seed >> 24) as u8;
        }
        let _ = raw.io.get_mut().write_all(&junk).await;
    }
    let mut c = connect(&server.addr("smtp")).await;
    assert!(c.cmd("NOOP").await.starts_with("250"), "still serving");
}

#[tokio::test]
async fn bad_input_gets_the_same_replies_pipelined_and_one_by_one() {
    let (env, server) = env_with("[limits]\nmax_message_size = 20000\n");
    let long = format!("NOOP {}\r\n", "x".repeat(600));
    let big = format!(
        "From: x@elsewhere.test\r\nSubject: big\r\n\r\n{}.\r\n",
        "0123456789012345678901234567890123456789\r\n".repeat(1000)
    );
    // Each step draws exactly one reply.
    let script: Vec<(&[u8], &str)> = vec![
        (b"EHLO client.test\r\n", "250"),
        (long.as_bytes(), "500"),
        (b"RCPT TO:<ann@example.org>\r\n", "503"),
        (b"MAIL FROM:<a b@c>\r\n", "501"),
        (b"MAIL FROM:<x@elsewhere.test> SIZE=999999\r\n", "552"),
        (b"MAIL FROM:<x@elsewhere.test>\r\n", "250"),
        (b"RCPT TO:<nobody@example.org>\r\n", "550"),
        (b"RCPT TO:<victim@remote.test>\r\n", "550"),
        (b"RCPT TO:<ann@example.org>\r\n", "250"),
        (b"DATA\r\n", "354"),
        (
            b"From: x@elsewhere.test\r\nSubject: s\r\n\r\nx\n.\nMAIL FROM:<evil@elsewhere.test>\r\n.\r\n",
            "550",
        ),
        (b"MAIL FROM:<x@elsewhere.test>\r\n", "250"),
        (b"RCPT TO:<ann@example.org>\r\n", "250"),
        (b"DATA\r\n", "354"),
        (big.as_bytes(), "552"),
        (b"NO\0OP\r\n", "500"),
        (b"VRFY ann\r\n", "252"),
        (b"MAIL FROM:<x@elsewhere.test>\r\n", "250"),
        (b"RCPT TO:<ann@example.org>\r\n", "250"),
        (b"DATA\r\n", "354"),
        (b"From: x@elsewhere.test\r\nSubject: fine\r\n\r\n..dot\r\n.\r\n", "250"),
        (b"QUIT\r\n", "221"),
    ];
    let want: Vec<&str> = script.iter().map(|(_, code)| *code).collect();
    let code = |r: String| {
        r.lines()
            .last()
            .unwrap_or("")
            .get(..3)
            .unwrap_or("")
            .to_string()
    };

    let mut one = connect(&server.addr("smtp")).await;
    let mut one_by_one = Vec::new();
    for (bytes, _) in &script {
        one.send(bytes).await;
        one_by_one.push(code(one.reply().await));
    }
    assert_eq!(one_by_one, want, "one command at a time");

    let mut pipe = connect(&server.addr("smtp")).await;
    let all: Vec<u8> = script.iter().flat_map(|(b, _)| b.iter().copied()).collect();
    pipe.send(&all).await;
    let mut pipelined = Vec::new();
    for _ in &script {
        pipelined.push(code(pipe.reply().await));
    }
    assert_eq!(pipelined, want, "everything in one write");
    let got = inbox(&env.data(), "ann@example.org").await;
    assert_eq!(got.len(), 2, "only the two good messages, once per run");
    assert!(
        got.iter()
            .all(|m| m.ends_with(b"Subject: fine\r\n\r\n.dot\r\n"))
    );
}

#[tokio::test]
async fn connection_limits_answer_421_4_3_2() {
    for limits in [
        "[limits]\nmax_connections_per_ip = 1\n",
        "[limits]\nmax_connections = 1\nmax_connections_per_ip = 1\n",
    ] {
        let (_env, server) = env_with(limits);
        let mut first = connect(&server.addr("smtp")).await;
        let tcp = TcpStream::connect(server.addr("smtp"))
            .await
            .expect("connect");
        let mut second = Raw {
            io: BufReader::new(tcp),
        };
        let refused = second.reply().await;
        assert!(refused.starts_with("421 4.3.2 "), "{limits}: {refused}");
        assert_eq!(second.reply().await, "", "and closed");
        assert!(
            first.cmd("NOOP").await.starts_with("250"),
            "the first one is served"
        );
    }
}

#[tokio::test]
async fn ten_thousand_pipelined_noop_and_rset_end_in_421_4_7_0_and_mail_resets_the_count() {
    let (env, server) =
        env_with("[smtp]\nmax_junk_commands = 20\njunk_before_delay = 10\njunk_max_delay_ms = 1\n");
    let mut c = connect(&server.addr("smtp")).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    for _ in 0..15 {
        assert!(c.cmd("NOOP").await.starts_with("250"));
    }
    // A delivered message starts the count again.
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("RCPT TO:<ann@example.org>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send(b"From: x@elsewhere.test\r\nSubject: between the junk\r\n\r\nx\r\n.\r\n")
        .await;
    assert!(c.reply().await.starts_with("250 2.0.0"));

    let replies = flood(c, b"NOOP\r\nRSET\r\n".repeat(5000)).await;
    assert_eq!(replies.len(), 21, "{replies:?}");
    assert!(replies[..20].iter().all(|r| r.starts_with("250 2.0.0")));
    assert!(replies[20].starts_with("421 4.7.0 "), "{}", replies[20]);
    let mut again = connect(&server.addr("smtp")).await;
    assert!(again.cmd("NOOP").await.starts_with("250"), "still serving");
    assert_eq!(inbox(&env.data(), "ann@example.org").await.len(), 1);
}

/// Sends `bytes` in one go and reads reply lines until the server closes.
/// The bytes go out from their own task: once the server has closed,
/// writes fail, and that is expected.
async fn flood(c: Raw<TcpStream>, bytes: Vec<u8>) -> Vec<String> {
    let (read, mut write) = c.io.into_inner().into_split();
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&bytes).await;
        write
    });
    let mut replies = Vec::new();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        match tokio::time::timeout(T, read.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => replies.push(line),
            // End of stream, or a reset once the server dropped the rest.
            Ok(_) => break,
            Err(_) => panic!("the server neither answered nor closed: {replies:?}"),
        }
    }
    let _ = writer.await;
    replies
}

#[tokio::test]
async fn rcpts_far_past_the_recipient_limit_count_as_junk() {
    let (_env, server) = env_with("[smtp]\nmax_junk_commands = 20\n");
    let mut c = connect(&server.addr("smtp")).await;
    assert!(c.cmd("EHLO client.test").await.starts_with("250"));
    assert!(
        c.cmd("MAIL FROM:<x@elsewhere.test>")
            .await
            .starts_with("250")
    );
    let rcpts: String = (0..1000)
        .map(|i| format!("RCPT TO:<ann+{i}@example.org>\r\n"))
        .collect();
    let replies = flood(c, rcpts.into_bytes()).await;
    let codes: Vec<&str> = replies.iter().map(|r| r.get(..9).unwrap_or(r)).collect();
    // 100 accepted, 100 refused for later as a pipelining client may
    // overshoot, 20 more refused as junk, then the end.
    let mut want = vec!["250 2.1.5"; 100];
    want.extend(vec!["452 4.5.3"; 120]);
    want.push("421 4.7.0");
    assert_eq!(codes, want);
}
