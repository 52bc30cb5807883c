//! `sort`, `sort_desc`, `sort_by_label` and `sort_by_label_desc`.

use crate::value::Vector;

/// `sort`/`sort_desc`: floats by value (histograms are dropped), NaN last either way.
pub fn sort_by_value(v: Vector, desc: bool) -> Vector {
    let mut v: Vector = v.into_iter().filter(|s| s.h.is_none()).collect();
    v.sort_by(|a, b| {
        use std::cmp::Ordering::*;
        match (a.f.is_nan(), b.f.is_nan()) {
            (true, true) => Equal,
            (true, false) => Greater,
            (false, true) => Less,
            _ => {
                let o = a.f.partial_cmp(&b.f).unwrap_or(Equal);
                if desc { o.reverse() } else { o }
            }
        }
    });
    v
}

/// `sort_by_label[_desc]`: natural order of the given labels' values, then the full label set.
pub fn sort_by_label(mut v: Vector, labels: &[String], desc: bool) -> Vector {
    v.sort_by(|a, b| {
        let mut o = std::cmp::Ordering::Equal;
        for l in labels {
            o = natural_cmp(a.labels.get_or_empty(l), b.labels.get_or_empty(l));
            if o != std::cmp::Ordering::Equal {
                break;
            }
        }
        if o == std::cmp::Ordering::Equal {
            o = a.labels.cmp(&b.labels);
        }
        if desc { o.reverse() } else { o }
    });
    v
}

/// Natural ("version") ordering of label values, as `sort_by_label` uses.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let na = a[si..i].trim_start_matches('0');
            let nb = b[sj..j].trim_start_matches('0');
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        } else {
            let o = ab[i].cmp(&bb[j]);
            if o != std::cmp::Ordering::Equal {
                return o;
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_numerically() {
        assert_eq!(natural_cmp("a10", "a9"), std::cmp::Ordering::Greater);
        assert_eq!(natural_cmp("a010", "a10"), std::cmp::Ordering::Equal);
        assert_eq!(natural_cmp("b", "a"), std::cmp::Ordering::Greater);
    }
}
