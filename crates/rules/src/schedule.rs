//! When a group runs (Prometheus' `Group.EvalTimestamp` and the missed-iteration arithmetic
//! of `Group.run`): every group has a fixed phase inside its interval, derived from a hash of
//! its file and name, so groups spread over the interval and a restart keeps the phase.

use lgtm_common::labels::Labels;

/// The group's phase within its interval (ms): `hash(file, name) mod interval`, computed in
/// nanoseconds as Prometheus does, so both evaluate a group at the same timestamps.
pub fn group_offset_ms(file: &str, name: &str, interval_ms: i64) -> i64 {
    let hash = Labels::from_pairs([("name", name), ("file", file)]).fingerprint();
    let interval_ns = (interval_ms.max(1) as u64).saturating_mul(1_000_000);
    ((hash % interval_ns) / 1_000_000) as i64
}

/// The first evaluation timestamp after a start at `now_ms`: the next interval boundary
/// shifted by the group's offset (`EvalTimestamp(now) + interval`).
pub fn first_eval_ts(now_ms: i64, interval_ms: i64, offset_ms: i64) -> i64 {
    let interval = interval_ms.max(1);
    let adjusted = now_ms - offset_ms;
    adjusted - adjusted.rem_euclid(interval) + offset_ms + interval
}

/// After an evaluation at `last_ts` that finished at `now_ms`: the next timestamp and how
/// many iterations were skipped because the evaluation overran (Prometheus counts them in
/// `rule_group_iterations_missed_total` and never evaluates in the past).
pub fn next_eval_ts(last_ts: i64, now_ms: i64, interval_ms: i64) -> (i64, i64) {
    let interval = interval_ms.max(1);
    let missed = ((now_ms - last_ts) / interval - 1).max(0);
    (last_ts + (missed + 1) * interval, missed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_evaluation_is_aligned_to_the_group_phase() {
        // Offset 7s in a 60s interval: evaluations at ..:07, started at 10:00:30 → 10:01:07.
        let t0 = 1_700_000_040_000; // a multiple of 60 s
        assert_eq!(first_eval_ts(t0 + 30_000, 60_000, 7_000), t0 + 67_000);
        // Started at 10:00:05 (before the phase): the previous slot was 09:59:07, so the
        // first evaluation is 10:00:07.
        assert_eq!(first_eval_ts(t0 + 5_000, 60_000, 7_000), t0 + 7_000);
        // Every result is `offset` past a multiple of the interval and in the future.
        for now in [t0, t0 + 1, t0 + 59_999, t0 + 6_999, t0 + 7_000] {
            let ts = first_eval_ts(now, 60_000, 7_000);
            assert_eq!(ts.rem_euclid(60_000), 7_000);
            assert!(ts > now && ts - now <= 60_000, "{now} -> {ts}");
        }
    }

    #[test]
    fn offset_is_stable_and_within_the_interval() {
        let a = group_offset_ms("/etc/rules/a.yml", "node", 60_000);
        assert_eq!(a, group_offset_ms("/etc/rules/a.yml", "node", 60_000));
        assert!((0..60_000).contains(&a));
        // Other groups get other phases (spread), with overwhelming likelihood.
        let others: std::collections::HashSet<i64> = (0..20)
            .map(|i| group_offset_ms("/etc/rules/a.yml", &format!("g{i}"), 60_000))
            .collect();
        assert!(others.len() > 15, "{others:?}");
    }

    #[test]
    fn phase_is_the_one_prometheus_picks() {
        // Debian's Prometheus 2.42, given the file `/tmp/rtest/sched/r.yml` with groups `g`
        // (10s) and `other` (7s), reported `lastEvaluation` (wall clock at the start of an
        // evaluation, a few ms after its timer fired) 722.57 ms and 1898.91 ms past the
        // interval boundaries.
        let g = group_offset_ms("/tmp/rtest/sched/r.yml", "g", 10_000);
        let other = group_offset_ms("/tmp/rtest/sched/r.yml", "other", 7_000);
        assert!((717..=722).contains(&g), "{g}");
        assert!((1_893..=1_898).contains(&other), "{other}");
    }

    #[test]
    fn overruns_count_missed_iterations() {
        // On time: the next slot, nothing missed.
        assert_eq!(next_eval_ts(60_000, 60_500, 1_000), (61_000, 0));
        // Finished just before the next slot: nothing missed.
        assert_eq!(next_eval_ts(60_000, 60_999, 1_000), (61_000, 0));
        // Finished 2.5 intervals later: the slot at +1s was missed; run at +2s (now past).
        assert_eq!(next_eval_ts(60_000, 62_500, 1_000), (62_000, 1));
        // Exactly two intervals: one missed, as Go's `time.Since/interval - 1`.
        assert_eq!(next_eval_ts(60_000, 62_000, 1_000), (62_000, 1));
        assert_eq!(next_eval_ts(60_000, 65_400, 1_000), (65_000, 4));
    }
}
