//! A tiny character cursor shared by the query-string parsers; errors carry a column.

use super::error::RequestError;

pub struct Cursor<'a> {
    input: &'a str,
    pos: usize,
    what: &'static str,
    depth: usize,
}

/// Nesting of embeds and logic groups; deeper input is refused instead of exhausting the stack.
pub const MAX_DEPTH: usize = 32;
/// Steps of a JSON path (`a->b->c`); longer paths are refused before Postgres sees them.
pub const MAX_JSON_PATH: usize = 32;

/// Characters that end a bare name in select/order/filter grammar.
const NAME_STOP: &[char] = &['.', ',', ':', '(', ')', '!', '"'];

impl<'a> Cursor<'a> {
    pub fn new(input: &'a str, what: &'static str) -> Self {
        Cursor { input, pos: 0, what, depth: 0 }
    }

    pub fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    /// A copy of this cursor moved back (or forward) to `pos`.
    pub fn at(&self, pos: usize) -> Cursor<'a> {
        Cursor { input: self.input, pos, what: self.what, depth: self.depth }
    }

    /// Enters a nested group; fails past [`MAX_DEPTH`].
    pub fn descend(&mut self) -> Result<(), RequestError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    pub fn ascend(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn advance(&mut self, bytes: usize) {
        self.pos = (self.pos + bytes).min(self.input.len());
    }

    pub fn skip_to_end(&mut self) {
        self.pos = self.input.len();
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub fn starts_with(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    pub fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }

    pub fn expect(&mut self, s: &str) -> Result<(), RequestError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.error(&format!("expecting \"{s}\"")))
        }
    }

    pub fn error(&self, expecting: &str) -> RequestError {
        self.error_at(self.pos, expecting)
    }

    pub fn error_at(&self, pos: usize, expecting: &str) -> RequestError {
        let unexpected = match self.input[pos..].chars().next() {
            Some(c) => format!("unexpected \"{c}\""),
            None => "unexpected end of input".to_string(),
        };
        RequestError::Parse {
            what: self.what,
            input: self.input.to_string(),
            column: self.input[..pos].chars().count() + 1,
            details: format!("{unexpected} {expecting}"),
        }
    }

    /// A bare name (stops at reserved characters and at `->`) or a `"quoted"` one.
    pub fn name(&mut self) -> Result<String, RequestError> {
        self.skip_spaces();
        if self.peek() == Some('"') {
            return self.quoted();
        }
        let start = self.pos;
        while let Some(c) = self.peek() {
            if NAME_STOP.contains(&c) || self.starts_with("->") {
                break;
            }
            self.pos += c.len_utf8();
        }
        let name = self.input[start..self.pos].trim_end();
        if name.is_empty() {
            return Err(self.error("expecting a name"));
        }
        Ok(name.to_string())
    }

    /// `"..."` with `\"` and `\\` escapes; returns the unescaped text.
    pub fn quoted(&mut self) -> Result<String, RequestError> {
        self.expect("\"")?;
        let mut out = String::new();
        loop {
            match self.bump() {
                Some('\\') => match self.bump() {
                    Some(c) => out.push(c),
                    None => return Err(self.error("expecting an escaped character")),
                },
                Some('"') => return Ok(out),
                Some(c) => out.push(c),
                None => return Err(self.error("expecting closing quote")),
            }
        }
    }

    /// Text up to (not including) the first of `stops` outside quotes; quotes are kept.
    pub fn until_any(&mut self, stops: &[char]) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if stops.contains(&c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.input[start..self.pos]
    }
}
