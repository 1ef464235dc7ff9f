//! STARTTLS: a plain connection upgraded in place, with the caller's duty
//! about buffered plaintext (CVE-2011-0411) honoured by the test driver.

use std::sync::Arc;

use postern_net::{ConnLimits, Connection, Handler, HandlerFuture, MaybeTlsStream, NetError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::{read_line, self_signed, spec, start, tls_connect, tls_connect_over, within};

/// A tiny protocol: `220 ready`, then `STARTTLS` → `220 go` + handshake,
/// then the TLS version line and echo.
struct StartTlsDriver;

impl Handler for StartTlsDriver {
    fn handle(&self, conn: Connection) -> HandlerFuture {
        Box::pin(async move {
            let Connection {
                stream,
                tls,
                tls_handshake_timeout,
                ..
            } = conn;
            let mut reader = BufReader::new(stream);
            reader.get_mut().write_all(b"220 ready\r\n").await?;
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            if line != "STARTTLS\r\n" {
                reader.get_mut().write_all(b"500 what\r\n").await?;
                return Ok(());
            }
            // CVE-2011-0411: anything pipelined after STARTTLS was sent in
            // the clear; refuse rather than carry it into the TLS session.
            if !reader.buffer().is_empty() {
                reader
                    .get_mut()
                    .write_all(b"554 pipelined STARTTLS\r\n")
                    .await?;
                return Ok(());
            }
            let tls = tls.ok_or("no TLS configured")?;
            reader.get_mut().write_all(b"220 go\r\n").await?;
            let mut stream = reader
                .into_inner()
                .starttls_within(&tls.acceptor(), tls_handshake_timeout)
                .await?;
            let info = stream.tls_info().ok_or("not TLS after STARTTLS")?;
            stream
                .write_all(format!("{}\r\n", info.version).as_bytes())
                .await?;
            echo(stream).await
        })
    }
}

async fn echo(mut stream: MaybeTlsStream) -> postern_net::HandlerResult {
    let mut buf = [0u8; 256];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

#[tokio::test]
async fn starttls_upgrades_a_plain_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = self_signed(dir.path());
    let server = start(
        spec(false, ConnLimits::default()),
        Arc::new(StartTlsDriver),
        Some(tls.clone()),
    )
    .await;

    let mut tcp = within(TcpStream::connect(server.addr))
        .await
        .expect("connect");
    assert_eq!(read_line(&mut tcp).await, "220 ready\r\n");
    within(tcp.write_all(b"STARTTLS\r\n")).await.expect("write");
    assert_eq!(read_line(&mut tcp).await, "220 go\r\n");
    let mut client = tls_connect_over(tcp, tls.cert_path()).await;
    assert_eq!(read_line(&mut client).await, "TLSv1.3\r\n");
    within(client.write_all(b"secret\r\n"))
        .await
        .expect("write");
    assert_eq!(read_line(&mut client).await, "secret\r\n");
    drop(client);
    server.stop().await;
}

#[tokio::test]
async fn plaintext_pipelined_after_starttls_is_not_carried_into_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = self_signed(dir.path());
    let server = start(
        spec(false, ConnLimits::default()),
        Arc::new(StartTlsDriver),
        Some(tls),
    )
    .await;

    let mut tcp = within(TcpStream::connect(server.addr))
        .await
        .expect("connect");
    assert_eq!(read_line(&mut tcp).await, "220 ready\r\n");
    within(tcp.write_all(b"STARTTLS\r\nRCPT TO:<evil@example.org>\r\n"))
        .await
        .expect("write");
    assert_eq!(read_line(&mut tcp).await, "554 pipelined STARTTLS\r\n");
    server.stop().await;
}

#[tokio::test]
async fn starttls_on_a_tls_stream_is_already_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = self_signed(dir.path());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let handler = postern_net::handler_fn(move |conn: Connection| {
        let tx = tx.lock().expect("lock").take();
        async move {
            let acceptor = conn.tls.as_ref().ok_or("no tls")?.acceptor();
            let result = conn.stream.starttls(&acceptor).await;
            if let Some(tx) = tx {
                let _ = tx.send(matches!(result, Err(NetError::AlreadyTls)));
            }
            Ok(())
        }
    });
    let server = start(
        spec(true, ConnLimits::default()),
        handler,
        Some(tls.clone()),
    )
    .await;
    let client = tls_connect(server.addr, tls.cert_path()).await;
    assert!(within(rx).await.expect("handler reported"));
    drop(client);
    server.stop().await;
}
