//! Go's `fmt` printing for template values: `print`, `println`, `printf` and their verbs.

use super::value::{Value, format_float_e, format_float_f, format_float_g, write_value};

/// Go `strconv.Quote` of bytes.
/// [`go_quote`] appended to `out`, without an intermediate string for printable ASCII.
pub(crate) fn go_quote_into(out: &mut Vec<u8>, b: &[u8]) {
    if b.iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
    {
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
        return;
    }
    out.extend_from_slice(go_quote(b).as_bytes());
}

pub(crate) fn go_quote(b: &[u8]) -> String {
    if b.iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
    {
        let mut out = String::with_capacity(b.len() + 2);
        out.push('"');
        out.push_str(std::str::from_utf8(b).unwrap_or_default());
        out.push('"');
        return out;
    }
    let mut out = String::from("\"");
    let s = String::from_utf8_lossy(b);
    let valid = std::str::from_utf8(b).is_ok();
    if !valid {
        // escape invalid bytes as \x.., valid sequences as usual
        let mut i = 0;
        while i < b.len() {
            match std::str::from_utf8(&b[i..]) {
                Ok(rest) => {
                    quote_str_into(&mut out, rest);
                    break;
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    if let Ok(g) = std::str::from_utf8(&b[i..i + good]) {
                        quote_str_into(&mut out, g);
                    }
                    let bad = e.error_len().unwrap_or(b.len() - i - good);
                    for byte in &b[i + good..i + good + bad] {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                    i += good + bad;
                }
            }
        }
    } else {
        quote_str_into(&mut out, &s);
    }
    out.push('"');
    out
}

fn quote_str_into(out: &mut String, s: &str) {
    for c in s.chars() {
        quote_char_into(out, c, '"');
    }
}

fn quote_char_into(out: &mut String, c: char, q: char) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == q => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if !go_is_print(c) => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
/// Everything in the Unicode categories Cc, Cf, Co, Zs (but ' '), Zl and Zp is not printable,
/// nor are the noncharacters; unassigned code points are not tracked.
pub(crate) fn go_is_print(c: char) -> bool {
    let v = c as u32;
    if v < 0x80 {
        return (0x20..0x7f).contains(&v);
    }
    if c.is_control() {
        return false;
    }
    let not_print = matches!(
        v,
        // Zs, Zl, Zp
        0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000
        // Cf
        | 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890 | 0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        // Co
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF
    );
    !not_print && (v & 0xFFFE) != 0xFFFE && !(0xFDD0..=0xFDEF).contains(&v)
}

fn is_string(v: &Value) -> bool {
    matches!(v, Value::Str(_))
}

/// Go `fmt.Sprint`.
pub(crate) fn sprint(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let s = is_string(a);
        if i > 0 && !s && !prev_string {
            out.push(b' ');
        }
        write_value(&mut out, a);
        prev_string = s;
    }
    out
}

/// Go `fmt.Sprintln`.
pub(crate) fn sprintln(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        write_value(&mut out, a);
    }
    out.push(b'\n');
    out
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(out: &mut Vec<u8>, body: &[u8], sp: &Spec, numeric: bool) {
    let w = sp.width.unwrap_or(0);
    if w == 0 {
        out.extend_from_slice(body);
        return;
    }
    let len = String::from_utf8_lossy(body).chars().count();
    if len >= w {
        out.extend_from_slice(body);
        return;
    }
    let n = w - len;
    if sp.minus {
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(b' ', n));
    } else if sp.zero && numeric {
        let (sign, rest) = match body.first() {
            Some(b'-' | b'+' | b' ') => (&body[..1], &body[1..]),
            _ => (&body[..0], body),
        };
        out.extend_from_slice(sign);
        out.extend(std::iter::repeat_n(b'0', n));
        out.extend_from_slice(rest);
    } else if sp.zero && !numeric {
        out.extend(std::iter::repeat_n(b'0', n));
        out.extend_from_slice(body);
    } else {
        out.extend(std::iter::repeat_n(b' ', n));
        out.extend_from_slice(body);
    }
}

