//! Scraping: what targets expose and how it is parsed.

pub mod cache;
pub mod discovery;
pub mod exposition;
pub mod kubernetes;
pub mod manager;
pub mod samples;
pub mod target;
