//! The setup's conversation with the user: lines out, answers in.
//!
//! Input is any `BufRead` (stdin, or a scripted buffer in tests). Reads run on tokio's blocking
//! pool so a person thinking about their answer never stalls the runtime's network tasks.

use std::fmt::Display;
use std::io::{self, BufRead, Read, Write};

use powerwall_gateway::Secret;

use super::error::SetupError;

/// Longest answer accepted (a pasted redirect URL is about 1 KiB; tokens about 2 KiB).
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Reads one secret line from the terminal without echoing it.
pub type HiddenReader = fn() -> io::Result<String>;

/// Prompts, progress lines and answers of one setup run.
pub struct Console<R, W> {
    /// `None` only while a read is in flight on the blocking pool.
    input: Option<R>,
    output: W,
    hidden: Option<HiddenReader>,
}

impl<R, W> Console<R, W>
where
    R: BufRead + Send + 'static,
    W: Write,
{
    /// A console reading answers from `input` and writing to `output`; secrets are read like
    /// any other answer.
    pub fn new(input: R, output: W) -> Self {
        Self {
            input: Some(input),
            output,
            hidden: None,
        }
    }

    /// Reads secrets with `reader` instead (no echo on a terminal).
    pub fn with_hidden_input(mut self, reader: HiddenReader) -> Self {
        self.hidden = Some(reader);
        self
    }

    /// Writes one line and flushes it, so progress shows while the next step runs.
    pub fn say(&mut self, line: impl Display) -> Result<(), SetupError> {
        writeln!(self.output, "{line}")
            .and_then(|()| self.output.flush())
            .map_err(SetupError::Output)
    }

    /// Writes a prompt (no newline) and reads the answer, trimmed; end of input is an error.
    pub async fn ask(&mut self, prompt: &str) -> Result<String, SetupError> {
        self.prompt(prompt)?;
        self.read_answer().await
    }

    /// Like [`Console::ask`], for a credential: not echoed when a hidden reader is set, and
    /// wrapped so it cannot be printed by mistake.
    pub async fn ask_secret(&mut self, prompt: &str) -> Result<Secret, SetupError> {
        self.prompt(prompt)?;
        let Some(reader) = self.hidden else {
            return self.read_answer().await.map(Secret::new);
        };
        let answer = tokio::task::spawn_blocking(reader)
            .await
            .map_err(|err| SetupError::Input(io::Error::other(err)))?
            .map_err(SetupError::Input)?;
        Ok(Secret::new(answer.trim()))
    }

    /// The output writer (tests read what was printed).
    pub fn into_output(self) -> W {
        self.output
    }

    fn prompt(&mut self, prompt: &str) -> Result<(), SetupError> {
        write!(self.output, "{prompt}")
            .and_then(|()| self.output.flush())
            .map_err(SetupError::Output)
    }

    async fn read_answer(&mut self) -> Result<String, SetupError> {
        let Some(mut input) = self.input.take() else {
            return Err(SetupError::InputClosed);
        };
        let (input, read) = tokio::task::spawn_blocking(move || {
            let read = read_bounded_line(&mut input);
            (input, read)
        })
        .await
        .map_err(|err| SetupError::Input(io::Error::other(err)))?;
        self.input = Some(input);
        match read.map_err(SetupError::Input)? {
            Some(line) => Ok(line.trim().to_owned()),
            None => Err(SetupError::InputClosed),
        }
    }
}

/// One line of at most [`MAX_ANSWER_BYTES`]; `None` at end of input.
fn read_bounded_line(input: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut bytes = Vec::new();
    let read = input
        .by_ref()
        .take(MAX_ANSWER_BYTES)
        .read_until(b'\n', &mut bytes)?;
    if read == 0 {
        return Ok(None);
    }
    if read as u64 == MAX_ANSWER_BYTES && bytes.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("an answer longer than {MAX_ANSWER_BYTES} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "an answer that is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn console(script: &str) -> Console<Cursor<Vec<u8>>, Vec<u8>> {
        Console::new(Cursor::new(script.as_bytes().to_vec()), Vec::new())
    }

    #[tokio::test]
    async fn answers_are_trimmed_and_prompts_printed() {
        let mut console = console("  first \r\nsecond");
        assert_eq!(console.ask("One? ").await.unwrap(), "first");
        assert_eq!(
            console.ask_secret("Two? ").await.unwrap().expose(),
            "second"
        );
        assert!(matches!(
            console.ask("Three? ").await,
            Err(SetupError::InputClosed)
        ));
        let printed = String::from_utf8(console.into_output()).unwrap();
        assert_eq!(printed, "One? Two? Three? ");
    }

    #[tokio::test]
    async fn an_endless_line_is_refused() {
        let long = "x".repeat(MAX_ANSWER_BYTES as usize + 10);
        let mut console = console(&long);
        assert!(matches!(console.ask("?").await, Err(SetupError::Input(_))));
    }

    #[tokio::test]
    async fn the_hidden_reader_answers_secrets() {
        fn typed() -> io::Result<String> {
            Ok("hidden-token\n".to_owned())
        }
        let mut console = console("visible\n").with_hidden_input(typed);
        assert_eq!(
            console.ask_secret("Token: ").await.unwrap().expose(),
            "hidden-token"
        );
        assert_eq!(console.ask("Next: ").await.unwrap(), "visible");
    }
}
