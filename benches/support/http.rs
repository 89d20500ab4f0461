//! The request side of the benches' minimal HTTP/1.1 servers: read one request off a
//! keep-alive connection. Each bench writes its own responses (paced, or with per-request
//! bytes).

use std::io::BufRead;

/// Reads the next request's line and headers; its target path, or `None` when the client
/// closed the connection.
pub fn next_path(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    // Headers until the blank line.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
    }
    Ok(Some(
        line.split_whitespace().nth(1).unwrap_or("").to_string(),
    ))
}
