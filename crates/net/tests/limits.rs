//! Connection limits: per-IP and global refusal with the handler's line,
//! and a freed slot taken by the next client.

use std::sync::Arc;
use std::time::Duration;

use postern_net::ConnLimits;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::support::{Greeter, read_line, spec, start, within};

const REFUSAL: &[u8] = b"421 4.7.0 too many connections\r\n";

async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    within(TcpStream::connect(addr)).await.expect("connect")
}

#[tokio::test]
async fn per_ip_limit_refuses_the_next_connection_with_the_refusal_line() {
    let limits = ConnLimits {
        max_per_ip: 2,
        ..ConnLimits::default()
    };
    let server = start(
        spec(false, limits),
        Arc::new(Greeter { refusal: REFUSAL }),
        None,
    )
    .await;

    let mut first = connect(server.addr).await;
    let mut second = connect(server.addr).await;
    assert_eq!(read_line(&mut first).await, "hi\r\n");
    assert_eq!(read_line(&mut second).await, "hi\r\n");

    let mut third = connect(server.addr).await;
    assert_eq!(
        read_line(&mut third).await,
        "421 4.7.0 too many connections\r\n"
    );
    let mut rest = Vec::new();
    within(third.read_to_end(&mut rest))
        .await
        .expect("read to EOF");
    assert!(rest.is_empty(), "closed after the refusal line");

    // Closing one gives its slot back once its handler has seen EOF.
    drop(first);
    within(async {
        loop {
            let mut next = connect(server.addr).await;
            if read_line(&mut next).await == "hi\r\n" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    drop(second);
    server.stop().await;
}

#[tokio::test]
async fn per_ip_refusal_without_a_line_closes_silently() {
    let limits = ConnLimits {
        max_per_ip: 1,
        ..ConnLimits::default()
    };
    let server = start(
        spec(false, limits),
        Arc::new(Greeter { refusal: b"" }),
        None,
    )
    .await;
    let mut first = connect(server.addr).await;
    assert_eq!(read_line(&mut first).await, "hi\r\n");
    let mut second = connect(server.addr).await;
    assert_eq!(read_line(&mut second).await, "");
    drop(first);
    server.stop().await;
}

#[tokio::test]
async fn global_limit_refuses_with_the_line_until_a_slot_frees() {
    let limits = ConnLimits {
        max_connections: 1,
        ..ConnLimits::default()
    };
    let server = start(
        spec(false, limits),
        Arc::new(Greeter { refusal: REFUSAL }),
        None,
    )
    .await;

    let mut first = connect(server.addr).await;
    assert_eq!(read_line(&mut first).await, "hi\r\n");

    // Full: the next client is told so at once, and closed.
    let mut second = connect(server.addr).await;
    assert_eq!(read_line(&mut second).await.as_bytes(), REFUSAL);
    let mut byte = [0u8; 1];
    assert_eq!(
        within(second.read(&mut byte)).await.expect("read"),
        0,
        "closed after the refusal"
    );

    // Once the first leaves, a new client gets in (bounded retries: the slot
    // is given back when the first connection's task notices the close).
    drop(first);
    let mut greeted = false;
    for _ in 0..50 {
        let mut third = connect(server.addr).await;
        if read_line(&mut third).await == "hi\r\n" {
            greeted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(greeted, "a freed slot is used again");
    server.stop().await;
}

/// Blocks exactly one address.
struct BlockOne(std::net::IpAddr);

impl postern_net::Gate for BlockOne {
    fn is_blocked(&self, ip: std::net::IpAddr) -> bool {
        ip == self.0
    }
}

#[tokio::test]
async fn a_blocked_client_gets_the_blocked_line_and_others_are_served() {
    for (blocked, expect) in [("127.0.0.1", "blocked\r\n"), ("192.0.2.1", "hi\r\n")] {
        let gate = Arc::new(BlockOne(blocked.parse().expect("ip")));
        let bound = postern_net::bind(spec(false, ConnLimits::default()))
            .await
            .expect("bind")
            .with_gate(gate);
        let addr = bound.local_addr();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let tracker = tokio_util::task::TaskTracker::new();
        let handler = Arc::new(Greeter { refusal: REFUSAL });
        tokio::spawn(bound.serve(handler, None, shutdown.clone(), tracker.clone()));
        let mut client = connect(addr).await;
        assert_eq!(
            read_line(&mut client).await,
            expect,
            "gate blocks {blocked}"
        );
        if expect == "blocked\r\n" {
            let mut rest = Vec::new();
            within(client.read_to_end(&mut rest)).await.expect("EOF");
            assert!(rest.is_empty(), "closed after the line");
        }
        shutdown.cancel();
    }
}
