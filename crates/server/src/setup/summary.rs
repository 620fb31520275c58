//! The ✓/✗ summary printed at the end of a setup run.

use std::io::{BufRead, Write};

use super::console::Console;
use super::error::SetupError;

/// The outcome of each step, in order.
#[derive(Debug, Default)]
pub struct Summary {
    lines: Vec<String>,
    failed: bool,
}

impl Summary {
    /// Records a step that worked.
    pub fn done(&mut self, text: impl Into<String>) {
        self.lines.push(format!("✓ {}", text.into()));
    }

    /// Records the failure that stopped the setup, with what to do about it.
    pub fn failed(&mut self, err: &SetupError) {
        self.failed = true;
        self.lines.push(format!("✗ {err}"));
        self.lines.push(format!("  → {}", err.advice()));
    }

    /// Whether every recorded step worked.
    pub fn succeeded(&self) -> bool {
        !self.failed
    }

    /// The recorded lines, in order.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Ends a run: records how the steps ended, prints the block, answers whether all worked.
    pub fn conclude<R, W>(
        mut self,
        outcome: Result<(), SetupError>,
        console: &mut Console<R, W>,
    ) -> bool
    where
        R: BufRead + Send + 'static,
        W: Write,
    {
        if let Err(err) = outcome {
            self.failed(&err);
        }
        if let Err(err) = self.print(console) {
            // The console is gone (closed stdout): the log is the last place to say it.
            tracing::error!("setup could not print its summary: {err}");
        }
        self.succeeded()
    }

    /// Prints the summary block.
    pub fn print<R, W>(&self, console: &mut Console<R, W>) -> Result<(), SetupError>
    where
        R: BufRead + Send + 'static,
        W: Write,
    {
        console.say("")?;
        console.say(if self.failed {
            "Setup failed:"
        } else {
            "Setup complete:"
        })?;
        for line in &self.lines {
            console.say(format!("  {line}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_marks_the_summary_and_says_what_to_do() {
        let mut summary = Summary::default();
        summary.done("Logged in");
        assert!(summary.succeeded());
        summary.failed(&SetupError::NoSite);
        assert!(!summary.succeeded());
        assert_eq!(summary.lines()[0], "✓ Logged in");
        assert!(summary.lines()[1].starts_with("✗ this Tesla account has no energy site"));
        assert!(summary.lines()[2].starts_with("  → add the Powerwall"));
    }
}
