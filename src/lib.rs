//! audit-analyze: offline analysis of JSON-lines audit and access logs.
//!
//! The stages, each a module with plain data between them:
//! [`input`] (sources → lines) → [`parse`] (line → [`parse::Record`]) →
//! [`analyze`] (records → [`report::Report`], with the rules in [`detect`]) →
//! [`render`] (report → table or JSON). [`pipeline`] drives the first three;
//! [`cli`] turns arguments into a checked configuration. [`partial`] carries
//! an analysis between machines (`report --partial`, `merge`).

pub mod analyze;
pub mod blocks;
pub mod cli;
pub mod detect;
pub mod evidence;
pub mod filter;
pub mod format;
pub mod input;
pub mod nesting;
pub mod parse;
pub mod partial;
pub mod path;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod rules;
pub mod sanitize;
pub mod schema;
pub mod spill;
pub mod timeline;
pub mod timestamp;
