//! The accept loop: binding, what a handler is told about its connection,
//! handler errors, and shutdown draining the tracker.

use std::sync::Arc;
use std::time::Duration;

use postern_net::{ConnLimits, Connection, handler_fn, read_with_idle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Greeter, read_line, spec, start, within};

#[tokio::test]
async fn bind_port_zero_reports_the_real_port() {
    let bound = postern_net::bind(spec(false, ConnLimits::default()))
        .await
        .expect("bind");
    assert_ne!(bound.local_addr().port(), 0);
    assert!(bound.local_addr().ip().is_loopback());
}

#[tokio::test]
async fn binding_a_taken_port_names_the_listener_and_address() {
    let first = postern_net::bind(spec(false, ConnLimits::default()))
        .await
        .expect("bind");
    let mut taken = spec(false, ConnLimits::default());
    taken.addr = first.local_addr();
    let err = postern_net::bind(taken).await.expect_err("port in use");
    let text = err.to_string();
    assert!(
        text.contains("imap") && text.contains(&first.local_addr().to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn connection_knows_its_peer_local_address_and_listener() {
    let handler = handler_fn(|mut conn: Connection| async move {
        let line = format!(
            "{} {} {} {} {}\r\n",
            conn.listener,
            conn.peer,
            conn.local,
            conn.stream.is_tls(),
            conn.id > 0
        );
        conn.stream.write_all(line.as_bytes()).await?;
        Ok(())
    });
    let server = start(spec(false, ConnLimits::default()), handler, None).await;
    let mut tcp = within(TcpStream::connect(server.addr))
        .await
        .expect("connect");
    let expected = format!(
        "imap {} {} false true\r\n",
        tcp.local_addr().expect("local"),
        server.addr
    );
    assert_eq!(read_line(&mut tcp).await, expected);
    server.stop().await;
}

#[tokio::test]
async fn handler_error_ends_only_that_connection() {
    let handler = handler_fn(|mut conn: Connection| async move {
        conn.stream.write_all(b"oops\r\n").await?;
        Err("session failed".into())
    });
    let server = start(spec(false, ConnLimits::default()), handler, None).await;
    for _ in 0..3 {
        let mut tcp = within(TcpStream::connect(server.addr))
            .await
            .expect("connect");
        assert_eq!(read_line(&mut tcp).await, "oops\r\n");
        assert_eq!(read_line(&mut tcp).await, "", "closed after the error");
    }
    server.stop().await;
}

#[tokio::test]
async fn idle_timeout_is_passed_to_the_handler() {
    let limits = ConnLimits {
        idle_timeout: Duration::from_millis(100),
        ..ConnLimits::default()
    };
    let handler = handler_fn(|mut conn: Connection| async move {
        let mut buf = [0u8; 16];
        let idle = conn.idle_timeout;
        match read_with_idle(idle, conn.stream.read(&mut buf)).await {
            Err(timeout) => {
                conn.stream
                    .write_all(format!("{timeout}\r\n").as_bytes())
                    .await?
            }
            Ok(_) => conn.stream.write_all(b"read\r\n").await?,
        }
        Ok(())
    });
    let server = start(spec(false, limits), handler, None).await;
    let mut tcp = within(TcpStream::connect(server.addr))
        .await
        .expect("connect");
    assert_eq!(read_line(&mut tcp).await, "client idle for 100ms\r\n");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_accepting_and_the_tracker_drains() {
    let server = start(
        spec(false, ConnLimits::default()),
        Arc::new(Greeter { refusal: b"" }),
        None,
    )
    .await;
    let addr = server.addr;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut tcp = within(TcpStream::connect(addr)).await.expect("connect");
        assert_eq!(read_line(&mut tcp).await, "hi\r\n");
        clients.push(tcp);
    }

    // `stop` cancels, waits for the accept loop, closes and drains the
    // tracker: every session got the token and said goodbye.
    server.stop().await;
    for tcp in &mut clients {
        assert_eq!(read_line(tcp).await, "bye\r\n");
        let mut rest = Vec::new();
        within(tcp.read_to_end(&mut rest)).await.expect("EOF");
    }
    assert!(
        within(TcpStream::connect(addr)).await.is_err(),
        "listener socket is closed"
    );
}
