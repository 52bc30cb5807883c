//! Scraping: what targets expose and how it is parsed.

pub mod exposition;
pub mod samples;
pub mod target;
pub mod discovery;
pub mod manager;
