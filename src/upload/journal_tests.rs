//! Unit tests of the journal (`journal.rs`).
//!
//! Owns: tests of the record format, updates of removed records, and record ids. Must not
//! touch: secrets at rest and file modes, which `tests/it/upload_journal*.rs` test through the
//! public API.

use super::*;

fn header(name: &str, value: &str, credential: bool) -> Header {
    Header {
        name: name.into(),
        value: value.into(),
        credential,
    }
}

fn spec() -> ItemSpec {
    ItemSpec {
        target: "http://h/up?x=1%202".into(),
        method: Method::Form {
            field: "photo".into(),
            fields: vec![("caption".into(), "two\nlines\tand 100%".into())],
        },
        source: UploadSource::Bytes {
            name: "a.jpg".into(),
            bytes: Arc::from(&b"\x00\xff bytes"[..]),
        },
        headers: vec![header("x-amz-acl", "private", false)],
        original: true,
        content_type: Some("image/jpeg".into()),
        recompress: Some(super::super::Recompress {
            max_edge: Some(1024),
            ..Default::default()
        }),
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("webimage-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

#[test]
fn records_round_trip_and_survive_odd_text() {
    let dir = temp("journal");
    let journal = Journal::open(&dir, HeaderRules::uploads(&[])).unwrap();
    let spec = spec();
    let id = journal
        .record(None, &spec, 3, "HTTP status 503", false)
        .unwrap()
        .unwrap();
    let list = journal.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].spec, spec);
    assert_eq!(
        (list[0].attempts, list[0].error.as_str(), list[0].permanent),
        (3, "HTTP status 503", false)
    );
    journal.record(Some(&id), &spec, 4, "again", true).unwrap();
    assert_eq!(journal.list().unwrap()[0].attempts, 4);
    assert!(journal.list().unwrap()[0].permanent);
    assert!(journal.remove(&id));
    assert!(journal.list().unwrap().is_empty());
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    // A record removed meanwhile is not written back by an update.
    assert_eq!(
        journal.record(Some(&id), &spec, 5, "x", false).unwrap(),
        None
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn only_ids_of_the_journals_own_form_are_accepted() {
    assert!(RecordId::parse("1712-42-0").is_some());
    for bad in ["", "../x", "a", "1/2", "1.upload"] {
        assert!(RecordId::parse(bad).is_none(), "{bad}");
    }
}
