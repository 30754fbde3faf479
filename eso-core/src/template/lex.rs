//! Lexer for Go `text/template` source, following the rules of Go's `text/template/parse`.
//! Tokens borrow their text from the source: lexing allocates only the token vector.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Text,
    LeftDelim,
    RightDelim,
    Comment,
    Space,
    Identifier,
    Field,
    Variable,
    Dot,
    Pipe,
    LeftParen,
    RightParen,
    String,
    RawString,
    Number,
    CharConstant,
    Bool,
    Nil,
    Assign,
    Declare,
    Char,
    // keywords
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    Eof,
    Error,
}

/// A token: its type and where its text is in the source (for Text: the text after
/// trimming; for Error: empty, the message is beside the tokens, see [`lex`]). Tokens hold
/// no reference to the source, so one buffer of them serves parse after parse.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub typ: Tok,
    /// Byte offset of the token in the source.
    pub pos: usize,
    /// Byte offset of the end of its text.
    pub end: usize,
}

impl Item {
    /// The token's text in `src` (the source it was lexed from).
    pub(crate) fn text<'a>(&self, src: &'a str) -> &'a str {
        src.get(self.pos..self.end).unwrap_or_default()
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        return c == '_' || c.is_ascii_alphanumeric();
    }
    c.is_alphabetic() || c.is_numeric()
}

struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    items: Vec<Item>,
    paren_depth: i32,
    /// The message of the `Error` token (lexing stops at the first error).
    error: String,
}

