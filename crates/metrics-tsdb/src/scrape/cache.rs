//! The scrape loop's fast path: a per-target cache from a sample line's series text to the
//! labels it is stored under, as Prometheus' `scrapeCache` does.
//!
//! A target exposes the same series scrape after scrape, so only the first sight of a series
//! text pays for label parsing, target-label merging, metric relabeling and limit checks; later
//! scrapes look the text up and parse just the value. The batch handed to the store is kept
//! between scrapes too: while the target's series come in the same order, its entries are
//! updated in place, so a steady scrape allocates nothing per sample.
//!
//! The outcome is the one [`TargetScrapeState::process`](super::samples::TargetScrapeState)
//! computes from a parsed body (same samples, staleness markers, synthetic series and
//! errors); a test holds the two to each other.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use lgtm_common::labels::Labels;

use super::exposition::{
    self, Exemplar, Format, Line, Metadata, ParseError, parse_comment, series_text_len,
};
use super::samples::{SYNTHETIC_SERIES, SampleRules, final_labels, stale_nan, synthetic_values};
use crate::db::{AppendOutcome, Db, DbError, SeriesSamples};
use crate::head::MemSeries;

/// Slot of series text dropped by relabeling.
const DROPPED: u32 = u32::MAX;
/// Scrapes a series text may stay unseen before its cache entry is dropped.
const KEEP_UNSEEN: u64 = 10;
/// Batch key tags: stale markers and synthetic series next to plain slots.
const STALE_TAG: u64 = 1 << 62;
const SYNTHETIC_TAG: u64 = 1 << 61;

/// FxHash-style hasher over the series text: the text comes from a target, keys are short,
/// and SipHash was a visible share of a scrape. Seeded per cache, so a target cannot aim
/// collisions at a known function.
#[derive(Clone, Copy)]
struct SeededFx(u64);

impl BuildHasher for SeededFx {
    type Hasher = FxHasher;
    fn build_hasher(&self) -> FxHasher {
        FxHasher(self.0)
    }
}

impl Default for SeededFx {
    fn default() -> Self {
        Self(std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64))
    }
}

struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

struct TextEntry {
    slot: u32,
    last_seen: u64,
}

/// One distinct stored label set.
struct Slot {
    labels: Labels,
    /// The head series it was last stored in (checked by the store before use).
    series: Option<Arc<MemSeries>>,
    /// Part of the previous successful scrape.
    in_prev: bool,
    /// Iteration that last touched it (dedupes a series exposed twice).
    mark: u64,
}

/// What one scrape produced, borrowed from the cache.
#[derive(Debug)]
pub struct CachedScrape<'a> {
    /// Samples to append, in the order [`TargetScrapeState::process`] gives them: staleness
    /// markers, scraped samples in body order, synthetic series.
    ///
    /// [`TargetScrapeState::process`]: super::samples::TargetScrapeState::process
    pub batch: &'a [SeriesSamples],
    /// Exemplars with the index of their sample in `batch`.
    pub exemplars: &'a [(usize, Exemplar)],
    /// The body's metadata when it differs from the previous scrape's (unchanged metadata
    /// need not be recorded again).
    pub metadata: Option<&'a BTreeMap<String, Metadata>>,
    /// Error that failed the scrape, if any.
    pub error: Option<String>,
    /// Samples in the body.
    pub scraped: usize,
    /// Samples left after relabeling.
    pub post_relabel: usize,
    /// Series not in the previous scrape.
    pub series_added: usize,
}

/// Per-target state of the scrape loop's fast path.
#[derive(Default)]
pub struct ScrapeCache {
    by_text: HashMap<Box<str>, TextEntry, SeededFx>,
    by_labels: HashMap<Labels, u32>,
    slots: Vec<Slot>,
    /// Slots of the previous successful scrape, each once.
    prev: Vec<u32>,
    iteration: u64,
    synthetic: Vec<Labels>,
    synthetic_series: Vec<Option<Arc<MemSeries>>>,
    /// `(slot, t, v)` of this scrape's samples.
    current: Vec<(u32, i64, f64)>,
    touched: Vec<u32>,
    exemplars: Vec<(usize, Exemplar)>,
    batch: Vec<SeriesSamples>,
    /// Head series of the batch entries, as far as known.
    resolved: Vec<Option<Arc<MemSeries>>>,
    /// The batch was laid out afresh: what the store resolves goes back into the slots.
    relaid: bool,
    /// The store's series-removal epoch `resolved` was last checked at.
    checked: u64,
    batch_key: Vec<u64>,
    next_key: Vec<u64>,
    comments: String,
    prev_comments: Option<String>,
    metadata: BTreeMap<String, Metadata>,
}