fn bad_verb(out: &mut Vec<u8>, verb: char, v: &Value) {
    out.extend_from_slice(format!("%!{verb}(").as_bytes());
    match v {
        Value::Nil => out.extend_from_slice(b"<nil>"),
        _ => {
            out.extend_from_slice(v.type_name().as_bytes());
            out.push(b'=');
            write_value(out, v);
        }
    }
    out.push(b')');
}

fn sign_prefix(neg: bool, sp: &Spec) -> &'static str {
    if neg {
        "-"
    } else if sp.plus {
        "+"
    } else if sp.space {
        " "
    } else {
        ""
    }
}

fn fmt_int(out: &mut Vec<u8>, neg: bool, mag: u128, verb: char, sp: &Spec) {
    let digits = match verb {
        'd' | 'v' => mag.to_string(),
        'b' => format!("{mag:b}"),
        'o' | 'O' => format!("{mag:o}"),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        _ => mag.to_string(),
    };
    let mut digits = digits;
    if let Some(p) = sp.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match verb {
        'O' => "0o",
        'x' if sp.sharp => "0x",
        'X' if sp.sharp => "0X",
        'o' if sp.sharp => "0",
        'b' if sp.sharp => "0b",
        _ => "",
    };
    let body = format!("{}{prefix}{digits}", sign_prefix(neg, sp));
    let mut s2 = *sp;
    if sp.prec.is_some() {
        s2.zero = false;
    }
    pad(out, body.as_bytes(), &s2, true);
}

fn fmt_float(out: &mut Vec<u8>, f: f64, verb: char, sp: &Spec) {
    let body = match verb {
        'v' | 'g' => format_float_g(f, sp.prec, false),
        'G' => format_float_g(f, sp.prec, true),
        'e' => format_float_e(f, sp.prec.unwrap_or(6), false),
        'E' => format_float_e(f, sp.prec.unwrap_or(6), true),
        'f' | 'F' => format_float_f(f, sp.prec.unwrap_or(6)),
        _ => format_float_g(f, sp.prec, false),
    };
    let body = if !body.starts_with('-') && f.is_finite() {
        format!("{}{body}", sign_prefix(false, sp))
    } else if body == "+Inf" && !sp.plus {
        "+Inf".to_string()
    } else {
        body
    };
    pad(out, body.as_bytes(), sp, f.is_finite());
}

fn fmt_str(out: &mut Vec<u8>, b: &[u8], verb: char, sp: &Spec) {
    match verb {
        'v' | 's' if sp.prec.is_none() => pad(out, b, sp, false),
        'v' | 's' => {
            let body: Vec<u8> = match sp.prec {
                Some(p) => String::from_utf8_lossy(b)
                    .chars()
                    .take(p)
                    .collect::<String>()
                    .into_bytes(),
                None => b.to_vec(),
            };
            pad(out, &body, sp, false);
        }
        'q' => pad(out, go_quote(b).as_bytes(), sp, false),
        'x' | 'X' => {
            let b = match sp.prec {
                Some(p) => &b[..p.min(b.len())],
                None => b,
            };
            let mut s = String::new();
            for (i, byte) in b.iter().enumerate() {
                if sp.space && i > 0 {
                    s.push(' ');
                }
                if sp.sharp && (sp.space || i == 0) {
                    s.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    s.push_str(&format!("{byte:02x}"));
                } else {
                    s.push_str(&format!("{byte:02X}"));
                }
            }
            pad(out, s.as_bytes(), sp, false);
        }
        _ => bad_verb(out, verb, &Value::bytes(b)),
    }
}

