//! Pending triggers and run leases in S3, against moto: enqueue, bounded paged listing,
//! removal of exactly what was listed, hostile target names, and the lease's races
//! (creation, release, expiry, takeover).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use raito_common::pending::DeliveryId;
use raito_common::pending::{Acquired, Error, Leases, Pending, Released};
use raito_common::step::Step;
use raito_common::trigger::Trigger;

use crate::support;

const T0: u64 = 1_795_334_400;

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + seconds)
}

fn id(text: &str) -> DeliveryId {
    DeliveryId::parse(text).unwrap()
}

async fn bucket() -> (aws_sdk_s3::Client, String) {
    let client = raito_common::aws::s3_client(&support::moto_sdk_config());
    let bucket = support::unique_name("pending").replace('_', "-");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket in moto (is moto running?)");
    (client, bucket)
}

async fn keys_under(client: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .unwrap();
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

fn sync_trigger(data_source: &str) -> String {
    format!(r#"{{"syncTrigger":{{"dataSource":"{data_source}","accessSync":true}}}}"#)
}

#[tokio::test]
async fn moto_enqueued_triggers_are_listed_with_their_bodies_and_removed_exactly() {
    let (client, bucket) = bucket().await;
    let pending = Pending::new(client.clone(), &bucket);
    let key = pending
        .enqueue(
            Step::DataAccess,
            "warehouse",
            &id("d-1"),
            &sync_trigger("ds1"),
        )
        .await
        .unwrap();
    assert_eq!(key, "triggers/access/warehouse/d-1.json");
    pending
        .enqueue(
            Step::DataAccess,
            "warehouse",
            &id("d-2"),
            &sync_trigger("ds2"),
        )
        .await
        .unwrap();
    // Another step and another target are separate queues.
    pending
        .enqueue(
            Step::DataSource,
            "warehouse",
            &id("d-3"),
            &sync_trigger("ds3"),
        )
        .await
        .unwrap();
    pending
        .enqueue(
            Step::DataAccess,
            "warehouse-2",
            &id("d-4"),
            &sync_trigger("ds4"),
        )
        .await
        .unwrap();

    let listing = pending.list(Step::DataAccess, "warehouse").await.unwrap();
    assert!(!listing.more);
    let deliveries: Vec<&str> = listing
        .triggers
        .iter()
        .map(|t| t.delivery.as_str())
        .collect();
    assert_eq!(deliveries, ["d-1", "d-2"]);
    let Ok(Trigger::SyncTrigger(first)) = &listing.triggers[0].trigger else {
        panic!("a sync trigger: {:?}", listing.triggers[0]);
    };
    assert_eq!(first.data_source.as_deref(), Some("ds1"));
    assert!(listing.triggers[0].enqueued_at.is_some());

    // A delivery arriving during the run is not among the listed keys: it survives remove.
    pending
        .enqueue(
            Step::DataAccess,
            "warehouse",
            &id("d-5"),
            &sync_trigger("ds5"),
        )
        .await
        .unwrap();
    pending.remove(&listing.keys()).await.unwrap();
    let after = pending.list(Step::DataAccess, "warehouse").await.unwrap();
    let deliveries: Vec<&str> = after.triggers.iter().map(|t| t.delivery.as_str()).collect();
    assert_eq!(deliveries, ["d-5"]);
    assert_eq!(
        keys_under(&client, &bucket, "triggers/").await,
        [
            "triggers/access/warehouse-2/d-4.json",
            "triggers/access/warehouse/d-5.json",
            "triggers/metadata/warehouse/d-3.json",
        ]
    );
    // Removing keys that are already gone is fine.
    pending.remove(&listing.keys()).await.unwrap();
}

#[tokio::test]
async fn moto_the_same_delivery_enqueued_twice_is_one_pending_trigger() {
    let (client, bucket) = bucket().await;
    let pending = Pending::new(client, &bucket);
    for _ in 0..2 {
        pending
            .enqueue(
                Step::DataUsage,
                "warehouse",
                &id("same"),
                &sync_trigger("ds1"),
            )
            .await
            .unwrap();
    }
    let listing = pending.list(Step::DataUsage, "warehouse").await.unwrap();
    assert_eq!(listing.triggers.len(), 1);
}

#[tokio::test]
async fn moto_listing_is_paged_and_bounded_and_the_rest_comes_next_time() {
    let (client, bucket) = bucket().await;
    // 3 keys per ListObjectsV2 page, at most 7 per listing.
    let pending = Pending::new(client, &bucket).with_batch(7, 3);
    futures::stream::iter(0..10)
        .map(|n| {
            let pending = &pending;
            async move {
                pending
                    .enqueue(
                        Step::IdentityStore,
                        "directory",
                        &id(&format!("d-{n:02}")),
                        &sync_trigger("is"),
                    )
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;

    let first = pending
        .list(Step::IdentityStore, "directory")
        .await
        .unwrap();
    assert!(first.more);
    let deliveries: Vec<&str> = first.triggers.iter().map(|t| t.delivery.as_str()).collect();
    assert_eq!(
        deliveries,
        ["d-00", "d-01", "d-02", "d-03", "d-04", "d-05", "d-06"]
    );
    pending.remove(&first.keys()).await.unwrap();

    let rest = pending
        .list(Step::IdentityStore, "directory")
        .await
        .unwrap();
    assert!(!rest.more);
    let deliveries: Vec<&str> = rest.triggers.iter().map(|t| t.delivery.as_str()).collect();
    assert_eq!(deliveries, ["d-07", "d-08", "d-09"]);
    pending.remove(&rest.keys()).await.unwrap();
    assert!(
        pending
            .list(Step::IdentityStore, "directory")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn moto_hostile_target_names_stay_inside_their_own_queue() {
    let (client, bucket) = bucket().await;
    let pending = Pending::new(client.clone(), &bucket);
    let hostile = [
        "../metadata/warehouse",
        "a b/c",
        "..",
        "%2F",
        "é+ü?#",
        "warehouse/",
    ];
    for (n, target) in hostile.iter().enumerate() {
        pending
            .enqueue(
                Step::DataAccess,
                target,
                &id(&format!("h-{n}")),
                &sync_trigger("ds"),
            )
            .await
            .unwrap();
    }
    pending
        .enqueue(
            Step::DataAccess,
            "warehouse",
            &id("plain"),
            &sync_trigger("ds"),
        )
        .await
        .unwrap();
    for (n, target) in hostile.iter().enumerate() {
        let listing = pending.list(Step::DataAccess, target).await.unwrap();
        let deliveries: Vec<&str> = listing
            .triggers
            .iter()
            .map(|t| t.delivery.as_str())
            .collect();
        assert_eq!(deliveries, [format!("h-{n}")], "{target}");
    }
    let plain = pending.list(Step::DataAccess, "warehouse").await.unwrap();
    assert_eq!(plain.triggers.len(), 1);
    // Every key is triggers/access/<one segment>/<file>.
    for key in keys_under(&client, &bucket, "triggers/").await {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 4, "{key}");
        assert_eq!(parts[1], "access", "{key}");
        assert!(parts[2] != "." && parts[2] != "..", "{key}");
    }
    assert!(matches!(
        pending.enqueue(Step::DataAccess, "", &id("x"), "{}").await,
        Err(Error::EmptyTarget)
    ));
}

#[tokio::test]
async fn moto_an_unreadable_trigger_is_listed_as_such_so_it_can_be_removed() {
    let (client, bucket) = bucket().await;
    let pending = Pending::new(client.clone(), &bucket);
    pending
        .enqueue(Step::DataAccess, "warehouse", &id("bad"), "{not json")
        .await
        .unwrap();
    pending
        .enqueue(
            Step::DataAccess,
            "warehouse",
            &id("good"),
            &sync_trigger("ds"),
        )
        .await
        .unwrap();
    let listing = pending.list(Step::DataAccess, "warehouse").await.unwrap();
    assert_eq!(listing.triggers.len(), 2);
    let bad = &listing.triggers[0];
    assert_eq!(bad.delivery, "bad");
    assert!(
        bad.trigger.as_ref().unwrap_err().contains("not JSON"),
        "{bad:?}"
    );
    assert!(listing.triggers[1].trigger.is_ok());
    pending.remove(&listing.keys()).await.unwrap();
    assert!(keys_under(&client, &bucket, "triggers/").await.is_empty());
}

#[tokio::test]
async fn moto_remove_refuses_keys_outside_the_triggers_prefix() {
    let (client, bucket) = bucket().await;
    client
        .put_object()
        .bucket(&bucket)
        .key("locks/access/warehouse")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    let pending = Pending::new(client.clone(), &bucket);
    let error = pending
        .remove(&["locks/access/warehouse".to_owned()])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotPending { .. }), "{error}");
    assert_eq!(keys_under(&client, &bucket, "locks/").await.len(), 1);
}

#[tokio::test]
async fn moto_of_two_concurrent_acquires_exactly_one_wins() {
    let (client, bucket) = bucket().await;
    let leases = Leases::new(client, &bucket);
    let ttl = Duration::from_secs(900);
    let (a, b) = tokio::join!(
        leases.acquire(Step::DataAccess, "warehouse", "run-a", ttl, at(0)),
        leases.acquire(Step::DataAccess, "warehouse", "run-b", ttl, at(0)),
    );
    let (held, busy) = match (a.unwrap(), b.unwrap()) {
        (Acquired::Held(lease), busy @ Acquired::Busy { .. })
        | (busy @ Acquired::Busy { .. }, Acquired::Held(lease)) => (lease, busy),
        other => panic!("exactly one should win: {other:?}"),
    };
    let Acquired::Busy { holder, expires_at } = busy else {
        unreachable!()
    };
    assert_eq!(holder.as_deref(), Some(held.holder()));
    assert_eq!(expires_at, Some(at(900)));
    assert_eq!(held.key(), "locks/access/warehouse");
    // Another target's lease is independent.
    let other = leases
        .acquire(Step::DataAccess, "warehouse-2", "run-c", ttl, at(0))
        .await
        .unwrap();
    assert!(matches!(other, Acquired::Held(_)));
    assert_eq!(held.release().await.unwrap(), Released::Released);
}

/// A lease write retried after it succeeded (the SDK's retry of a conditional PUT sees 412)
/// finds its own holder there: the lease is this invocation's, not busy.
#[tokio::test]
async fn moto_a_lease_already_written_by_the_same_holder_is_held_not_busy() {
    let (client, bucket) = bucket().await;
    let leases = Leases::new(client, &bucket);
    let ttl = Duration::from_secs(900);
    let Acquired::Held(first) = leases
        .acquire(Step::DataUsage, "w", "run-a", ttl, at(0))
        .await
        .unwrap()
    else {
        panic!("free lease");
    };
    let Acquired::Held(again) = leases
        .acquire(Step::DataUsage, "w", "run-a", ttl, at(1))
        .await
        .unwrap()
    else {
        panic!("the holder's own lease read as busy");
    };
    assert_eq!(again.holder(), "run-a");
    drop(first);
    assert_eq!(again.release().await.unwrap(), Released::Released);
}

#[tokio::test]
async fn moto_a_released_lease_can_be_acquired_by_the_next_runner() {
    let (client, bucket) = bucket().await;
    let leases = Leases::new(client, &bucket);
    let ttl = Duration::from_secs(900);
    let Acquired::Held(first) = leases
        .acquire(Step::DataSource, "a b/c", "run-a", ttl, at(0))
        .await
        .unwrap()
    else {
        panic!("free lease");
    };
    assert!(matches!(
        leases
            .acquire(Step::DataSource, "a b/c", "run-b", ttl, at(10))
            .await
            .unwrap(),
        Acquired::Busy { .. }
    ));
    assert_eq!(first.release().await.unwrap(), Released::Released);
    let Acquired::Held(second) = leases
        .acquire(Step::DataSource, "a b/c", "run-b", ttl, at(20))
        .await
        .unwrap()
    else {
        panic!("released lease");
    };
    assert_eq!(second.holder(), "run-b");
    assert_eq!(second.release().await.unwrap(), Released::Released);
}

#[tokio::test]
async fn moto_an_expired_lease_is_taken_over_and_its_old_holder_loses_it() {
    let (client, bucket) = bucket().await;
    let leases = Leases::new(client.clone(), &bucket);
    let Acquired::Held(mut stale) = leases
        .acquire(
            Step::DataUsage,
            "warehouse",
            "run-dead",
            Duration::from_secs(60),
            at(0),
        )
        .await
        .unwrap()
    else {
        panic!("free lease");
    };
    // Still valid at 59 s; expired at 61 s.
    assert!(matches!(
        leases
            .acquire(
                Step::DataUsage,
                "warehouse",
                "run-new",
                Duration::from_secs(60),
                at(59)
            )
            .await
            .unwrap(),
        Acquired::Busy { .. }
    ));
    let Acquired::Held(fresh) = leases
        .acquire(
            Step::DataUsage,
            "warehouse",
            "run-new",
            Duration::from_secs(900),
            at(61),
        )
        .await
        .unwrap()
    else {
        panic!("expired lease taken over");
    };
    assert_eq!(fresh.expires_at(), at(961));
    let body = client
        .get_object()
        .bucket(&bucket)
        .key("locks/usage/warehouse")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"holder": "run-new", "expiresAt": (T0 + 961) * 1000})
    );

    // The old holder can neither renew nor release the lease it lost.
    assert!(!stale.renew(Duration::from_secs(60), at(62)).await.unwrap());
    assert_eq!(stale.release().await.unwrap(), Released::Lost);
    assert_eq!(keys_under(&client, &bucket, "locks/").await.len(), 1);
    assert_eq!(fresh.release().await.unwrap(), Released::Released);
    assert!(keys_under(&client, &bucket, "locks/").await.is_empty());
}

#[tokio::test]
async fn moto_a_renewed_lease_stays_busy_past_its_first_expiry() {
    let (client, bucket) = bucket().await;
    let leases = Leases::new(client, &bucket);
    let ttl = Duration::from_secs(60);
    let Acquired::Held(mut lease) = leases
        .acquire(Step::DataAccess, "warehouse", "run-a", ttl, at(0))
        .await
        .unwrap()
    else {
        panic!("free lease");
    };
    assert!(lease.renew(ttl, at(50)).await.unwrap());
    assert_eq!(lease.expires_at(), at(110));
    let later = leases
        .acquire(Step::DataAccess, "warehouse", "run-b", ttl, at(100))
        .await
        .unwrap();
    let Acquired::Busy { holder, .. } = later else {
        panic!("renewed lease is still held: {later:?}");
    };
    assert_eq!(holder.as_deref(), Some("run-a"));
    assert_eq!(lease.release().await.unwrap(), Released::Released);
}

#[tokio::test]
async fn moto_an_unreadable_lease_object_is_taken_over() {
    let (client, bucket) = bucket().await;
    client
        .put_object()
        .bucket(&bucket)
        .key("locks/access/warehouse")
        .body(b"garbage".to_vec().into())
        .send()
        .await
        .unwrap();
    let leases = Leases::new(client, &bucket);
    let acquired = leases
        .acquire(
            Step::DataAccess,
            "warehouse",
            "run-a",
            Duration::from_secs(60),
            at(0),
        )
        .await
        .unwrap();
    assert!(matches!(acquired, Acquired::Held(_)), "{acquired:?}");
}

/// Triggers left behind (no time left, or a run turned away while the lease was held) are
/// woken: the first pending trigger is copied onto itself, a new `Object Created` event, its
/// body unchanged; with nothing pending nothing happens.
#[tokio::test]
async fn moto_pending_triggers_left_behind_are_woken() {
    let (client, bucket) = bucket().await;
    let pending = Pending::new(client.clone(), &bucket);
    assert!(
        pending.wake(Step::DataAccess, "w").await.unwrap().is_none(),
        "nothing pending"
    );
    let body = r#"{"targets": ["w"]}"#;
    let key = pending
        .enqueue(Step::DataAccess, "w", &id("d-1"), body)
        .await
        .unwrap();
    assert!(pending.wake(Step::DataAccess, "w").await.unwrap().is_some());
    let object = client
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert!(
        object
            .metadata()
            .is_some_and(|m| m.contains_key("raito-woken-at")),
        "{:?}",
        object.metadata()
    );
    let read = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(read.as_ref(), body.as_bytes(), "the trigger is unchanged");
    let listing = pending.list(Step::DataAccess, "w").await.unwrap();
    assert_eq!(listing.triggers.len(), 1, "still one trigger");
}
