//! Go's predefined template functions (`len`, `index`, `slice`, `print*`, comparisons, `not`,
//! `html`, `js`, `urlquery`); `and`/`or` short-circuit and live in the executor.

use std::cmp::Ordering;
use std::sync::OnceLock;

use super::{Arity, CallCtx, FuncMap};
use crate::escape::{html_escape_string, js_escape_string, query_escape};
use crate::format::{sprint, sprintf, sprintln};
use crate::value::{MapKind, Value};

/// The shared builtin map.
pub(crate) fn builtins() -> &'static FuncMap {
    static B: OnceLock<FuncMap> = OnceLock::new();
    B.get_or_init(build)
}

fn eval_args(ctx: &CallCtx<'_>, args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.clone();
    }
    sprint(args, ctx.stringer)
}

fn build() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert("not", |_, a| match a {
        [v] => Ok(Value::Bool(!v.is_true())),
        _ => Err(format!(
            "wrong number of args for not: want 1 got {}",
            a.len()
        )),
    });
    m.insert("len", |_, a| match a {
        [v] => length(v).map(Value::from),
        _ => Err(format!(
            "wrong number of args for len: want 1 got {}",
            a.len()
        )),
    });
    m.insert("index", |_, a| match a {
        [item, idx @ ..] => index(item, idx),
        _ => Err("wrong number of args for index: want at least 1 got 0".into()),
    });
    m.insert("slice", |_, a| match a {
        [item, idx @ ..] => slice(item, idx),
        _ => Err("wrong number of args for slice: want at least 1 got 0".into()),
    });
    m.insert("print", |ctx, a| Ok(Value::String(sprint(a, ctx.stringer))));
    m.insert("println", |ctx, a| {
        Ok(Value::String(sprintln(a, ctx.stringer)))
    });
    m.insert("printf", |ctx, a| match a {
        [Value::String(f), rest @ ..] => Ok(Value::String(sprintf(f, rest, ctx.stringer))),
        [other, ..] => Err(super::type_err(0, "string", other)),
        [] => Err("wrong number of args for printf: want at least 1 got 0".into()),
    });
    m.insert("eq", |_, a| match a {
        [] => Err("wrong number of args for eq: want at least 1 got 0".into()),
        [_] => Err("missing argument for comparison".into()),
        [first, rest @ ..] => {
            for b in rest {
                if eq(first, b)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
    });
    m.insert("ne", |_, a| match a {
        [x, y] => Ok(Value::Bool(!eq(x, y)?)),
        _ => Err(format!(
            "wrong number of args for ne: want 2 got {}",
            a.len()
        )),
    });
    m.insert("lt", |_, a| cmp2("lt", a));
    m.insert("le", |_, a| cmp2("le", a));
    m.insert("gt", |_, a| cmp2("gt", a));
    m.insert("ge", |_, a| cmp2("ge", a));
    m.insert("html", |ctx, a| {
        Ok(Value::String(html_escape_string(&eval_args(ctx, a))))
    });
    m.insert("js", |ctx, a| {
        Ok(Value::String(js_escape_string(&eval_args(ctx, a))))
    });
    for (name, arity) in [
        ("not", Arity::Exactly(1)),
        ("len", Arity::Exactly(1)),
        ("index", Arity::AtLeast(1)),
        ("slice", Arity::AtLeast(1)),
        ("printf", Arity::AtLeast(1)),
        ("eq", Arity::AtLeast(1)),
        ("ne", Arity::Exactly(2)),
        ("lt", Arity::Exactly(2)),
        ("le", Arity::Exactly(2)),
        ("gt", Arity::Exactly(2)),
        ("ge", Arity::Exactly(2)),
    ] {
        m.set_arity(name, arity);
    }
    m.insert("urlquery", |ctx, a| {
        Ok(Value::String(query_escape(&eval_args(ctx, a))))
    });
    m
}

/// Go's `len`.
pub(crate) fn length(v: &Value) -> Result<i64, String> {
    let n = match v {
        Value::String(s) | Value::Html(s) => s.len(),
        Value::List(l) => l.items.len(),
        Value::Map(m) if m.kind != MapKind::Struct => m.entries.len(),
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    };
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

fn index_arg(v: &Value, cap: usize) -> Result<usize, String> {
    let i = match v {
        Value::Int(i) => *i,
        Value::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if i < 0 || i as u64 > cap as u64 {
        return Err(format!("index out of range: {i}"));
    }
    Ok(i as usize)
}

fn index(item: &Value, idx: &[Value]) -> Result<Value, String> {
    let mut item = item.clone();
    if item.is_nil() {
        return Err("index of untyped nil".into());
    }
    for i in idx {
        item = match &item {
            Value::List(l) => {
                let n = index_arg(i, l.items.len())?;
                if n == l.items.len() {
                    return Err(format!("index out of range: {n}"));
                }
                l.items[n].clone()
            }
            Value::String(s) | Value::Html(s) => {
                let n = index_arg(i, s.len())?;
                if n == s.len() {
                    return Err(format!("index out of range: {n}"));
                }
                Value::Int(i64::from(s.as_bytes()[n]))
            }
            Value::Map(m) => {
                let key = match i {
                    Value::String(k) => k,
                    Value::Nil => return Err("value is nil; should be of type string".into()),
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        ));
                    }
                };
                match m.entries.get(key) {
                    Some(v) => v.clone(),
                    None if m.kind == MapKind::Strings => Value::String(String::new()),
                    None => Value::Nil,
                }
            }
            Value::Nil => Value::Nil,
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, idx: &[Value]) -> Result<Value, String> {
    if item.is_nil() {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let cap = match item {
        Value::String(s) | Value::Html(s) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.items.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut bounds = [0, cap, cap];
    for (i, v) in idx.iter().enumerate() {
        bounds[i] = index_arg(v, cap)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    Ok(match item {
        Value::String(s) => Value::String(
            s.get(bounds[0]..bounds[1])
                .ok_or("slice splits a UTF-8 character")?
                .to_string(),
        ),
        Value::Html(s) => Value::Html(
            s.get(bounds[0]..bounds[1])
                .ok_or("slice splits a UTF-8 character")?
                .to_string(),
        ),
        Value::List(l) => Value::List(std::sync::Arc::new(crate::value::List {
            items: l.items[bounds[0]..bounds[1]].to_vec(),
            type_name: l.type_name.clone(),
        })),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Duration(_) => Kind::Int,
        Value::Uint(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) | Value::Html(_) => Kind::Str,
        _ => Kind::Other,
    }
}

fn int_of(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Duration(i) => *i,
        _ => 0,
    }
}

const BAD_CMP: &str = "incompatible types for comparison";

/// Go's `eq` for one pair, with its kind rules (int and uint compare; int and float do not).
pub(crate) fn eq(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (kind(a), kind(b));
    if k1 != k2 {
        return match (a, b) {
            (x, Value::Uint(u)) if k1 == Kind::Int => Ok(int_of(x) >= 0 && int_of(x) as u64 == *u),
            (Value::Uint(u), y) if k2 == Kind::Int => Ok(int_of(y) >= 0 && int_of(y) as u64 == *u),
            _ if k1 == Kind::Invalid || k2 == Kind::Invalid => Ok(false),
            _ => Err(BAD_CMP.into()),
        };
    }
    Ok(match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Uint(x), Value::Uint(y)) => x == y,
        _ if k1 == Kind::Int => int_of(a) == int_of(b),
        _ if k1 == Kind::Str => a.as_str() == b.as_str(),
        (Value::Time(x), Value::Time(y)) => x == y,
        (Value::List(_) | Value::Map(_), _) => {
            return Err(format!("non-comparable type {}", a.type_name()));
        }
        _ => false,
    })
}

/// Go's ordering for `lt`/`le`/`gt`/`ge`.
pub(crate) fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    let (k1, k2) = (kind(a), kind(b));
    let bad_type = || "invalid type for comparison".to_string();
    if matches!(k1, Kind::Invalid | Kind::Other) || matches!(k2, Kind::Invalid | Kind::Other) {
        return Err(bad_type());
    }
    if k1 != k2 {
        return match (a, b) {
            (x, Value::Uint(u)) if k1 == Kind::Int => Ok(if int_of(x) < 0 {
                Ordering::Less
            } else {
                (int_of(x) as u64).cmp(u)
            }),
            (Value::Uint(u), y) if k2 == Kind::Int => Ok(if int_of(y) < 0 {
                Ordering::Greater
            } else {
                u.cmp(&(int_of(y) as u64))
            }),
            _ => Err(BAD_CMP.into()),
        };
    }
    match (a, b) {
        (Value::Bool(_), _) => Err(bad_type()),
        (Value::Float(x), Value::Float(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Greater)),
        (Value::Uint(x), Value::Uint(y)) => Ok(x.cmp(y)),
        _ if k1 == Kind::Int => Ok(int_of(a).cmp(&int_of(b))),
        _ => Ok(a.as_str().cmp(&b.as_str())),
    }
}

fn cmp2(name: &str, a: &[Value]) -> Result<Value, String> {
    let [x, y] = a else {
        return Err(format!(
            "wrong number of args for {name}: want 2 got {}",
            a.len()
        ));
    };
    // Go derives le/gt/ge from lt and eq, which matters for NaN (gt NaN 1 is true in Go).
    let lt = match (x, y) {
        (Value::Float(p), Value::Float(q)) => {
            compare(x, y)?;
            p < q
        }
        _ => compare(x, y)? == Ordering::Less,
    };
    let r = match name {
        "lt" => lt,
        "le" => lt || eq(x, y)?,
        "gt" => !(lt || eq(x, y)?),
        _ => !lt,
    };
    Ok(Value::Bool(r))
}