fn fmt_value(out: &mut Vec<u8>, v: &Value, verb: char, sp: &Spec) {
    match v {
        Value::Nil => match verb {
            'v' => pad(out, b"<nil>", sp, false),
            _ => bad_verb(out, verb, v),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { b"true" } else { b"false" }, sp, false),
            _ => bad_verb(out, verb, v),
        },
        Value::Int(_) | Value::Int64(_) | Value::Uint(_) => {
            let (neg, mag) = match v {
                Value::Int(i) | Value::Int64(i) => (*i < 0, i.unsigned_abs() as u128),
                Value::Uint(u) => (false, *u as u128),
                _ => (false, 0),
            };
            match verb {
                'd' | 'v' | 'b' | 'o' | 'O' | 'x' | 'X' => fmt_int(out, neg, mag, verb, sp),
                'c' => {
                    let c = if neg {
                        '\u{fffd}'
                    } else {
                        char::from_u32(mag as u32).unwrap_or('\u{fffd}')
                    };
                    pad(out, c.to_string().as_bytes(), sp, false);
                }
                'q' => {
                    let c = if neg {
                        '\u{fffd}'
                    } else {
                        char::from_u32(mag as u32).unwrap_or('\u{fffd}')
                    };
                    let mut s = String::from("'");
                    quote_char_into(&mut s, c, '\'');
                    s.push('\'');
                    pad(out, s.as_bytes(), sp, false);
                }
                'U' => {
                    let s = format!("U+{mag:04X}");
                    pad(out, s.as_bytes(), sp, false);
                }
                'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(out, verb, v),
                _ => bad_verb(out, verb, v),
            }
        }
        Value::Float(f) => match verb {
            'v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F' => fmt_float(out, *f, verb, sp),
            _ => bad_verb(out, verb, v),
        },
        Value::Str(b) => fmt_str(out, b, verb, sp),
        Value::Time(t) => match verb {
            'v' | 's' => pad(out, t.go_string().as_bytes(), sp, false),
            'q' => pad(
                out,
                go_quote(t.go_string().as_bytes()).as_bytes(),
                sp,
                false,
            ),
            _ => bad_verb(out, verb, v),
        },
        Value::List(l) => {
            if verb == 'v' || verb == 's' || verb == 'd' || verb == 'q' || verb == 'x' {
                out.push(b'[');
                for (i, e) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    fmt_value(out, e, verb, sp);
                }
                out.push(b']');
            } else {
                bad_verb(out, verb, v);
            }
        }
        Value::Map(_, crate::template::value::MapKind::Struct(_)) => {
            let text = v.struct_text().unwrap_or_default();
            fmt_str(out, text.as_bytes(), verb, sp);
        }
        Value::Map(m, _) => {
            out.extend_from_slice(b"map[");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                fmt_str(out, k.as_bytes(), verb, sp);
                out.push(b':');
                fmt_value(out, e, verb, sp);
            }
            out.push(b']');
        }
    }
}

fn take_num(f: &[u8], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut n: usize = 0;
    while *i < f.len() && f[*i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add((f[*i] - b'0') as usize);
        *i += 1;
    }
    if *i > start {
        Some(n.min(1 << 20))
    } else {
        None
    }
}

/// Go `fmt.Sprintf`.
#[cfg(test)]
pub(crate) fn sprintf(format: &[u8], args: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(format.len() + 16);
    sprintf_into(&mut out, format, args);
    out
}

