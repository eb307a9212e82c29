//! The neighbour tables over rtnetlink: what `ip neigh` and `ip -6 neigh`
//! show. `/proc` has no file for IPv6 neighbours, and `net/arp` prints
//! incomplete and failed IPv4 neighbours alike (`0x0`), so the kernel is
//! asked directly: one `RTM_GETLINK` dump for the interface names, one
//! `RTM_GETNEIGH` dump for the neighbours of both families.
//!
//! Two halves, as in [`crate::diag`]: [`decode`] turns one netlink message
//! into a plain record and does no I/O (unit-tested on bytes), and
//! [`dump`] asks over a `NETLINK_ROUTE` socket the caller opened — in the
//! process's network namespace, since a netlink socket answers for the
//! namespace it was made in ([`crate::diag`] opens it there).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::Socket;

/// Why the neighbour tables could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NeighbourError {
    #[error("rtnetlink: {0}")]
    Netlink(String),
    #[error("rtnetlink: undecodable answer: {0}")]
    Undecodable(String),
}

/// One neighbour, as `ip neigh` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    pub address: IpAddr,
    /// Interface name (its index as text when the link dump lacked it).
    pub device: String,
    /// Link-layer address, none while unresolved.
    pub lladdr: Option<Vec<u8>>,
    /// `NUD_*` bits of the entry.
    pub state: u16,
    /// The neighbour announced itself as a router (`NTF_ROUTER`).
    pub router: bool,
}

/// The `NUD_*` states, in the order and words of `ip neigh`.
const STATES: [(u16, &str); 8] = [
    (0x01, "INCOMPLETE"),
    (0x02, "REACHABLE"),
    (0x04, "STALE"),
    (0x08, "DELAY"),
    (0x10, "PROBE"),
    (0x20, "FAILED"),
    (0x40, "NOARP"),
    (0x80, "PERMANENT"),
];
const NUD_NOARP: u16 = 0x40;

impl Neighbour {
    /// The state as `ip neigh` prints it: `REACHABLE`, `FAILED`,
    /// `PERMANENT`, several joined by `,`, `NONE` for none.
    pub fn state_name(&self) -> String {
        let words: Vec<String> = STATES
            .iter()
            .filter(|(bit, _)| self.state & bit != 0)
            .map(|(_, word)| (*word).to_string())
            .chain(
                Some(self.state & !0xff)
                    .filter(|rest| *rest != 0)
                    .map(|rest| format!("0x{rest:x}")),
            )
            .collect();
        if words.is_empty() {
            "NONE".into()
        } else {
            words.join(",")
        }
    }

    /// Whether `ip neigh` lists it by default: every state but NOARP (the
    /// multicast and loopback entries) and NONE.
    pub fn listed(&self) -> bool {
        self.state & 0xff & !NUD_NOARP != 0
    }

    /// The link-layer address as `aa:bb:…`, `-` when there is none.
    pub fn lladdr_text(&self) -> String {
        match &self.lladdr {
            Some(bytes) if !bytes.is_empty() => bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
            _ => "-".into(),
        }
    }

    /// One line of text: address, device, lladdr, state bits (hex),
    /// router (0/1), separated by tabs (a device name holds no blank);
    /// tests write records this way.
    #[cfg(test)]
    pub fn line(&self) -> String {
        format!(
            "{}\t{}\t{}\t{:x}\t{}",
            self.address,
            self.device,
            self.lladdr_text(),
            self.state,
            u8::from(self.router)
        )
    }
}

/// A record of [`Neighbour::line`]; `None` for a line of another shape.
#[cfg(test)]
pub fn parse_line(line: &str) -> Option<Neighbour> {
    use nom::Parser;
    use nom::bytes::complete::{is_not, tag};
    use nom::character::complete::{hex_digit1, one_of};
    use nom::combinator::{all_consuming, map_res};
    let field = || is_not::<_, _, nom::error::Error<&str>>("\t");
    let (_, (address, _, device, _, lladdr, _, state, _, router)) = all_consuming((
        map_res(field(), str::parse::<IpAddr>),
        tag("\t"),
        field(),
        tag("\t"),
        field(),
        tag("\t"),
        map_res(hex_digit1, |h| u16::from_str_radix(h, 16)),
        tag("\t"),
        one_of("01"),
    ))
    .parse(line)
    .ok()?;
    let lladdr = match lladdr {
        "-" => None,
        text => Some(
            text.split(':')
                .map(|b| u8::from_str_radix(b, 16).ok().filter(|_| b.len() == 2))
                .collect::<Option<Vec<u8>>>()?,
        ),
    };
    Some(Neighbour {
        address,
        device: device.to_string(),
        lladdr,
        state,
        router: router == '1',
    })
}

/// What one netlink message of a dump said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A neighbour; its device is the interface index until named.
    Neighbour { ifindex: u32, neighbour: Neighbour },
    /// An interface and its name.
    Link { index: u32, name: String },
    /// The dump is complete.
    Done,
    /// The kernel refused the request.
    Refused(String),
    /// Something else (a neighbour of another family, a proxy entry).
    Other,
}

