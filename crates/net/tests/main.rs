//! Integration tests for `postern-net`: real sockets on 127.0.0.1 port 0,
//! real rustls clients, every wait bounded by a timeout. One binary, modules
//! per area.

mod limits;
mod listener;
mod starttls;
mod support;
mod tls;