impl std::fmt::Debug for ScrapeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeCache")
            .field("texts", &self.by_text.len())
            .field("series", &self.slots.len())
            .finish()
    }
}

/// The first error of a body walk, by kind: a parse error beats a label-limit error (the
/// reference path parses the whole body before it applies limits).
#[derive(Default)]
struct Errors {
    limit: Option<String>,
}

impl ScrapeCache {
    /// Processes one scrape: the fetched body with its format, or the fetch's error.
    pub fn process(
        &mut self,
        target_labels: &Labels,
        rules: &SampleRules,
        fetched: Result<(&str, Format), String>,
        scrape_ts: i64,
        duration_seconds: f64,
    ) -> CachedScrape<'_> {
        self.iteration += 1;
        self.current.clear();
        self.touched.clear();
        self.exemplars.clear();
        let mut scraped = 0;
        let mut metadata_changed = false;
        let error = match fetched {
            Err(e) => Some(e),
            Ok((body, format)) => {
                let walked = self.walk(body, format, target_labels, rules, scrape_ts);
                match walked {
                    Err(e) => Some(e.to_string()),
                    Ok((count, errors)) => {
                        scraped = count;
                        metadata_changed = self.metadata_changed();
                        if let Some(limit) = errors.limit {
                            Some(limit)
                        } else if rules.sample_limit > 0
                            && self.current.len() as u64 > rules.sample_limit
                        {
                            Some("sample limit exceeded".to_owned())
                        } else {
                            None
                        }
                    }
                }
            }
        };
        if error.is_some() {
            self.current.clear();
            self.touched.clear();
            self.exemplars.clear();
        }
        let post_relabel = self.current.len();
        let series_added = self
            .touched
            .iter()
            .filter(|&&s| !self.slots[s as usize].in_prev)
            .count();
        let iteration = self.iteration;
        let mut stale: Vec<u32> = self
            .prev
            .iter()
            .copied()
            .filter(|&s| error.is_some() || self.slots[s as usize].mark != iteration)
            .collect();
        stale.sort_by(|&a, &b| {
            self.slots[a as usize]
                .labels
                .cmp(&self.slots[b as usize].labels)
        });
        for &s in &self.prev {
            self.slots[s as usize].in_prev = false;
        }
        for &s in &self.touched {
            self.slots[s as usize].in_prev = true;
        }
        std::mem::swap(&mut self.prev, &mut self.touched);
        let values = synthetic_values(
            error.is_some(),
            duration_seconds,
            scraped,
            post_relabel,
            series_added,
        );
        self.fill_batch(target_labels, &stale, scrape_ts, values);
        // Exemplar indexes were taken within the scraped samples; the batch starts with the
        // staleness markers.
        for (index, _) in &mut self.exemplars {
            *index += stale.len();
        }
        self.collect_garbage();
        CachedScrape {
            batch: &self.batch,
            exemplars: &self.exemplars,
            metadata: metadata_changed.then_some(&self.metadata),
            error,
            scraped,
            post_relabel,
            series_added,
        }
    }

    /// Walks the body, resolving every sample line to its slot. Returns the number of sample
    /// lines and the first label-limit error.
    fn walk(
        &mut self,
        body: &str,
        format: Format,
        target_labels: &Labels,
        rules: &SampleRules,
        scrape_ts: i64,
    ) -> Result<(usize, Errors), ParseError> {
        let mut count = 0;
        let mut errors = Errors::default();
        self.comments.clear();
        let mut comment_lines: Vec<(usize, &str)> = Vec::new();
        let walked = exposition::for_each_line(body, format, |line_no, line| {
            let text = match line {
                Line::Comment(comment) => {
                    comment_lines.push((line_no, comment));
                    return Ok(());
                }
                Line::Sample(text) => text,
            };
            count += 1;
            let iteration = self.iteration;
            let known = series_text_len(text).and_then(|len| {
                let entry = self.by_text.get_mut(&text[..len])?;
                entry.last_seen = iteration;
                Some((entry.slot, len))
            });
            let (slot, len) = match known {
                Some(found) => found,
                None => {
                    let (scraped_labels, len) = exposition::parse_series(text)?;
                    // Limits fail the scrape only once the body parsed; keep walking.
                    let slot = match final_labels(&scraped_labels, target_labels, rules) {
                        Ok(Some(labels)) => Some(self.slot_for(labels)),
                        Ok(None) => Some(DROPPED),
                        Err(e) => {
                            errors.limit.get_or_insert(e);
                            None
                        }
                    };
                    if let Some(slot) = slot {
                        self.by_text.insert(
                            text[..len].into(),
                            TextEntry {
                                slot,
                                last_seen: iteration,
                            },
                        );
                    }
                    (slot.unwrap_or(DROPPED), len)
                }
            };
            let tail = exposition::parse_tail(&text[len..], format)?;
            if slot == DROPPED {
                return Ok(());
            }
            let t = match (rules.honor_timestamps, tail.timestamp_ms) {
                (true, Some(t)) => t,
                _ => scrape_ts,
            };
            if let Some(mut exemplar) = tail.exemplar {
                exemplar.timestamp_ms.get_or_insert(scrape_ts);
                self.exemplars.push((self.current.len(), exemplar));
            }
            self.current.push((slot, t, tail.value));
            let entry = &mut self.slots[slot as usize];
            if entry.mark != iteration {
                entry.mark = iteration;
                self.touched.push(slot);
            }
            Ok(())
        });
        // Comments are re-parsed only when their text changed since the last good scrape
        // (a text that parsed before parses again, to the same metadata).
        self.comments.push(match format {
            Format::PrometheusText => 't',
            Format::OpenMetrics => 'o',
        });
        for &(_, comment) in &comment_lines {
            self.comments.push_str(comment);
            self.comments.push('\n');
        }
        let mut comment_error = None;
        if self.prev_comments.as_deref() != Some(self.comments.as_str()) {
            self.metadata.clear();
            for &(line_no, comment) in &comment_lines {
                if let Err(message) = parse_comment(comment, format, &mut self.metadata) {
                    comment_error = Some(ParseError {
                        line: line_no,
                        message,
                    });
                    break;
                }
            }
        }
        // The reference parser stops at the first bad line, comment or sample.
        match (walked, comment_error) {
            (Err(sample), Some(comment)) if comment.line < sample.line => Err(comment),
            (Err(sample), _) => Err(sample),
            (Ok(()), Some(comment)) => Err(comment),
            (Ok(()), None) => Ok((count, errors)),
        }
    }

    /// After a body parsed: whether its metadata differs from the last good scrape's
    /// (remembering it), so unchanged metadata is not recorded again.
    fn metadata_changed(&mut self) -> bool {
        if self.prev_comments.as_deref() == Some(self.comments.as_str()) {
            return false;
        }
        let comments = std::mem::take(&mut self.comments);
        self.prev_comments = Some(comments);
        !self.metadata.is_empty()
    }

    fn slot_for(&mut self, labels: Labels) -> u32 {
        if let Some(&slot) = self.by_labels.get(&labels) {
            return slot;
        }
        let slot = self.slots.len() as u32;
        self.by_labels.insert(labels.clone(), slot);
        self.slots.push(Slot {
            labels,
            series: None,
            in_prev: false,
            mark: 0,
        });
        slot
    }

    /// Lays out the batch (stale markers, samples, synthetic series), reusing last scrape's
    /// entries when the layout is unchanged.
    fn fill_batch(&mut self, target_labels: &Labels, stale: &[u32], t: i64, synthetic: [f64; 5]) {
        if self.synthetic.is_empty() {
            self.synthetic = SYNTHETIC_SERIES
                .iter()
                .map(|name| target_labels.with("__name__", name))
                .collect();
            self.synthetic_series = vec![None; SYNTHETIC_SERIES.len()];
        }
        self.next_key.clear();
        self.next_key
            .extend(stale.iter().map(|&s| STALE_TAG | u64::from(s)));
        self.next_key
            .extend(self.current.iter().map(|&(s, _, _)| u64::from(s)));
        self.next_key
            .extend((0..SYNTHETIC_SERIES.len() as u64).map(|k| SYNTHETIC_TAG | k));
        let values = stale
            .iter()
            .map(|_| (t, stale_nan()))
            .chain(self.current.iter().map(|&(_, t, v)| (t, v)))
            .chain(synthetic.into_iter().map(|v| (t, v)));
        if self.next_key == self.batch_key {
            for (entry, sample) in self.batch.iter_mut().zip(values) {
                entry.samples.clear();
                entry.samples.push(sample);
            }
            return;
        }
        let labels = stale
            .iter()
            .chain(self.current.iter().map(|(s, _, _)| s))
            .map(|&s| &self.slots[s as usize].labels)
            .chain(&self.synthetic);
        self.batch = labels
            .zip(values)
            .map(|(labels, sample)| SeriesSamples {
                labels: labels.clone(),
                samples: vec![sample],
            })
            .collect();
        std::mem::swap(&mut self.batch_key, &mut self.next_key);
        self.resolved = self
            .batch_key
            .iter()
            .map(|&key| self.known_series(key).clone())
            .collect();
        self.relaid = true;
        // Slots may hold series from before a removal: have the store check them all.
        self.checked = u64::MAX;
    }

    fn known_series(&self, key: u64) -> &Option<Arc<MemSeries>> {
        if key & SYNTHETIC_TAG != 0 && key & STALE_TAG == 0 {
            &self.synthetic_series[(key & !SYNTHETIC_TAG) as usize]
        } else {
            &self.slots[(key & !STALE_TAG) as usize].series
        }
    }

    /// Appends the batch of the last [`ScrapeCache::process`] to `db`, reusing the head
    /// series earlier scrapes resolved, so a steady scrape skips the label lookups.
    pub async fn append_to(&mut self, db: &Db) -> Result<AppendOutcome, DbError> {
        let outcome = db
            .append_resolving(&self.batch, &mut self.resolved, &mut self.checked)
            .await;
        if std::mem::take(&mut self.relaid) {
            for (&key, series) in self.batch_key.iter().zip(&self.resolved) {
                if key & SYNTHETIC_TAG != 0 && key & STALE_TAG == 0 {
                    self.synthetic_series[(key & !SYNTHETIC_TAG) as usize] = series.clone();
                } else {
                    self.slots[(key & !STALE_TAG) as usize].series = series.clone();
                }
            }
        }
        outcome
    }

    /// Every few scrapes, forgets series texts unseen for a while and the label sets only
    /// they used, so a target with churning series does not grow the cache forever.
    fn collect_garbage(&mut self) {
        if !self.iteration.is_multiple_of(KEEP_UNSEEN)
            || self.by_text.len() <= 2 * self.prev.len() + 64
        {
            return;
        }
        let oldest = self.iteration.saturating_sub(KEEP_UNSEEN);
        self.by_text.retain(|_, e| e.last_seen > oldest);
        let mut live = vec![false; self.slots.len()];
        for e in self.by_text.values() {
            if e.slot != DROPPED {
                live[e.slot as usize] = true;
            }
        }
        for &s in &self.prev {
            live[s as usize] = true;
        }
        let mut remap = vec![DROPPED; self.slots.len()];
        let mut kept = Vec::with_capacity(self.slots.len());
        for (old, slot) in std::mem::take(&mut self.slots).into_iter().enumerate() {
            if live[old] {
                remap[old] = kept.len() as u32;
                kept.push(slot);
            }
        }
        self.slots = kept;
        for e in self.by_text.values_mut() {
            if e.slot != DROPPED {
                e.slot = remap[e.slot as usize];
            }
        }
        for s in &mut self.prev {
            *s = remap[*s as usize];
        }
        self.by_labels.clear();
        for (i, slot) in self.slots.iter().enumerate() {
            self.by_labels.insert(slot.labels.clone(), i as u32);
        }
        // Slot numbers changed: the next batch is laid out afresh.
        self.batch_key.clear();
        self.relaid = false;
    }
}

#[cfg(test)]
mod tests;
