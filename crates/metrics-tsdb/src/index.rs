//! Inverted index from label pairs to series references, answering label matchers by
//! postings intersection.

use std::collections::BTreeMap;

use lgtm_common::labels::{MatchOp, Matcher};

/// Identifies a series inside one head or block; assigned in increasing order.
pub type SeriesRef = u64;

/// Label name → value → sorted series references.
#[derive(Debug, Default, Clone)]
pub struct Postings {
    by_label: BTreeMap<String, BTreeMap<String, Vec<SeriesRef>>>,
    all: Vec<SeriesRef>,
}

impl Postings {
    /// Registers a series. References must be added in increasing order so every postings list
    /// stays sorted without re-sorting.
    pub fn add<'a>(
        &mut self,
        series: SeriesRef,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        debug_assert!(self.all.last().is_none_or(|&last| last < series));
        self.all.push(series);
        for (name, value) in labels {
            self.list_for(name, value).push(series);
        }
    }

    /// The postings list of `name=value`, created if missing; the strings are copied only
    /// for a pair not seen before (most series share their label pairs).
    fn list_for(&mut self, name: &str, value: &str) -> &mut Vec<SeriesRef> {
        if !self.by_label.contains_key(name) {
            self.by_label.insert(name.to_owned(), BTreeMap::new());
        }
        let values = self.by_label.get_mut(name).expect("inserted above");
        if !values.contains_key(value) {
            values.insert(value.to_owned(), Vec::new());
        }
        values.get_mut(value).expect("inserted above")
    }

    /// Registers a series whose reference may be lower than existing ones (WAL replay of a
    /// damaged log); keeps every list sorted at the cost of an insertion.
    pub fn add_unordered<'a>(
        &mut self,
        series: SeriesRef,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        fn insert_sorted(list: &mut Vec<SeriesRef>, series: SeriesRef) {
            if let Err(at) = list.binary_search(&series) {
                list.insert(at, series);
            }
        }
        insert_sorted(&mut self.all, series);
        for (name, value) in labels {
            insert_sorted(self.list_for(name, value), series);
        }
    }

    /// Every label name with its values and their postings, in order.
    pub fn iter_labels(&self) -> impl Iterator<Item = (&str, &BTreeMap<String, Vec<SeriesRef>>)> {
        self.by_label.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Forgets a series (head garbage collection); empty lists and names are dropped.
    pub fn remove<'a>(
        &mut self,
        series: SeriesRef,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) {
        if let Ok(i) = self.all.binary_search(&series) {
            self.all.remove(i);
        }
        for (name, value) in labels {
            let Some(values) = self.by_label.get_mut(name) else {
                continue;
            };
            if let Some(list) = values.get_mut(value) {
                if let Ok(i) = list.binary_search(&series) {
                    list.remove(i);
                }
                if list.is_empty() {
                    values.remove(value);
                }
            }
            if values.is_empty() {
                self.by_label.remove(name);
            }
        }
    }

    /// Every registered series.
    pub fn all(&self) -> &[SeriesRef] {
        &self.all
    }

    /// Label names in sorted order.
    pub fn label_names(&self) -> impl Iterator<Item = &str> {
        self.by_label.keys().map(String::as_str)
    }

    /// Values of one label in sorted order.
    pub fn label_values(&self, name: &str) -> impl Iterator<Item = &str> {
        self.by_label
            .get(name)
            .into_iter()
            .flat_map(|values| values.keys().map(String::as_str))
    }

    /// Number of series carrying `name=value`.
    pub fn count(&self, name: &str, value: &str) -> usize {
        self.by_label
            .get(name)
            .and_then(|values| values.get(value))
            .map_or(0, Vec::len)
    }

    /// Series whose labels satisfy every matcher, in increasing order.
    ///
    /// Matchers that reject the empty value narrow the result by intersection; those that
    /// accept it (and so also select series lacking the label) subtract the series whose
    /// value they reject, as Prometheus' `PostingsForMatchers` does.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<SeriesRef> {
        let mut result: Option<Vec<SeriesRef>> = None;
        let mut subtract: Vec<Vec<SeriesRef>> = Vec::new();
        for matcher in matchers {
            if matcher.matches_empty() {
                subtract.push(self.values_where(&matcher.name, |v| !matcher.matches(v)));
            } else {
                let matching = self.matching(matcher);
                result = Some(match result {
                    None => matching,
                    Some(acc) => intersect(&acc, &matching),
                });
                if result.as_ref().is_some_and(Vec::is_empty) {
                    return Vec::new();
                }
            }
        }
        let mut base = result.unwrap_or_else(|| self.all.clone());
        for sub in subtract {
            base = difference(&base, &sub);
        }
        base
    }

    fn matching(&self, matcher: &Matcher) -> Vec<SeriesRef> {
        let Some(values) = self.by_label.get(&matcher.name) else {
            return Vec::new();
        };
        match matcher.op {
            MatchOp::Equal => values.get(&matcher.value).cloned().unwrap_or_default(),
            MatchOp::Regex if matcher.set_matches().is_some() => {
                let lists: Vec<&Vec<SeriesRef>> = matcher
                    .set_matches()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| values.get(v))
                    .collect();
                union(&lists)
            }
            _ => self.values_where(&matcher.name, |v| matcher.matches(v)),
        }
    }

    fn values_where(&self, name: &str, keep: impl Fn(&str) -> bool) -> Vec<SeriesRef> {
        let Some(values) = self.by_label.get(name) else {
            return Vec::new();
        };
        let lists: Vec<&Vec<SeriesRef>> = values
            .iter()
            .filter(|(v, _)| keep(v))
            .map(|(_, list)| list)
            .collect();
        union(&lists)
    }
}

