//! netmonitor: what one Linux process does on the network, read from `/proc`.
//!
//! Data flows one way: [`source`] reads files (the only module that touches
//! the filesystem), [`parse`] turns their text into records, [`tabs`] build
//! views from one snapshot (and the previous one), [`render`] turns views
//! into text, and [`session`] is the pure state machine that decides what to
//! show. [`repl`] is the thin driver that feeds it lines and ticks, and
//! [`cli`] and [`command`] say what the command line and a typed line mean.
//!
//! For scripts, [`batch`] prints a number of ticks without a prompt, as
//! text or through [`report`] (JSON, OpenMetrics) from the same screens,
//! and [`capture`] writes what [`source`] read into a replayable tree.

pub mod batch;
pub mod capture;
pub mod cli;
pub mod closes;
pub mod command;
pub mod diag;
pub mod error;
pub mod ledger;
pub mod parse;
pub mod render;
pub mod repl;
pub mod report;
pub mod session;
pub mod source;
pub mod tabs;