/// Formats a rune like Go's `%#U`: `U+002D '-'`.
pub(crate) fn go_u(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// The rest of the input as bytes (no character boundary check).
    fn rest_bytes(&self) -> &'a [u8] {
        self.input.as_bytes().get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<char> {
        match self.rest_bytes().first() {
            Some(&b) if b.is_ascii() => Some(char::from(b)),
            Some(_) => self.rest().chars().next(),
            None => None,
        }
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn push(&mut self, typ: Tok, pos: usize, end: usize) {
        self.items.push(Item { typ, pos, end });
    }

    fn emit(&mut self, typ: Tok) {
        self.push(typ, self.start, self.pos);
        self.start = self.pos;
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    fn error(&mut self, msg: String) {
        self.error = msg;
        self.push(Tok::Error, self.start, self.start);
    }

    fn has_left_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && b[0] == b'-' && is_space(b[1])
    }

    fn has_right_trim(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() >= 2 && is_space(b[0]) && b[1] == b'-'
    }

    /// (at right delimiter, with trim marker)
    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest_bytes();
        let right = self.right.as_bytes();
        match r.first() {
            Some(b' ' | b'\t' | b'\r' | b'\n') => {
                if r.get(1) == Some(&b'-') && r[2..].starts_with(right) {
                    return (true, true);
                }
                (r.starts_with(right), false)
            }
            Some(c) if *c == right[0] => (r.starts_with(right), false),
            _ => (false, false),
        }
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if c.is_ascii() && is_space(c as u8) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(c) if c as u32 != u32::from(self.right.as_bytes()[0]) => false,
            _ => self.rest_bytes().starts_with(self.right.as_bytes()),
        }
    }

    /// Returns false when lexing must stop (EOF or error emitted).
    fn lex_text(&mut self) -> bool {
        if let Some(x) = find_delim(self.rest_bytes(), self.left.as_bytes()) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + self.left.len();
                let mut trim = 0;
                if Self::has_left_trim(&self.input[delim_end..]) {
                    let text = &self.input[self.start..self.pos];
                    trim = text.len() - text.trim_end_matches([' ', '\t', '\r', '\n']).len();
                }
                let end = self.pos - trim;
                if end > self.start {
                    self.push(Tok::Text, self.start, end);
                }
                self.ignore();
            }
            return self.lex_left_delim();
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.push(Tok::Text, self.start, self.pos);
            self.ignore();
        }
        self.emit(Tok::Eof);
        false
    }

    fn lex_left_delim(&mut self) -> bool {
        self.pos += self.left.len();
        let trim = Self::has_left_trim(self.rest());
        let after = if trim { 2 } else { 0 };
        if self.input[self.pos + after..].starts_with("/*") {
            self.pos += after;
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Tok::LeftDelim);
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += 2;
        let Some(x) = self.rest().find("*/") else {
            self.error("unclosed comment".into());
            return false;
        };
        self.pos += x + 2;
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        self.emit(Tok::Comment);
        if trim {
            self.pos += 2;
        }
        self.pos += self.right.len();
        if trim {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches([' ', '\t', '\r', '\n']).len();
        }
        self.ignore();
        true
    }

    fn lex_right_delim(&mut self) {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += self.right.len();
        self.emit(Tok::RightDelim);
        if trim {
            let r = self.rest();
            self.pos += r.len() - r.trim_start_matches([' ', '\t', '\r', '\n']).len();
            self.ignore();
        }
    }

    fn lex_inside_action(&mut self) -> bool {
        loop {
            let (delim, _) = self.at_right_delim();
            if delim {
                if self.paren_depth == 0 {
                    self.lex_right_delim();
                    return true;
                }
                self.error("unclosed left paren".into());
                return false;
            }
            let Some(c) = self.next() else {
                self.error("unclosed action".into());
                return false;
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    // lexSpace
                    self.pos -= 1;
                    let mut n = 0;
                    while let Some(c) = self.peek() {
                        if !(c.is_ascii() && is_space(c as u8)) {
                            break;
                        }
                        self.next();
                        n += 1;
                    }
                    let p = self.pos - 1;
                    if Self::has_right_trim(&self.input[p..])
                        && self.input[p + 2..].starts_with(self.right)
                    {
                        self.pos -= 1; // before the space
                        if n == 1 {
                            continue;
                        }
                    }
                    self.emit(Tok::Space);
                }
                '=' => self.emit(Tok::Assign),
                ':' => {
                    if self.next() != Some('=') {
                        self.error("expected :=".into());
                        return false;
                    }
                    self.emit(Tok::Declare);
                }
                '|' => self.emit(Tok::Pipe),
                '"' => {
                    loop {
                        match self.next() {
                            Some('\\') => match self.next() {
                                Some(c) if c != '\n' => {}
                                _ => {
                                    self.error("unterminated quoted string".into());
                                    return false;
                                }
                            },
                            None | Some('\n') => {
                                self.error("unterminated quoted string".into());
                                return false;
                            }
                            Some('"') => break,
                            _ => {}
                        }
                    }
                    self.emit(Tok::String);
                }
                '`' => {
                    loop {
                        match self.next() {
                            None => {
                                self.error("unterminated raw quoted string".into());
                                return false;
                            }
                            Some('`') => break,
                            _ => {}
                        }
                    }
                    self.emit(Tok::RawString);
                }
                '$' => {
                    if self.at_terminator() {
                        self.emit(Tok::Variable);
                    } else if !self.lex_field_or_var(Tok::Variable) {
                        return false;
                    }
                }
                '\'' => {
                    loop {
                        match self.next() {
                            Some('\\') => match self.next() {
                                Some(c) if c != '\n' => {}
                                _ => {
                                    self.error("unterminated character constant".into());
                                    return false;
                                }
                            },
                            None | Some('\n') => {
                                self.error("unterminated character constant".into());
                                return false;
                            }
                            Some('\'') => break,
                            _ => {}
                        }
                    }
                    self.emit(Tok::CharConstant);
                }
                '.' if !matches!(self.peek(), Some('0'..='9')) => {
                    if !self.lex_field_or_var(Tok::Field) {
                        return false;
                    }
                }
                '.' | '+' | '-' | '0'..='9' => {
                    self.pos -= 1;
                    if !self.scan_number() {
                        let t = self.input[self.start..self.pos].to_string();
                        self.error(format!("bad number syntax: {t:?}"));
                        return false;
                    }
                    self.emit(Tok::Number);
                }
                '(' => {
                    self.paren_depth += 1;
                    self.emit(Tok::LeftParen);
                }
                ')' => {
                    self.paren_depth -= 1;
                    if self.paren_depth < 0 {
                        self.error("unexpected right paren".into());
                        return false;
                    }
                    self.emit(Tok::RightParen);
                }
                c if is_alnum(c) => {
                    while let Some(c) = self.peek() {
                        if !is_alnum(c) {
                            break;
                        }
                        self.next();
                    }
                    if !self.at_terminator() {
                        let c = self.peek().unwrap_or(' ');
                        self.error(format!("bad character {}", go_u(c)));
                        return false;
                    }
                    let word = &self.input[self.start..self.pos];
                    let typ = match word {
                        "block" => Tok::Block,
                        "break" => Tok::Break,
                        "continue" => Tok::Continue,
                        "define" => Tok::Define,
                        "else" => Tok::Else,
                        "end" => Tok::End,
                        "if" => Tok::If,
                        "range" => Tok::Range,
                        "nil" => Tok::Nil,
                        "template" => Tok::Template,
                        "with" => Tok::With,
                        "true" | "false" => Tok::Bool,
                        _ => Tok::Identifier,
                    };
                    self.emit(typ);
                }
                c if c.is_ascii() && !c.is_ascii_control() => self.emit(Tok::Char),
                c => {
                    self.error(format!("unrecognized character in action: {}", go_u(c)));
                    return false;
                }
            }
        }
    }

    fn lex_field_or_var(&mut self, typ: Tok) -> bool {
        if self.at_terminator() {
            self.emit(if typ == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return true;
        }
        while let Some(c) = self.peek() {
            if !is_alnum(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().unwrap_or(' ');
            self.error(format!("bad character {}", go_u(c)));
            return false;
        }
        self.emit(typ);
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek()
            && is_alnum(c)
        {
            self.next();
            return false;
        }
        true
    }
}

/// The first occurrence of `delim` (not empty) in `hay`: a scan for its first byte, then a
/// compare (delimiters are short, and building a substring searcher per call costs more).
fn find_delim(hay: &[u8], delim: &[u8]) -> Option<usize> {
    let (&first, rest) = delim.split_first()?;
    let mut from = 0;
    while let Some(i) = memchr::memchr(first, &hay[from..]) {
        let at = from + i;
        if hay[at + 1..].starts_with(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Lexes `input` into tokens, appended to `items` (cleared first, so a caller can reuse one
/// buffer), and returns the message of the error if there is one. The last token is `Eof`
/// or `Error`.
pub(crate) fn lex(input: &str, left: &str, right: &str, items: &mut Vec<Item>) -> String {
    items.clear();
    items.reserve(input.len() / 4 + 4);
    let mut l = Lexer {
        input,
        left: if left.is_empty() { "{{" } else { left },
        right: if right.is_empty() { "}}" } else { right },
        pos: 0,
        start: 0,
        items: std::mem::take(items),
        paren_depth: 0,
        error: String::new(),
    };
    while l.lex_text() {}
    *items = l.items;
    l.error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(s: &str) -> Vec<Tok> {
        let mut items = Vec::new();
        lex(s, "{{", "}}", &mut items);
        items.into_iter().map(|i| i.typ).collect()
    }

    #[test]
    fn basic() {
        assert_eq!(
            types("a{{ .foo | upper }}b"),
            vec![
                Tok::Text,
                Tok::LeftDelim,
                Tok::Space,
                Tok::Field,
                Tok::Space,
                Tok::Pipe,
                Tok::Space,
                Tok::Identifier,
                Tok::Space,
                Tok::RightDelim,
                Tok::Text,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn trim() {
        let src = "a  {{- .foo -}}  \n b";
        let mut items = Vec::new();
        lex(src, "{{", "}}", &mut items);
        assert_eq!(items[0].text(src), "a");
        assert_eq!(items.last().map(|i| i.typ), Some(Tok::Eof));
        let texts: Vec<_> = items
            .iter()
            .filter(|i| i.typ == Tok::Text)
            .map(|i| i.text(src))
            .collect();
        assert_eq!(texts, vec!["a", "b"]);
    }

    #[test]
    fn unclosed() {
        let mut items = Vec::new();
        let error = lex("{{ .foo ", "{{", "}}", &mut items);
        assert_eq!(error, "unclosed action");
        assert_eq!(items.last().map(|i| i.typ), Some(Tok::Error));
    }
}