/// Go `fmt.Sprintf`, appending to `out`.
pub(crate) fn sprintf_into(out: &mut Vec<u8>, format: &[u8], args: &[Value]) {
    let mut argi = 0;
    let mut i = 0;
    let f = format;
    while i < f.len() {
        if f[i] != b'%' {
            let start = i;
            while i < f.len() && f[i] != b'%' {
                i += 1;
            }
            out.extend_from_slice(&f[start..i]);
            continue;
        }
        i += 1;
        let mut sp = Spec::default();
        while i < f.len() {
            match f[i] {
                b'-' => {
                    sp.minus = true;
                    sp.zero = false;
                }
                b'+' => sp.plus = true,
                b'#' => sp.sharp = true,
                b' ' => sp.space = true,
                b'0' => sp.zero = !sp.minus,
                _ => break,
            }
            i += 1;
        }
        if i < f.len() && f[i] == b'*' {
            i += 1;
            match args.get(argi) {
                Some(Value::Int(w) | Value::Int64(w)) => {
                    if *w < 0 {
                        sp.minus = true;
                        sp.zero = false;
                    }
                    sp.width = Some((w.unsigned_abs() as usize).min(1 << 20));
                }
                _ => out.extend_from_slice(b"%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            sp.width = take_num(f, &mut i);
        }
        if i < f.len() && f[i] == b'.' {
            i += 1;
            if i < f.len() && f[i] == b'*' {
                i += 1;
                match args.get(argi) {
                    Some(Value::Int(p) | Value::Int64(p)) if *p >= 0 => {
                        sp.prec = Some((*p as usize).min(1 << 20))
                    }
                    _ => out.extend_from_slice(b"%!(BADPREC)"),
                }
                argi += 1;
            } else {
                sp.prec = Some(take_num(f, &mut i).unwrap_or(0));
            }
        }
        if i >= f.len() {
            out.extend_from_slice(b"%!(NOVERB)");
            break;
        }
        // The verb is one rune: decode at most 4 bytes, not the rest of the format.
        let verb = if f[i].is_ascii() {
            char::from(f[i])
        } else {
            let window = &f[i..f.len().min(i + 4)];
            String::from_utf8_lossy(window)
                .chars()
                .next()
                .unwrap_or('?')
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push(b'%');
            continue;
        }
        if verb == 'T' {
            let name = args.get(argi).map_or("%!T(MISSING)", |a| match a {
                Value::Nil => "<nil>",
                other => other.type_name(),
            });
            argi += 1;
            pad(out, name.as_bytes(), &sp, false);
            continue;
        }
        let Some(a) = args.get(argi) else {
            out.extend_from_slice(format!("%!{verb}(MISSING)").as_bytes());
            continue;
        };
        argi += 1;
        fmt_value(out, a, verb, &sp);
    }
    if argi < args.len() {
        out.extend_from_slice(b"%!(EXTRA ");
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.extend_from_slice(b", ");
            }
            match a {
                Value::Nil => out.extend_from_slice(b"<nil>"),
                _ => {
                    out.extend_from_slice(a.type_name().as_bytes());
                    out.push(b'=');
                    write_value(out, a);
                }
            }
        }
        out.push(b')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(f: &str, args: &[Value]) -> String {
        String::from_utf8(sprintf(f.as_bytes(), args)).unwrap()
    }

    #[test]
    fn verbs() {
        assert_eq!(
            pf(
                "%q|%5s|%-4s|%d|%x",
                &[
                    Value::str("bar"),
                    Value::str("ab"),
                    Value::str("c"),
                    Value::Int(42),
                    Value::str("hi")
                ]
            ),
            "\"bar\"|   ab|c   |42|6869"
        );
        assert_eq!(
            pf(
                "%05d|%+d|%x|%X",
                &[
                    Value::Int(-42),
                    Value::Int(3),
                    Value::Int(255),
                    Value::Int(255)
                ]
            ),
            "-0042|+3|ff|FF"
        );
        assert_eq!(
            pf(
                "%.2f|%e|%g",
                &[
                    Value::Float(1.23456),
                    Value::Float(1234.5),
                    Value::Float(0.5)
                ]
            ),
            "1.23|1.234500e+03|0.5"
        );
        assert_eq!(pf("%d", &[Value::str("x")]), "%!d(string=x)");
        assert_eq!(pf("%s %s", &[Value::str("x")]), "x %!s(MISSING)");
        assert_eq!(
            pf("%s", &[Value::str("x"), Value::Int(1)]),
            "x%!(EXTRA int=1)"
        );
        assert_eq!(
            pf("%v", &[Value::list(vec![Value::str("a"), Value::Int(1)])]),
            "[a 1]"
        );
        assert_eq!(
            pf(
                "%c|%U|%t",
                &[Value::Int(97), Value::Int(0x1F600), Value::Bool(true)]
            ),
            "a|U+1F600|true"
        );
    }

    #[test]
    fn print_spacing() {
        let a = [
            Value::str("a"),
            Value::Int(1),
            Value::Int(2),
            Value::str("b"),
            Value::str("c"),
        ];
        assert_eq!(String::from_utf8(sprint(&a)).unwrap(), "a1 2bc");
        assert_eq!(
            String::from_utf8(sprintln(&[Value::str("x")])).unwrap(),
            "x\n"
        );
    }
}
