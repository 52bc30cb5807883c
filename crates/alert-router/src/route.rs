//! The compiled routing tree: first-match descent with `continue`, options inherited from
//! the parent (`dispatch/route.go`).

use std::time::Duration;

use lgtm_common::labels::{Labels, Matcher, is_valid_label_name, matches_all};

use crate::config::{ConfigError, RouteConfig, legacy_matchers, matcher_list};
use crate::matchers::{matchers_string, sort_matchers};

/// Options a route passes to its children unless they override them.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteOpts {
    /// Receiver name.
    pub receiver: String,
    /// Grouping labels (sorted, unique).
    pub group_by: Vec<String>,
    /// `group_by: ['...']`.
    pub group_by_all: bool,
    /// First-notification delay.
    pub group_wait: Duration,
    /// Delay between change notifications.
    pub group_interval: Duration,
    /// Delay before repeating.
    pub repeat_interval: Duration,
    /// Mute time interval names (not inherited).
    pub mute_time_intervals: Vec<String>,
    /// Active time interval names (not inherited).
    pub active_time_intervals: Vec<String>,
}

impl Default for RouteOpts {
    fn default() -> Self {
        Self {
            receiver: String::new(),
            group_by: Vec::new(),
            group_by_all: false,
            group_wait: Duration::from_secs(30),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
        }
    }
}

/// One compiled node.
#[derive(Clone, Debug)]
pub struct Route {
    /// Index in depth-first order (0 = root); identifies the route inside one config.
    pub id: usize,
    /// Sorted matchers.
    pub matchers: Vec<Matcher>,
    /// Effective options.
    pub opts: RouteOpts,
    /// `continue: true`.
    pub continue_matching: bool,
    /// Children in file order.
    pub routes: Vec<Route>,
    /// Alertmanager's route key: parent key + `/` + matcher set (`{}/{team="db"}`).
    pub key: String,
}

impl Route {
    /// Compiles the tree from its root.
    pub fn build(root: &RouteConfig) -> Result<Self, ConfigError> {
        let mut next_id = 0;
        Self::build_node(root, None, &mut next_id)
    }

    fn build_node(
        cfg: &RouteConfig,
        parent: Option<(&RouteOpts, &str)>,
        next_id: &mut usize,
    ) -> Result<Self, ConfigError> {
        let mut opts = parent.map(|(o, _)| o.clone()).unwrap_or_default();
        if let Some(r) = cfg.receiver.as_deref().filter(|r| !r.is_empty()) {
            opts.receiver = r.to_owned();
        }
        if let Some(gb) = &cfg.group_by {
            let mut seen = std::collections::BTreeSet::new();
            let mut all = false;
            for l in gb {
                if l == "..." {
                    all = true;
                    continue;
                }
                if !is_valid_label_name(l) {
                    return Err(format!("invalid label name {l:?} in group_by list").into());
                }
                if !seen.insert(l.clone()) {
                    return Err(format!("duplicated label {l:?} in group_by").into());
                }
            }
            if all && !seen.is_empty() {
                return Err(
                    "cannot have wildcard group_by (`...`) and other other labels at the same time"
                        .into(),
                );
            }
            // Alertmanager 0.25 treats an empty list as unset (inherited).
            if all {
                opts.group_by_all = true;
            } else if !seen.is_empty() {
                opts.group_by = seen.into_iter().collect();
                opts.group_by_all = false;
            }
        }
        if let Some(d) = cfg.group_wait {
            opts.group_wait = d.get();
        }
        if let Some(d) = cfg.group_interval {
            if d.get().is_zero() {
                return Err("group_interval cannot be zero".into());
            }
            opts.group_interval = d.get();
        }
        if let Some(d) = cfg.repeat_interval {
            if d.get().is_zero() {
                return Err("repeat_interval cannot be zero".into());
            }
            opts.repeat_interval = d.get();
        }
        opts.mute_time_intervals = cfg.mute_time_intervals.clone();
        opts.active_time_intervals = cfg.active_time_intervals.clone();

        let mut matchers = legacy_matchers(&cfg.match_eq, &cfg.match_re)?;
        matchers.extend(matcher_list(&cfg.matchers)?);
        sort_matchers(&mut matchers);
        let set = matchers_string(&matchers);
        let key = match parent {
            Some((_, pk)) => format!("{pk}/{set}"),
            None => set,
        };
        let id = *next_id;
        *next_id += 1;
        let mut routes = Vec::with_capacity(cfg.routes.len());
        for child in &cfg.routes {
            routes.push(Self::build_node(child, Some((&opts, &key)), next_id)?);
        }
        Ok(Self {
            id,
            matchers,
            opts,
            continue_matching: cfg.continue_matching,
            routes,
            key,
        })
    }