/// Decodes one whole netlink message (header included).
pub fn decode(bytes: &[u8]) -> Result<(u32, Answer), NeighbourError> {
    let message = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
        .map_err(|e| NeighbourError::Undecodable(e.to_string()))?;
    let sequence = message.header.sequence_number;
    let answer = match message.payload {
        NetlinkPayload::Done(_) => Answer::Done,
        NetlinkPayload::Error(error) => match error.code {
            Some(_) => Answer::Refused(error.to_io().to_string()),
            None => Answer::Other,
        },
        NetlinkPayload::Overrun(_) => Answer::Refused("the kernel's answer overran".into()),
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewNeighbour(message)) => {
            neighbour_of(&message)
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(message)) => link_of(&message),
        _ => Answer::Other,
    };
    Ok((sequence, answer))
}

fn neighbour_of(message: &NeighbourMessage) -> Answer {
    let mut address = None;
    let mut lladdr = None;
    for attribute in &message.attributes {
        match attribute {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(a)) => {
                address = Some(IpAddr::V4(*a));
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet6(a)) => {
                address = Some(IpAddr::V6(*a));
            }
            NeighbourAttribute::LinkLayerAddress(bytes) => lladdr = Some(bytes.clone()),
            _ => {}
        }
    }
    let Some(address) = address else {
        return Answer::Other;
    };
    let header = &message.header;
    Answer::Neighbour {
        ifindex: header.ifindex,
        neighbour: Neighbour {
            address,
            device: header.ifindex.to_string(),
            lladdr,
            state: u16::from(header.state),
            router: header.flags.contains(NeighbourFlags::Router),
        },
    }
}

fn link_of(message: &LinkMessage) -> Answer {
    message
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::IfName(name) => Some(Answer::Link {
                index: message.header.index,
                name: name.clone(),
            }),
            _ => None,
        })
        .unwrap_or(Answer::Other)
}

/// A dump request of `message`, numbered `sequence`.
fn request(message: RouteNetlinkMessage, sequence: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = sequence;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
    packet.finalize();
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    bytes
}

/// Largest datagram read at once; dumps come in pieces of at most a page
/// or so, and a datagram larger than this is an error rather than cut.
const RECEIVE_BUFFER: usize = 64 * 1024;

/// Sends `message` as dump `sequence` and hands each answer to `each`
/// until the kernel says done.
fn dump_one(
    socket: &Socket,
    message: RouteNetlinkMessage,
    sequence: u32,
    mut each: impl FnMut(Answer),
) -> Result<(), NeighbourError> {
    let netlink = |e: io::Error| NeighbourError::Netlink(e.to_string());
    socket
        .send(&request(message, sequence), 0)
        .map_err(netlink)?;
    let mut buffer = vec![0u8; RECEIVE_BUFFER];
    loop {
        let size = {
            let mut space = &mut buffer[..];
            socket.recv(&mut space, 0).map_err(netlink)?
        };
        if size > buffer.len() {
            return Err(NeighbourError::Netlink(format!(
                "a message of {size} bytes did not fit the {RECEIVE_BUFFER}-byte buffer"
            )));
        }
        let mut rest = &buffer[..size];
        while !rest.is_empty() {
            let length = NetlinkBuffer::new_checked(rest)
                .map_err(|e| NeighbourError::Undecodable(e.to_string()))?
                .length() as usize;
            if length == 0 {
                break;
            }
            let (bytes, after) = rest.split_at(length.min(rest.len()));
            rest = after;
            let (number, answer) = decode(bytes)?;
            if number != sequence {
                continue;
            }
            match answer {
                Answer::Done => return Ok(()),
                Answer::Refused(why) => return Err(NeighbourError::Netlink(why)),
                answer => each(answer),
            }
        }
    }
}

