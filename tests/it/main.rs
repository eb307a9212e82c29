//! End-to-end tests, built into one binary: the real `netmonitor`
//! executable driven through its command line and stdin, against captured
//! `/proc` trees and against live network namespaces the tests create.

mod cli;
mod datagram_fixtures;
mod docs_claims;
mod exporter;
mod faults;
mod fixtures;
mod hostile_input;
mod live_big;
mod live_closes;
mod live_every_byte;
mod live_flows;
mod live_hostile;
mod live_namespace;
mod live_neighbours;
mod live_permissions;
mod live_sockets;
mod live_tcp;
mod live_tcp_source;
mod live_users;
mod narrow_terminal;
mod pinned_json;
mod piped;
mod scripts;
mod support;
mod terminal;
mod view_sockets;
