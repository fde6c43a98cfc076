//! The streaming JSON array files: format, round trips, failure handling, S3 multipart.

use raito_common::model::data_source::DataObject;
use raito_common::output::{Destination, JsonArrayReader, JsonArrayWriter};
use sha2::{Digest, Sha256};

use crate::support;

fn object(i: u64) -> DataObject {
    DataObject {
        external_id: format!("db.schema.table_{i}"),
        name: format!("table_{i}"),
        full_name: format!("db.schema.table_{i}"),
        r#type: "table".into(),
        description: "x".repeat(150),
        parent_external_id: "db.schema".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn files_hold_one_element_per_line_and_read_back_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("objects.json");
    let mut writer = JsonArrayWriter::new(Destination::file(&path).await.expect("create"));
    for i in 0..1000 {
        writer.write(&object(i)).await.expect("write");
    }
    let written = writer.finish().await.expect("finish");
    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"["));
    assert_eq!(lines.last(), Some(&"]"));
    assert_eq!(lines.len(), 1002, "one line per element plus brackets");
    assert!(lines[1..1000].iter().all(|l| l.ends_with(',')));
    assert_eq!(written.elements, 1000);
    assert_eq!(written.bytes, text.len() as u64);
    assert_eq!(
        written.sha256,
        <[u8; 32]>::from(Sha256::digest(text.as_bytes()))
    );
    let parsed: Vec<DataObject> = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(parsed[999], object(999));

    let mut reader = JsonArrayReader::<DataObject>::open(&path)
        .await
        .expect("open");
    let mut i = 0;
    while let Some(element) = reader.next().await.expect("element") {
        assert_eq!(element, object(i));
        i += 1;
    }
    assert_eq!(i, 1000);
}

#[tokio::test]
async fn an_empty_output_is_an_empty_array() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("empty.json");
    let written = JsonArrayWriter::new(Destination::file(&path).await.expect("create"))
        .finish()
        .await
        .expect("finish");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "[]\n");
    assert_eq!(written.elements, 0);
    let mut reader = JsonArrayReader::<DataObject>::open(&path)
        .await
        .expect("open");
    assert_eq!(reader.next().await.expect("end"), None);
}

#[tokio::test]
async fn the_file_appears_only_when_complete_and_an_abort_leaves_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("objects.json");
    let mut writer = JsonArrayWriter::new(Destination::file(&path).await.expect("create"));
    writer.write(&object(1)).await.expect("write");
    assert!(
        !path.exists(),
        "not visible under its final name while being written"
    );
    writer.abort().await;
    assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
}

#[tokio::test]
async fn elements_are_handed_over_before_the_whole_file_is_parsed() {
    // A file whose end is broken: the elements before the damage still arrive one by one,
    // then the error names the file and the position. A reader that parsed everything first
    // would fail before yielding anything.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.json");
    let mut text = String::from("[\n");
    for i in 0..200 {
        text.push_str(&serde_json::to_string(&object(i)).expect("json"));
        text.push_str(",\n");
    }
    text.push_str("{\"externalId\": ");
    std::fs::write(&path, text).expect("write");
    let mut reader = JsonArrayReader::<DataObject>::open(&path)
        .await
        .expect("open");
    for i in 0..200 {
        assert_eq!(reader.next().await.expect("element"), Some(object(i)));
    }
    let error = reader.next().await.expect_err("the damage is reported");
    let message = error.to_string();
    assert!(
        message.contains("broken.json") && message.contains("line 202"),
        "{message}"
    );
}

#[tokio::test]
async fn something_other_than_an_array_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("object.json");
    std::fs::write(&path, "{\"accessProviders\": []}").expect("write");
    let mut reader = JsonArrayReader::<DataObject>::open(&path)
        .await
        .expect("open");
    let error = reader.next().await.expect_err("not an array");
    assert!(
        error.to_string().contains("expected a JSON array"),
        "{error}"
    );
}

async fn bucket() -> (aws_sdk_s3::Client, String) {
    let config = support::moto_sdk_config();
    let client = raito_common::aws::s3_client(&config);
    let bucket = support::unique_name("out").replace('_', "-");
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket in moto");
    (client, bucket)
}

async fn read_object(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get object")
        .body
        .collect()
        .await
        .expect("body")
        .to_vec()
}

#[tokio::test]
async fn large_outputs_go_to_s3_as_a_multipart_upload() {
    let (client, bucket) = bucket().await;
    let mut writer = JsonArrayWriter::new(Destination::s3(client.clone(), &bucket, "big.json"));
    // ~25 MB: three 8 MiB parts and a last, smaller one.
    for i in 0..100_000 {
        writer.write(&object(i)).await.expect("write");
    }
    let written = writer.finish().await.expect("complete the upload");
    assert_eq!(written.location, format!("s3://{bucket}/big.json"));
    let body = read_object(&client, &bucket, "big.json").await;
    assert_eq!(body.len() as u64, written.bytes);
    assert!(written.bytes > 3 * 8 * 1024 * 1024);
    assert_eq!(written.sha256, <[u8; 32]>::from(Sha256::digest(&body)));

    let object_body = client
        .get_object()
        .bucket(&bucket)
        .key("big.json")
        .send()
        .await
        .expect("get object")
        .body
        .into_async_read();
    let mut reader = JsonArrayReader::<DataObject>::from_reader(object_body, "s3".into());
    let mut count = 0;
    while let Some(element) = reader.next().await.expect("element") {
        assert_eq!(element, object(count));
        count += 1;
    }
    assert_eq!(count, 100_000);
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .expect("list uploads");
    assert!(uploads.uploads().is_empty(), "no upload left open");
}

#[tokio::test]
async fn small_outputs_go_to_s3_in_one_put_and_aborted_ones_leave_nothing() {
    let (client, bucket) = bucket().await;
    let mut writer = JsonArrayWriter::new(Destination::s3(client.clone(), &bucket, "small.json"));
    writer.write(&object(7)).await.expect("write");
    writer.finish().await.expect("put");
    let body = read_object(&client, &bucket, "small.json").await;
    let parsed: Vec<DataObject> = serde_json::from_slice(&body).expect("json array");
    assert_eq!(parsed, vec![object(7)]);

    let mut writer = JsonArrayWriter::new(Destination::s3(client.clone(), &bucket, "aborted.json"));
    for i in 0..50_000 {
        writer.write(&object(i)).await.expect("write");
    }
    writer.abort().await;
    let listed = client
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        vec!["small.json"],
        "the aborted object does not exist"
    );
    let uploads = client
        .list_multipart_uploads()
        .bucket(&bucket)
        .send()
        .await
        .expect("list uploads");
    assert!(
        uploads.uploads().is_empty(),
        "the aborted upload's parts are gone"
    );
}
