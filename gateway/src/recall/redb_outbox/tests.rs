use jiff::Timestamp;

use super::RedbOutbox;
use crate::recall::outbox::{DeliveryState, NewDelivery, Outbox, Outcome};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn new(notification: &str, customer: &str, endpoint: Option<&str>) -> NewDelivery {
    NewDelivery {
        notification: notification.into(),
        customer: customer.into(),
        endpoint: endpoint.map(str::to_owned),
        webhook_id: format!("msg_{customer}"),
        body: "{}".into(),
        notice: "sha256:00".into(),
        products: vec!["lumacam-c3-pro".into()],
        unreachable: false,
    }
}

const HOOK: Option<&str> = Some("http://127.0.0.1:9/v1/notifications");

#[test]
fn enqueued_deliveries_are_due_at_once_and_not_added_twice() {
    let outbox = RedbOutbox::in_memory().unwrap();
    let now = at("2026-12-01T10:00:00Z");
    let first = outbox
        .enqueue(&[new("i/7", "a", HOOK), new("i/7", "b", HOOK)], now)
        .unwrap();
    assert_eq!(first.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![1, 2]);
    let again = outbox.enqueue(&[new("i/7", "a", HOOK)], now).unwrap();
    assert_eq!(again[0].seq, 1);
    assert_eq!(outbox.len().unwrap(), 2);
    assert_eq!(outbox.due(now, 10).unwrap().len(), 2);
    assert_eq!(outbox.due(now, 1).unwrap().len(), 1);
    assert_eq!(outbox.next_due().unwrap(), Some(now));
    assert_eq!(outbox.deliveries("i/7").unwrap().len(), 2);
    assert!(outbox.deliveries("i/70").unwrap().is_empty());
}

#[test]
fn a_feed_only_customer_is_never_due_but_is_in_its_feed() {
    let outbox = RedbOutbox::in_memory().unwrap();
    let now = at("2026-12-01T10:00:00Z");
    outbox
        .enqueue(&[new("i/7", "puller", None), new("i/7", "a", HOOK)], now)
        .unwrap();
    outbox.enqueue(&[new("i/8", "puller", None)], now).unwrap();
    let due = outbox.due(now, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].new.customer, "a");
    let feed = outbox.feed("puller", 0, 10).unwrap();
    assert_eq!(feed.iter().map(|d| d.seq).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(outbox.feed("puller", 1, 10).unwrap().len(), 1);
    assert!(outbox.feed("puller", 3, 10).unwrap().is_empty());
}

#[test]
fn attempts_move_the_due_time_and_an_ack_ends_it() {
    let outbox = RedbOutbox::in_memory().unwrap();
    let now = at("2026-12-01T10:00:00Z");
    let later = at("2026-12-01T10:00:30Z");
    outbox.enqueue(&[new("i/7", "a", HOOK)], now).unwrap();
    let d = outbox.begin_attempts(&[1], later).unwrap().remove(0);
    assert_eq!(d.attempts, 1);
    assert!(outbox.due(now, 10).unwrap().is_empty());
    assert_eq!(outbox.next_due().unwrap(), Some(later));
    let retry = Outcome::Retry {
        error: "connection refused".into(),
        next: at("2026-12-01T10:00:01Z"),
    };
    let d = outbox.finish_attempts(&[(1, retry)]).unwrap().remove(0);
    assert_eq!(d.last_error.as_deref(), Some("connection refused"));
    assert_eq!(outbox.next_due().unwrap(), Some(at("2026-12-01T10:00:01Z")));
    let d = outbox
        .finish_attempts(&[(1, Outcome::Acknowledged { at: later })])
        .unwrap()
        .remove(0);
    assert_eq!(d.state, DeliveryState::Delivered);
    assert_eq!(d.acknowledged_at, Some(later));
    assert_eq!(outbox.next_due().unwrap(), None);
    outbox.mark_sent_recorded(&[1]).unwrap();
    assert!(outbox.deliveries("i/7").unwrap()[0].sent_recorded);
}

#[test]
fn gone_disables_the_endpoint_and_says_so() {
    let outbox = RedbOutbox::in_memory().unwrap();
    let now = at("2026-12-01T10:00:00Z");
    outbox
        .enqueue(
            &[
                new("i/7", "a", HOOK),
                new("i/8", "a", HOOK),
                new("i/8", "b", HOOK),
            ],
            now,
        )
        .unwrap();
    let gone = Outcome::Gone {
        error: "410 Gone".into(),
        at: now,
    };
    let d = outbox.finish_attempts(&[(1, gone)]).unwrap().remove(0);
    assert_eq!(d.state, DeliveryState::Disabled);
    assert!(d.last_error.unwrap().contains("410 Gone"));
    let other = &outbox.deliveries("i/8").unwrap()[0];
    assert_eq!(other.state, DeliveryState::Disabled);
    assert_eq!(outbox.due(now, 10).unwrap().len(), 1, "b is still due");
    let later = outbox.enqueue(&[new("i/9", "a", HOOK)], now).unwrap();
    assert_eq!(later[0].state, DeliveryState::Disabled);
    let disabled = outbox.disabled_endpoints().unwrap();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].customer, "a");
}

#[test]
fn received_ids_are_remembered_against_replay() {
    let outbox = RedbOutbox::in_memory().unwrap();
    let now = at("2026-12-01T10:00:00Z");
    let before = at("2026-12-01T09:50:00Z");
    assert!(outbox.remember_received("s", "msg_1", now, before).unwrap());
    assert!(!outbox.remember_received("s", "msg_1", now, before).unwrap());
    assert!(outbox.remember_received("t", "msg_1", now, before).unwrap());
    assert!(outbox.was_received("s", "msg_1").unwrap());
    assert!(!outbox.was_received("s", "msg_2").unwrap());
    let much_later = at("2026-12-01T11:00:00Z");
    outbox
        .remember_received("s", "msg_3", much_later, at("2026-12-01T10:50:00Z"))
        .unwrap();
    assert!(
        !outbox.was_received("s", "msg_1").unwrap(),
        "forgotten past the tolerance"
    );
}

#[test]
fn feed_cursors_are_kept() {
    let outbox = RedbOutbox::in_memory().unwrap();
    assert_eq!(outbox.feed_cursor("s").unwrap(), 0);
    outbox.set_feed_cursor("s", 7).unwrap();
    assert_eq!(outbox.feed_cursor("s").unwrap(), 7);
    assert_eq!(outbox.feed_cursor("t").unwrap(), 0);
}

#[test]
fn the_outbox_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recall.redb");
    let now = at("2026-12-01T10:00:00Z");
    {
        let outbox = RedbOutbox::open(&path).unwrap();
        outbox.enqueue(&[new("i/7", "a", HOOK)], now).unwrap();
        outbox.begin_attempts(&[1], now).unwrap();
    }
    let outbox = RedbOutbox::open(&path).unwrap();
    let due = outbox.due(now, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 1);
    let more = outbox.enqueue(&[new("i/8", "a", HOOK)], now).unwrap();
    assert_eq!(more[0].seq, 2, "sequence numbers continue");
}
