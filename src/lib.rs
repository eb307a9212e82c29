//! netmonitor: what one Linux process does on the network, read from `/proc`.
//!
//! One tick flows one way (docs/design.md): [`plan`] decides what a tab
//! needs, [`tick`] reads it through [`source`] (the filesystem) and
//! [`diag`] (netlink) into a [`snapshot`], [`parse`] turns text into
//! records, [`tabs`] build a screen from this snapshot and what the last
//! one left, and [`render`] or [`report`] print it. [`session`] is the
//! pure state machine of the prompt, driven by [`repl`]; [`batch`] prints
//! ticks without a prompt; [`capture`] writes what was read. The words all
//! of them share live in [`vocab`].
//!
//! Modules are private unless tests, benches, examples or fuzz targets
//! use them; the binary enters through [`app::main`].

mod accounting;
pub mod app;
mod batch;
mod capture;
mod cli;
pub mod closes;
pub mod command;
pub mod diag;
pub mod error;
mod exporter;
pub mod ledger;
mod memory;
mod neighbours;
pub mod parse;
mod plan;
pub mod render;
mod repl;
mod report;
pub mod session;
pub mod snapshot;
pub mod source;
pub mod tabs;
mod tick;
mod users;
pub mod vocab;
