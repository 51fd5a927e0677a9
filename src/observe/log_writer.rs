//! Log lines to stderr in batches. One access line per request written straight to stderr is a
//! `write` system call per request (measured with bench/: one of six per request), made by the
//! request's own thread; collected here and written by a background thread every 100 ms, they
//! cost one call per batch and requests never wait for the disk (only a burst of over 1 MiB
//! within 100 ms makes a request write it). `flush` runs at exit, so nothing is lost on a clean
//! shutdown.

use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const FLUSH_AT: usize = 1024 * 1024;

static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Held while a batch is taken and written, so batches reach stderr in order.
static WRITING: Mutex<()> = Mutex::new(());
static FLUSHER: OnceLock<()> = OnceLock::new();

/// The `MakeWriter` of the log subscriber.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchedStderr;

impl BatchedStderr {
    /// Starts the background flusher (once) and returns the writer.
    pub fn start() -> BatchedStderr {
        FLUSHER.get_or_init(|| {
            let _ = std::thread::Builder::new().name("rowgate-log".into()).spawn(|| loop {
                std::thread::sleep(FLUSH_EVERY);
                flush();
            });
        });
        BatchedStderr
    }
}

/// Writes whatever is waiting. The batch is taken out first, so requests logging meanwhile
/// never wait for the write.
pub fn flush() {
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let batch = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    if !batch.is_empty() {
        let mut err = io::stderr().lock();
        let _ = err.write_all(&batch);
        let _ = err.flush();
    }
}

pub struct Line;

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let full = {
            let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            pending.extend_from_slice(buf);
            pending.len() >= FLUSH_AT
        };
        if full {
            flush();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_until_flushed() {
        let before = PENDING.lock().unwrap().len();
        BatchedStderr.make_writer().write_all(b"one line\n").unwrap();
        assert_eq!(PENDING.lock().unwrap().len(), before + 9);
        flush();
        assert!(PENDING.lock().unwrap().is_empty());
    }
}
