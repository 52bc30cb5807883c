//! The JSON form of the syntax tree that `/api/v1/parse_query` returns (Prometheus'
//! `translateAST`, used by the UI's tree view).

use serde_json::{Value as Json, json};

use crate::ast::{AtModifier, Card, Expr};
use crate::value::{ValueType, fmt_float_f};

fn value_type(t: ValueType) -> &'static str {
    match t {
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
        ValueType::Vector => "vector",
        ValueType::Matrix => "matrix",
    }
}

fn card(c: Card) -> &'static str {
    match c {
        Card::OneToOne => "one-to-one",
        Card::ManyToOne => "many-to-one",
        Card::OneToMany => "one-to-many",
        Card::ManyToMany => "many-to-many",
    }
}

fn at(a: &Option<AtModifier>) -> (Json, Json) {
    match a {
        Some(AtModifier::Timestamp(t)) => (json!(t), Json::Null),
        Some(AtModifier::Start) => (Json::Null, json!("start")),
        Some(AtModifier::End) => (Json::Null, json!("end")),
        None => (Json::Null, Json::Null),
    }
}

fn matchers(ms: &[lgtm_common::labels::Matcher]) -> Json {
    Json::Array(
        ms.iter()
            .map(|m| json!({"name": m.name, "value": m.value, "type": m.op.as_str()}))
            .collect(),
    )
}

/// Translates an expression into the JSON tree Prometheus' `parse_query` endpoint returns.
pub fn to_json(e: &Expr) -> Json {
    match e {
        Expr::Number { val, .. } => json!({"type": "numberLiteral", "val": fmt_float_f(*val)}),
        Expr::String { val, .. } => json!({"type": "stringLiteral", "val": val}),
        Expr::Paren { expr, .. } => json!({"type": "parenExpr", "expr": to_json(expr)}),
        Expr::Unary { neg, expr, .. } => {
            json!({"type": "unaryExpr", "op": if *neg { "-" } else { "+" }, "expr": to_json(expr)})
        }
        Expr::Binary(b) => {
            let both_vectors =
                b.lhs.value_type() == ValueType::Vector && b.rhs.value_type() == ValueType::Vector;
            let matching = match &b.matching {
                Some(m) if both_vectors => json!({
                    "card": card(m.card),
                    "labels": m.labels,
                    "on": m.on,
                    "include": m.include,
                }),
                _ => Json::Null,
            };
            json!({
                "type": "binaryExpr",
                "op": b.op.as_str(),
                "lhs": to_json(&b.lhs),
                "rhs": to_json(&b.rhs),
                "matching": matching,
                "bool": b.return_bool,
            })
        }
        Expr::Aggregate(a) => json!({
            "type": "aggregation",
            "op": a.op.as_str(),
            "expr": to_json(&a.expr),
            "param": a.param.as_ref().map(to_json).unwrap_or(Json::Null),
            "grouping": a.grouping,
            "without": a.without,
        }),
        Expr::Call(c) => {
            let def = crate::functions::lookup(&c.func);
            json!({
                "type": "call",
                "func": {
                    "name": c.func,
                    "argTypes": def.map(|d| d.args.iter().map(|t| value_type(*t)).collect::<Vec<_>>()).unwrap_or_default(),
                    "variadic": def.map(|d| d.variadic).unwrap_or(0),
                    "returnType": def.map(|d| value_type(d.ret)).unwrap_or("vector"),
                },
                "args": c.args.iter().map(to_json).collect::<Vec<_>>(),
            })
        }
        Expr::Vector(vs) => {
            let (ts, se) = at(&vs.at);
            json!({
                "type": "vectorSelector",
                "name": vs.name.clone().unwrap_or_default(),
                "offset": vs.offset.ms(),
                "matchers": matchers(&vs.matchers),
                "timestamp": ts,
                "startOrEnd": se,
            })
        }
        Expr::Matrix(m) => {
            let (ts, se) = at(&m.vs.at);
            json!({
                "type": "matrixSelector",
                "name": m.vs.name.clone().unwrap_or_default(),
                "range": m.range.ms(),
                "offset": m.vs.offset.ms(),
                "matchers": matchers(&m.vs.matchers),
                "timestamp": ts,
                "startOrEnd": se,
            })
        }
        Expr::Subquery(s) => {
            let (ts, se) = at(&s.at);
            json!({
                "type": "subquery",
                "expr": to_json(&s.expr),
                "range": s.range.ms(),
                "offset": s.offset.ms(),
                "step": s.step.as_ref().map(|d| d.ms()).unwrap_or(0),
                "timestamp": ts,
                "startOrEnd": se,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    #[test]
    fn tree_matches_prometheus_shape() {
        let j = to_json(&parse(r#"sum by (job) (rate(up{job="x"}[5m] offset 1m)) > 1"#).unwrap());
        assert_eq!(j["type"], "binaryExpr");
        assert_eq!(j["op"], ">");
        assert_eq!(j["matching"], Json::Null);
        assert_eq!(j["rhs"], json!({"type": "numberLiteral", "val": "1"}));
        let agg = &j["lhs"];
        assert_eq!(agg["op"], "sum");
        assert_eq!(agg["grouping"], json!(["job"]));
        assert_eq!(agg["param"], Json::Null);
        let call = &agg["expr"];
        assert_eq!(
            call["func"],
            json!({"name": "rate", "argTypes": ["matrix"], "variadic": 0, "returnType": "vector"})
        );
        let m = &call["args"][0];
        assert_eq!(m["type"], "matrixSelector");
        assert_eq!(m["range"], 300_000);
        assert_eq!(m["offset"], 60_000);
        assert_eq!(m["name"], "up");
        assert_eq!(
            m["matchers"][0],
            json!({"name": "job", "value": "x", "type": "="})
        );
        let j = to_json(&parse("a + on(b) group_left(c) d @ start()").unwrap());
        assert_eq!(
            j["matching"],
            json!({"card": "many-to-one", "labels": ["b"], "on": true, "include": ["c"]})
        );
        assert_eq!(j["rhs"]["startOrEnd"], "start");
    }
}