    /// The routes an alert ends in, in match order (`Route.Match`).
    pub fn match_labels(&self, labels: &Labels) -> Vec<&Route> {
        if !matches_all(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let found = child.match_labels(labels);
            let matched = !found.is_empty();
            all.extend(found);
            if matched && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// The labels an alert is grouped by on this route.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        if self.opts.group_by_all {
            labels.clone()
        } else {
            labels.keep(&self.opts.group_by)
        }
    }

    /// Every node, depth first.
    pub fn walk<'a>(&'a self, out: &mut Vec<&'a Route>) {
        out.push(self);
        for c in &self.routes {
            c.walk(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
global: {resolve_timeout: 5m}
route:
  receiver: default-hook
  group_by: [alertname]
  group_wait: 2s
  group_interval: 5s
  repeat_interval: 1h
  routes:
    - receiver: team-hook
      matchers: [ 'team="db"' ]
      group_by: [alertname, instance]
      continue: true
    - receiver: tg
      matchers: [ 'severity="critical"' ]
    - receiver: default-hook
      match_re: {service: ^(foo1|foo2|baz)$}
receivers:
  - name: default-hook
  - name: team-hook
  - name: tg
"#;

    fn tree() -> Route {
        crate::config::LoadedConfig::load_str(CONFIG, None)
            .unwrap()
            .route
    }

    fn receivers(r: &Route, pairs: &[(&str, &str)]) -> Vec<String> {
        r.match_labels(&Labels::from_pairs(pairs.iter().copied()))
            .iter()
            .map(|r| r.opts.receiver.clone())
            .collect()
    }

    #[test]
    fn first_match_with_continue_as_observed() {
        let t = tree();
        // amtool config routes test severity=critical team=db alertname=X → team-hook,tg
        assert_eq!(
            receivers(
                &t,
                &[("severity", "critical"), ("team", "db"), ("alertname", "X")]
            ),
            ["team-hook", "tg"]
        );
        assert_eq!(receivers(&t, &[("foo", "bar")]), ["default-hook"]);
        assert_eq!(receivers(&t, &[("service", "foo2")]), ["default-hook"]);
        assert_eq!(
            receivers(&t, &[("severity", "critical"), ("service", "foo1")]),
            ["tg"]
        );
    }

    #[test]
    fn keys_and_inheritance() {
        let t = tree();
        assert_eq!(t.key, "{}");
        assert_eq!(t.routes[0].key, r#"{}/{team="db"}"#);
        assert_eq!(
            t.routes[2].key,
            r#"{}/{service=~"^(?:^(foo1|foo2|baz)$)$"}"#
        );
        let tg = &t.routes[1].opts;
        assert_eq!(tg.group_by, ["alertname"]);
        assert_eq!(tg.group_wait, Duration::from_secs(2));
        assert_eq!(tg.repeat_interval, Duration::from_secs(3600));
        assert_eq!(t.routes[0].opts.group_by, ["alertname", "instance"]);
    }

    #[test]
    fn multi_matcher_keys_have_no_space_after_commas() {
        // Alertmanager's Matchers.String() joins with "," only; group keys carry it.
        let c = crate::config::LoadedConfig::load_str(
            "route: {receiver: a, routes: [{matchers: ['{team=\"db\", env=~\"prod|stage\"}'], routes: [{match: {severity: critical}}]}]}\nreceivers: [{name: a}]",
            None,
        )
        .unwrap();
        assert_eq!(c.route.routes[0].key, r#"{}/{env=~"prod|stage",team="db"}"#);
        assert_eq!(
            c.route.routes[0].routes[0].key,
            r#"{}/{env=~"prod|stage",team="db"}/{severity="critical"}"#
        );
    }

    #[test]
    fn defaults_without_timings() {
        let c = crate::config::LoadedConfig::load_str(
            "route: {receiver: a, routes: [{matchers: [x=y], group_by: ['...']}]}\nreceivers: [{name: a}]",
            None,
        )
        .unwrap();
        let o = &c.route.opts;
        assert_eq!(
            (o.group_wait, o.group_interval, o.repeat_interval),
            (
                Duration::from_secs(30),
                Duration::from_secs(300),
                Duration::from_secs(14400)
            )
        );
        let child = &c.route.routes[0];
        assert!(child.opts.group_by_all);
        assert_eq!(child.opts.receiver, "a");
        let l = Labels::from_pairs([("x", "y"), ("z", "1")]);
        assert_eq!(child.group_labels(&l), l);
    }
}