/// The neighbours of `socket`'s namespace (a `NETLINK_ROUTE` socket,
/// bound and connected), both families, as `ip neigh` lists them (NOARP
/// and NONE entries left out), each with its device's name.
pub fn dump(socket: &Socket) -> Result<Vec<Neighbour>, NeighbourError> {
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut link = LinkMessage::default();
    link.header.interface_family = AddressFamily::Unspec;
    dump_one(socket, RouteNetlinkMessage::GetLink(link), 1, |answer| {
        if let Answer::Link { index, name } = answer {
            names.insert(index, name);
        }
    })?;
    let mut neighbours = Vec::new();
    let mut ask = NeighbourMessage::default();
    ask.header.family = AddressFamily::Unspec;
    dump_one(
        socket,
        RouteNetlinkMessage::GetNeighbour(ask),
        2,
        |answer| {
            if let Answer::Neighbour {
                ifindex,
                mut neighbour,
            } = answer
            {
                if let Some(name) = names.get(&ifindex) {
                    neighbour.device = name.clone();
                }
                if neighbour.listed() {
                    neighbours.push(neighbour);
                }
            }
        },
    )?;
    Ok(neighbours)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `RTM_NEWNEIGH` for `fd00::2` on interface 3, state 0x80
    /// (PERMANENT), router flag, lladdr 02:00:00:00:00:02, sequence 2 —
    /// laid out byte by byte as the kernel sends it.
    #[rustfmt::skip]
    const NEWNEIGH_V6: [u8; 60] = [
        // nlmsghdr: length 60, type RTM_NEWNEIGH (28), flags NLM_F_MULTI
        // (2), sequence 2, port 0
        60, 0, 0, 0, 28, 0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        // ndmsg: family AF_INET6 (10), pad, ifindex 3, state 0x80, flags
        // NTF_ROUTER (0x80), type 1
        10, 0, 0, 0, 3, 0, 0, 0, 0x80, 0, 0x80, 1,
        // NDA_DST (1), 20 bytes: fd00::2
        20, 0, 1, 0, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
        // NDA_LLADDR (2), 10 bytes + 2 of padding
        10, 0, 2, 0, 2, 0, 0, 0, 0, 2, 0, 0,
    ];

    #[test]
    fn decodes_an_ipv6_neighbour_from_the_kernels_bytes() {
        let (sequence, answer) = decode(&NEWNEIGH_V6).unwrap();
        assert_eq!(sequence, 2);
        let Answer::Neighbour { ifindex, neighbour } = answer else {
            panic!("{answer:?}");
        };
        assert_eq!(ifindex, 3);
        assert_eq!(neighbour.address, "fd00::2".parse::<IpAddr>().unwrap());
        assert_eq!(neighbour.lladdr_text(), "02:00:00:00:00:02");
        assert_eq!(neighbour.state_name(), "PERMANENT");
        assert!(neighbour.router && neighbour.listed());
    }

    #[test]
    fn failed_and_noarp_states_read_as_ip_neigh_says() {
        let mut bytes = NEWNEIGH_V6;
        bytes[24] = 0x20; // NUD_FAILED
        bytes[26] = 0;
        let (_, Answer::Neighbour { neighbour, .. }) = decode(&bytes).unwrap() else {
            panic!();
        };
        assert_eq!(neighbour.state_name(), "FAILED");
        assert!(neighbour.listed() && !neighbour.router);
        bytes[24] = 0x40; // NUD_NOARP: multicast, not listed
        let (_, Answer::Neighbour { neighbour, .. }) = decode(&bytes).unwrap() else {
            panic!();
        };
        assert!(!neighbour.listed());
        bytes[24] = 0;
        let (_, Answer::Neighbour { neighbour, .. }) = decode(&bytes).unwrap() else {
            panic!();
        };
        assert_eq!(neighbour.state_name(), "NONE");
    }

    #[test]
    fn done_error_and_links_are_told_apart() {
        // NLMSG_DONE with its 4-byte status.
        let done = [20, 0, 0, 0, 3, 0, 2, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(decode(&done).unwrap(), (7, Answer::Done));
        // NLMSG_ERROR -EPERM (-1) and the request's header.
        let mut error = vec![36, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0];
        error.extend((-1i32).to_ne_bytes());
        error.extend([16, 0, 0, 0, 30, 0, 1, 3, 5, 0, 0, 0, 0, 0, 0, 0]);
        let (_, answer) = decode(&error).unwrap();
        assert!(matches!(answer, Answer::Refused(_)), "{answer:?}");
        // RTM_NEWLINK of index 3 named "d0".
        let mut link = vec![40, 0, 0, 0, 16, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        link.extend([0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        link.extend([7, 0, 3, 0, b'd', b'0', 0, 0]);
        assert_eq!(
            decode(&link).unwrap(),
            (
                1,
                Answer::Link {
                    index: 3,
                    name: "d0".into()
                }
            )
        );
    }

    #[test]
    fn truncated_and_garbage_bytes_are_errors_not_panics() {
        for cut in 0..NEWNEIGH_V6.len() {
            let _ = decode(&NEWNEIGH_V6[..cut]);
        }
        assert!(decode(b"garbage").is_err());
        let mut lying = NEWNEIGH_V6;
        lying[0] = 200; // longer than the bytes
        assert!(decode(&lying).is_err());
    }

    #[test]
    fn a_record_survives_its_line() {
        let (_, Answer::Neighbour { neighbour, .. }) = decode(&NEWNEIGH_V6).unwrap() else {
            panic!();
        };
        let line = neighbour.line();
        assert_eq!(line, "fd00::2\t3\t02:00:00:00:00:02\t80\t1");
        assert_eq!(parse_line(&line), Some(neighbour.clone()));
        let unresolved = Neighbour {
            lladdr: None,
            state: 0x21,
            router: false,
            ..neighbour
        };
        assert_eq!(parse_line(&unresolved.line()), Some(unresolved));
        for bad in [
            "",
            "x\ty",
            "fd00::2\td0\tzz\t80\t1",
            "fd00::2\td0\t-\t80\t2",
        ] {
            assert_eq!(parse_line(bad), None, "{bad:?}");
        }
    }
}