/// Sorted intersection of two sorted lists.
pub fn intersect(a: &[SeriesRef], b: &[SeriesRef]) -> Vec<SeriesRef> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Sorted `a \ b` of two sorted lists.
pub fn difference(a: &[SeriesRef], b: &[SeriesRef]) -> Vec<SeriesRef> {
    let mut j = 0;
    let mut out = Vec::with_capacity(a.len());
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

/// Sorted, deduplicated union of sorted lists.
pub fn union(lists: &[&Vec<SeriesRef>]) -> Vec<SeriesRef> {
    match lists {
        [] => Vec::new(),
        [one] => (*one).clone(),
        _ => {
            let mut out: Vec<SeriesRef> = lists.iter().flat_map(|l| l.iter().copied()).collect();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Postings {
        let mut p = Postings::default();
        p.add(1, [("__name__", "up"), ("job", "node"), ("env", "prod")]);
        p.add(2, [("__name__", "up"), ("job", "api")]);
        p.add(3, [("__name__", "http"), ("job", "api"), ("env", "dev")]);
        p
    }

    fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).unwrap()
    }

    #[test]
    fn equality_and_intersection() {
        let p = index();
        assert_eq!(p.select(&[m(MatchOp::Equal, "__name__", "up")]), vec![1, 2]);
        assert_eq!(
            p.select(&[
                m(MatchOp::Equal, "__name__", "up"),
                m(MatchOp::Equal, "job", "api")
            ]),
            vec![2]
        );
        assert!(p.select(&[m(MatchOp::Equal, "job", "none")]).is_empty());
    }

    #[test]
    fn matchers_that_accept_empty_subtract() {
        let p = index();
        // env="" selects series without env.
        assert_eq!(p.select(&[m(MatchOp::Equal, "env", "")]), vec![2]);
        // env!="prod" also selects series without env.
        assert_eq!(p.select(&[m(MatchOp::NotEqual, "env", "prod")]), vec![2, 3]);
        // env=~"|dev": missing or dev.
        assert_eq!(p.select(&[m(MatchOp::Regex, "env", "|dev")]), vec![2, 3]);
        assert_eq!(
            p.select(&[
                m(MatchOp::Equal, "__name__", "up"),
                m(MatchOp::NotRegex, "job", "n.*")
            ]),
            vec![2]
        );
    }

    #[test]
    fn regex_and_set_matchers() {
        let p = index();
        assert_eq!(
            p.select(&[m(MatchOp::Regex, "job", "node|api")]),
            vec![1, 2, 3]
        );
        assert_eq!(p.select(&[m(MatchOp::Regex, "job", "no.*")]), vec![1]);
        assert_eq!(p.select(&[m(MatchOp::Regex, "env", ".+")]), vec![1, 3]);
    }

    #[test]
    fn set_operations() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5]), vec![3, 5]);
        assert_eq!(difference(&[1, 3, 5, 7], &[3, 4, 5]), vec![1, 7]);
        assert_eq!(union(&[&vec![1, 4], &vec![2, 4, 6]]), vec![1, 2, 4, 6]);
    }
}
