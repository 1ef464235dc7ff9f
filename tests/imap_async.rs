//! IMAP through async-imap, a real Rust client library: TLS login, SELECT,
//! FETCH of a message delivered over SMTP (sent with lettre), and IDLE woken
//! by the next delivery.

use std::sync::Arc;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use futures_util::TryStreamExt;
use lettre::address::Envelope;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::smtp::mail_env;
use crate::support::{Env, Server};

/// Sends `raw` to ann@example.org through the MX listener at `addr`.
async fn deliver(addr: &str, raw: &[u8]) {
    let port: u16 = addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .expect("port");
    let t = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let from: Address = "sender@elsewhere.test".parse().expect("addr");
    let to: Address = "ann@example.org".parse().expect("addr");
    t.send_raw(&Envelope::new(Some(from), vec![to]).expect("envelope"), raw)
        .await
        .expect("delivered");
}

/// An async-imap session over implicit TLS (993), logged in.
pub async fn imaps_login(
    env: &Env,
    server: &Server,
    user: &str,
    password: &str,
) -> async_imap::Session<tokio_rustls::client::TlsStream<TcpStream>> {
    postern_net::install_default_crypto_provider();
    let tcp = TcpStream::connect(server.addr("imaps"))
        .await
        .expect("connect");
    let config = postern_net::client_config_trusting(env.cert()).expect("tls config");
    let name = ServerName::try_from("localhost").expect("name");
    let tls = TlsConnector::from(Arc::clone(&config))
        .connect(name, tcp)
        .await
        .expect("handshake");
    let mut client = async_imap::Client::new(tls);
    let greeting = client
        .read_response()
        .await
        .expect("read")
        .expect("greeting");
    assert!(
        format!("{:?}", greeting.parsed()).contains("Ok"),
        "greeting"
    );
    client
        .login(user, password)
        .await
        .map_err(|(e, _)| e)
        .expect("login")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_imap_reads_mail_and_is_woken_from_idle_by_new_mail() {
    postern_net::install_default_crypto_provider();
    let (env, server) = mail_env();
    deliver(
        &server.addr("smtp"),
        b"From: sender@elsewhere.test\r\nSubject: first\r\n\r\nbody of first\r\n",
    )
    .await;

    let mut session = imaps_login(&env, &server, "ann@example.org", "ann password").await;
    let mailbox = session.select("INBOX").await.expect("select");
    assert_eq!(mailbox.exists, 1);
    let fetched: Vec<_> = session
        .fetch("1", "(UID ENVELOPE BODY.PEEK[])")
        .await
        .expect("fetch")
        .try_collect()
        .await
        .expect("fetch stream");
    assert_eq!(fetched.len(), 1);
    let envelope = fetched[0].envelope().expect("envelope");
    assert_eq!(envelope.subject.as_deref(), Some(&b"first"[..]));
    let body = fetched[0].body().expect("body");
    // lettre ends DATA with CRLF "." CRLF, adding an empty last line.
    assert!(
        body.ends_with(b"body of first\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(body)
    );

    let mut idle = session.idle();
    idle.init().await.expect("IDLE");
    let (wait, _stop) = idle.wait_with_timeout(Duration::from_secs(15));
    let sender = {
        let addr = server.addr("smtp");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            deliver(
                &addr,
                b"From: sender@elsewhere.test\r\nSubject: second\r\n\r\nhi\r\n",
            )
            .await;
        })
    };
    let woken = wait.await.expect("idle wait");
    match woken {
        IdleResponse::NewData(data) => {
            let text = format!("{:?}", data.parsed());
            assert!(text.contains("Exists(2)"), "{text}");
        }
        other => panic!("IDLE was not woken by the delivery: {other:?}"),
    }
    sender.await.expect("sender");
    let mut session = idle.done().await.expect("DONE");
    session.logout().await.expect("logout");
}
